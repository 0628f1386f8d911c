// The connection pools of mesh traffic, one per cluster transport, for either HTTP adapter (an
// EndpointPools per cluster for MeshAgent — an undici Pool per endpoint, dispatched to directly —
// a node:http pool set per cluster for MeshHttpAgent). Inside each, connections are pooled per
// endpoint, so a cluster's connection settings apply to all its endpoints. Transports of
// clusters that leave the config are closed gracefully: requests in flight finish on them; the
// others are told the cluster's new endpoints (retain), so an endpoint's pool can go with it.
//
// TLS clusters get the certificates of the moment in their connect options; the certificates'
// version is part of the transport's signature, so a rotation builds a new transport for new
// requests while the old one drains — in-flight requests finish on the connections they have.

import type { ConnectionOptions } from 'node:tls';
import { CertificateError, endpointTransport } from '@meshlet/core/adapter';
import type { ClusterConfig, ClusterTls, EndpointState, MeshSnapshot, ResolvedTls, TlsCredentials } from '@meshlet/core';
import { tlsConnectOptions } from './tls-connect.ts';

/** How a transport reaches a cluster's endpoints: mesh TLS (if any) and a Unix socket path (if any). */
export interface TransportConnect {
  /** TLS options and the ALPN list to offer; undefined = plaintext. */
  readonly tls: { readonly options: ConnectionOptions; readonly alpn: readonly string[] } | undefined;
  readonly socketPath: string | undefined;
}

export interface TransportFactory<T> {
  create(cluster: ClusterConfig, connect: TransportConnect): T;
  /** Lets requests in flight finish, then closes. */
  close(transport: T): Promise<void>;
  destroy(transport: T, err: Error | undefined): Promise<void>;
  /** The cluster is still in the config (as given): let the endpoints that left it go. */
  retain?(transport: T, cluster: ClusterConfig): void;
}

// Everything about a cluster that shapes its connections. A change replaces the transport (the
// old one drains); anything else about the cluster leaves connections alone.
function transportSignature(cluster: ClusterConfig): string {
  const c = cluster.connections;
  return `${cluster.connectTimeoutMs}|${cluster.limits.maxConnections}|${c.maxRequestsPerConnection ?? ''}|${c.idleTimeoutMs ?? ''}|${c.upstreamProtocol}|${c.maxConcurrentStreams ?? ''}`;
}

/**
 * Does the cluster ask for HTTP/2 to its endpoints (DestinationRule h2UpgradePolicy and the port's
 * protocol, compiled as istiod does)? An adapter that can (undici; node:http cannot) speaks it.
 * useClientProtocol ('downstream') keeps HTTP/1.1: a request handed to the mesh as an undici
 * dispatch or a node:http ClientRequest carries no wire protocol to follow.
 */
export function speaksHttp2(cluster: ClusterConfig): boolean {
  return cluster.connections.upstreamProtocol === 'http2';
}

// ALPN offered to a TLS cluster: the transport socket's own list; else, for mesh (ISTIO_MUTUAL)
// clusters, what a sidecar's istio.alpn filter sends for HTTP/1.1 — so a PERMISSIVE sidecar
// picks its mTLS HTTP chain — followed by "http/1.1" for servers that are not Envoy.
// An HTTP/2 cluster offers what the istio.alpn filter sends for HTTP/2 ("istio-h2", "istio",
// "h2"), or "h2" alone outside the mesh (istiod's ALPNH2Only) — each followed by "http/1.1":
// Envoy would speak HTTP/2 whatever the server answers, undici follows the server's choice, so a
// TLS server without HTTP/2 keeps getting HTTP/1.1 rather than failed requests.
const MESH_ALPN = ['istio-http/1.1', 'istio', 'http/1.1'] as const;
const MESH_ALPN_H2 = ['istio-h2', 'istio', 'h2', 'http/1.1'] as const;
function alpnFor(tls: ClusterTls, h2: boolean): readonly string[] {
  if (tls.alpn.length > 0) return tls.alpn.includes('http/1.1') ? tls.alpn : [...tls.alpn, 'http/1.1'];
  if (tls.certificate?.chain.kind === 'provider') return h2 ? MESH_ALPN_H2 : MESH_ALPN;
  return h2 ? ['h2', 'http/1.1'] : ['http/1.1'];
}

/** A transport and whether it speaks TLS (the endpoint's origin is https:// then). */
export interface TransportRoute<T> {
  readonly transport: T;
  readonly tls: boolean;
}

interface Entry<T> extends TransportRoute<T> {
  signature: string;
  cluster: ClusterConfig;
  epoch: number;
}

export class TransportTable<T> {
  // Plain fields, not #private ones, for what every request reads (request-lifecycle.ts says why).
  private readonly entries = new Map<string, Entry<T>>();
  readonly #factory: TransportFactory<T>;
  protected readonly credentials: TlsCredentials | undefined;
  readonly #http2: boolean;

  /** `http2`: the adapter's transports can speak HTTP/2 (ALPN offers h2 to HTTP/2 clusters). */
  constructor(factory: TransportFactory<T>, credentials?: TlsCredentials, http2 = false) {
    this.#factory = factory;
    this.credentials = credentials;
    this.#http2 = http2;
  }

  /** Does this endpoint of the cluster get TLS from the mesh? */
  usesTls(cluster: ClusterConfig, endpoint: EndpointState): boolean {
    return endpointTransport(cluster, endpoint, this.credentials).tls !== undefined;
  }

  for(cluster: ClusterConfig, endpoint: EndpointState): T {
    return this.route(cluster, endpoint).transport;
  }

  /** The endpoint's transport and whether it gets TLS, in one look-up (asked once per attempt). */
  route(cluster: ClusterConfig, endpoint: EndpointState): TransportRoute<T> {
    const socketPath = endpoint.socketPath;
    // The endpoint's TLS: the cluster's, or one of its transport socket matches (auto-mTLS).
    const { tls: settings, slot } = endpointTransport(cluster, endpoint, this.credentials);
    // Unix-socket endpoints need their own transport: the socket path is a connection option;
    // so does each transport socket a cluster's matches give some of its endpoints.
    let key = socketPath === undefined ? cluster.name : `${cluster.name} ${socketPath}`;
    if (slot !== '') key += slot;
    const cur = this.entries.get(key);
    // Hot path: the same (immutable) cluster config, and no certificate changed since.
    const epoch = this.credentials?.epoch ?? 0;
    if (cur && cur.cluster === cluster && (!settings || cur.epoch === epoch)) return cur;
    // Throws CertificateError when the certificates are missing: the attempt fails, nothing is
    // sent in plaintext.
    const tls = settings ? this.#tls(cluster, settings) : undefined;
    const signature = tls ? `${transportSignature(cluster)}|${tls.signature}` : transportSignature(cluster);
    if (cur && cur.signature === signature) {
      cur.cluster = cluster;
      cur.epoch = epoch;
      return cur;
    }
    if (cur) void this.#factory.close(cur.transport);
    const transport = this.#factory.create(cluster, { tls: tls && { options: tls.connect, alpn: alpnFor(settings!, this.#http2 && speaksHttp2(cluster)) }, socketPath });
    const entry: Entry<T> = { transport, signature, cluster, epoch, tls: tls !== undefined };
    this.entries.set(key, entry);
    return entry;
  }

  #tls(cluster: ClusterConfig, t: ClusterTls): { signature: string; connect: ConnectionOptions } {
    if (!this.credentials) throw new CertificateError(`cluster ${cluster.name} requires TLS but this transport has no mesh credentials`);
    const material: ResolvedTls = this.credentials.resolve(t);
    const signature = `${material.version}|${material.verify}|${t.sni ?? ''}|${t.alpn.join(',')}|${t.subjectAltNames.map((s) => `${s.sanType ?? '*'}=${s.text}`).join(',')}`;
    return { signature, connect: tlsConnectOptions(cluster, t, material) };
  }

  /** Closes the transports of clusters the new snapshot no longer has; the others retain their endpoints'. */
  reconcile(snapshot: MeshSnapshot): void {
    for (const [key, t] of this.entries) {
      const cluster = snapshot.clusters.get(key.split(' ')[0]!);
      if (!cluster) {
        this.entries.delete(key);
        void this.#factory.close(t.transport);
      } else {
        this.#factory.retain?.(t.transport, cluster);
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((t) => this.#factory.close(t.transport)));
  }

  async destroy(err?: Error): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((t) => this.#factory.destroy(t.transport, err)));
  }
}
