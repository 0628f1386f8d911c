// TLS connect options for a mesh cluster's undici Agent: the workload certificate, the roots,
// SNI, and the identity check. Node verifies the chain against `ca`; checkServerIdentity then
// replaces the usual host-name check with the cluster's SAN list (SPIFFE IDs), since mesh
// certificates name workloads, not hosts, and endpoints are dialled by IP. A mismatch fails the
// handshake with a PeerIdentityError naming the expected and presented identities.

import { checkServerIdentity as checkHostName, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { dnsSans, PeerIdentityError, uriSans } from '@meshlet/core/adapter';
import type { ClusterConfig, ClusterTls, ResolvedTls } from '@meshlet/core';

export function tlsConnectOptions(cluster: ClusterConfig, tls: ClusterTls, material: ResolvedTls): ConnectionOptions {
  const sans = tls.subjectAltNames;
  const opts: ConnectionOptions = {
    // Verification is the default; only a cluster without a validation context (the
    // DestinationRule's insecureSkipVerify) accepts any server certificate.
    rejectUnauthorized: material.verify,
    ...(material.ca !== undefined && { ca: material.ca }),
    ...(material.cert !== undefined && { cert: material.cert, key: material.key }),
    ...(tls.sni !== undefined && { servername: tls.sni }),
    ...(tls.alpn.length > 0 && { ALPNProtocols: [...tls.alpn] }),
  };
  if (!material.verify) return opts;
  opts.checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
    if (sans.length === 0) {
      // No SAN list: Envoy checks nothing beyond the chain, except that an explicit SNI must be
      // one of the certificate's names (Istio's auto SNI SAN validation).
      return tls.sni !== undefined ? checkHostName(tls.sni, cert) : undefined;
    }
    const presented = [
      ...uriSans(cert.subjectaltname).map((v) => ({ type: 'URI', v })),
      ...dnsSans(cert.subjectaltname).map((v) => ({ type: 'DNS', v })),
    ];
    const ok = sans.some((m) => presented.some((p) => (m.sanType === undefined || m.sanType === p.type) && m.test(p.v)));
    return ok ? undefined : new PeerIdentityError(cluster.name, sans.map((s) => s.text), presented.map((p) => p.v));
  };
  return opts;
}
