// One undici Agent per mesh cluster (DESIGN: "undici Agent per cluster"): its pools are keyed by
// endpoint address, so each endpoint gets its own connection pool and a cluster's connection
// settings apply to all of them. Agents of clusters that leave the config are closed
// gracefully: requests in flight finish on them.
//
// TLS clusters get the certificates of the moment in their connect options; the certificates'
// version is part of the Agent's signature, so a rotation builds a new Agent for new requests
// while the old one drains — in-flight requests finish on the connections they have.

import { Agent, type Dispatcher } from 'undici';
import { CertificateError, endpointTransport, type ClusterConfig, type ClusterTls, type EndpointState, type MeshSnapshot, type ResolvedTls, type TlsCredentials } from '@meshlet/core';
import { tlsConnectOptions } from './tls-connect.ts';
import { tlsConnector } from './tls-connector.ts';

// Everything about a cluster that shapes its connections. A change replaces the Agent (the old
// one drains); anything else about the cluster leaves connections alone.
function transportSignature(cluster: ClusterConfig): string {
  const c = cluster.connections;
  return `${cluster.connectTimeoutMs}|${cluster.limits.maxConnections}|${c.maxRequestsPerConnection ?? ''}|${c.idleTimeoutMs ?? ''}`;
}

function agentOptions(cluster: ClusterConfig, endpointCount: number): Agent.Options {
  const c = cluster.connections;
  const max = cluster.limits.maxConnections;
  return {
    connectTimeout: cluster.connectTimeoutMs,
    // Envoy's max_connections is per cluster; undici pools are per endpoint, so the cluster's
    // budget is shared out evenly (at least one connection each).
    ...(max < 4294967295 && { connections: Math.max(1, Math.floor(max / Math.max(1, endpointCount))) }),
    ...(c.maxRequestsPerConnection !== undefined && { maxRequestsPerClient: c.maxRequestsPerConnection }),
    ...(c.idleTimeoutMs !== undefined && { keepAliveTimeout: c.idleTimeoutMs, keepAliveMaxTimeout: c.idleTimeoutMs }),
  };
}

// ALPN offered to a TLS cluster: the transport socket's own list; else, for mesh (ISTIO_MUTUAL)
// clusters, what a sidecar's istio.alpn filter sends for HTTP/1.1 — so a PERMISSIVE sidecar
// picks its mTLS HTTP chain — followed by "http/1.1" for servers that are not Envoy.
const MESH_ALPN = ['istio-http/1.1', 'istio', 'http/1.1'] as const;
function alpnFor(tls: NonNullable<ClusterConfig['tls']>): readonly string[] {
  if (tls.alpn.length > 0) return tls.alpn.includes('http/1.1') ? tls.alpn : [...tls.alpn, 'http/1.1'];
  return tls.certificate?.chain.kind === 'provider' ? MESH_ALPN : ['http/1.1'];
}

export class ClusterTransports {
  #agents = new Map<string, { agent: Agent; signature: string; cluster: ClusterConfig; epoch: number }>();
  readonly #options: Agent.Options;
  readonly #credentials: TlsCredentials | undefined;

  constructor(options: Agent.Options = {}, credentials?: TlsCredentials) {
    this.#options = options;
    this.#credentials = credentials;
  }

  /** The origin an attempt on `endpoint` dispatches with: https:// exactly when the endpoint gets TLS. */
  origin(cluster: ClusterConfig, endpoint: EndpointState): string {
    return endpoint.origin(endpointTransport(cluster, endpoint, this.#credentials).tls !== undefined);
  }

  for(cluster: ClusterConfig, endpoint: EndpointState): Dispatcher {
    const socketPath = endpoint.socketPath;
    // The endpoint's TLS: the cluster's, or one of its transport socket matches (auto-mTLS).
    const { tls: settings, slot } = endpointTransport(cluster, endpoint, this.#credentials);
    // Unix-socket endpoints need their own Agent: the socket path is a connection option; so
    // does each transport socket a cluster's matches give some of its endpoints.
    let key = socketPath === undefined ? cluster.name : `${cluster.name} ${socketPath}`;
    if (slot !== '') key += slot;
    const cur = this.#agents.get(key);
    // Hot path: the same (immutable) cluster config, and no certificate changed since.
    const epoch = this.#credentials?.epoch ?? 0;
    if (cur && cur.cluster === cluster && (!settings || cur.epoch === epoch)) return cur.agent;
    // Throws CertificateError when the certificates are missing: the attempt fails, nothing is
    // sent in plaintext.
    const tls = settings ? this.#tls(cluster, settings) : undefined;
    const signature = tls ? `${transportSignature(cluster)}|${tls.signature}` : transportSignature(cluster);
    if (cur && cur.signature === signature) {
      cur.cluster = cluster;
      cur.epoch = epoch;
      return cur.agent;
    }
    if (cur) void cur.agent.close();
    const connect = tls
      ? tlsConnector({ cluster: cluster.name, tls: tls.connect, alpn: alpnFor(settings!), timeoutMs: cluster.connectTimeoutMs, socketPath })
      : socketPath !== undefined ? { socketPath } : undefined;
    const agent = new Agent({ ...this.#options, ...agentOptions(cluster, cluster.endpoints.length), ...(connect && { connect }) });
    this.#agents.set(key, { agent, signature, cluster, epoch });
    return agent;
  }

  #tls(cluster: ClusterConfig, t: ClusterTls): { signature: string; connect: ReturnType<typeof tlsConnectOptions> } {
    if (!this.#credentials) throw new CertificateError(`cluster ${cluster.name} requires TLS but this transport has no mesh credentials`);
    const material: ResolvedTls = this.#credentials.resolve(t);
    const signature = `${material.version}|${material.verify}|${t.sni ?? ''}|${t.alpn.join(',')}|${t.subjectAltNames.map((s) => `${s.sanType ?? '*'}=${s.text}`).join(',')}`;
    return { signature, connect: tlsConnectOptions(cluster, t, material) };
  }

  /** Closes the transports of clusters the new snapshot no longer has. */
  reconcile(snapshot: MeshSnapshot): void {
    for (const [key, t] of this.#agents) {
      if (!snapshot.clusters.has(key.split(' ')[0]!)) {
        this.#agents.delete(key);
        void t.agent.close();
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(all.map((t) => t.agent.close()));
  }

  async destroy(err?: Error): Promise<void> {
    const all = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(all.map((t) => t.agent.destroy(err ?? null)));
  }
}
