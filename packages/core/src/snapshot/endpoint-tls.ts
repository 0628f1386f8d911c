// Which TLS one endpoint of a cluster gets. Envoy picks the first of the cluster's
// transport_socket_matches whose `match` entries all appear in the endpoint's
// `envoy.transport_socket_match` metadata, else the cluster's transport_socket. Istio's
// auto-mTLS is written this way: endpoints marked tlsMode "istio" get Istio mTLS, the rest
// plaintext.
//
// One difference, on purpose: a match that needs a certificate provider this process does not
// have (a workload started without certificates) is passed over. A sidecar always has its
// workload certificate; a Node process without one is a client outside the mesh, and auto-mTLS
// is Istio's choice rather than the user's policy. A cluster whose own transport socket asks
// for TLS (a DestinationRule) still fails closed without certificates.

import type { ClusterConfig } from './mesh-snapshot.ts';
import type { EndpointState } from '../lb/endpoint-state.ts';
import type { EndpointTransport } from '../security/cluster-tls.ts';
import type { TlsCredentials } from '../security/tls-credentials.ts';

export function endpointTransport(cluster: ClusterConfig, endpoint: EndpointState, credentials: TlsCredentials | undefined): EndpointTransport {
  if (cluster.tlsMatches.length === 0) return cluster.ownTransport;
  // Asked on every request: the answer holds while the cluster config (immutable, replaced on
  // change), the endpoint's metadata and the certificates (a provider added, a rotation) stay
  // the same.
  const epoch = credentials?.epoch ?? 0;
  const memo = endpoint.tlsMemo;
  if (memo && memo.cluster === cluster && memo.epoch === epoch && memo.match === endpoint.socketMatch) return memo.transport;
  const transport = pick(cluster, endpoint, credentials);
  endpoint.tlsMemo = { cluster, epoch, match: endpoint.socketMatch, transport };
  return transport;
}

function pick(cluster: ClusterConfig, endpoint: EndpointState, credentials: TlsCredentials | undefined): EndpointTransport {
  const meta = endpoint.socketMatch;
  for (let i = 0; i < cluster.tlsMatches.length; i++) {
    const m = cluster.tlsMatches[i]!;
    let hit = true;
    for (const k in m.match) {
      if (meta?.[k] !== m.match[k]) { hit = false; break; }
    }
    if (!hit) continue;
    const chain = m.tls?.certificate?.chain;
    if (chain?.kind === 'provider' && !credentials?.provider(chain.instance)) continue;
    return { tls: m.tls, slot: ` #${i}` };
  }
  return cluster.ownTransport;
}
