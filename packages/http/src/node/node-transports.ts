// The connections of one mesh for node:http agents: per cluster transport a ClusterPool (mesh
// TLS or plaintext, keyed and replaced by transport-table.ts exactly as MeshAgent's undici
// Agents are), plus — for https:// requests to mesh hosts whose cluster sets no TLS — pools
// that keep the caller's own TLS options. Pools of clusters that leave the config close.

import type { ConnectionOptions } from 'node:tls';
import type { ClusterConfig, EndpointState, Mesh, MeshSnapshot } from '@meshlet/core';
import { speaksHttp2, TransportTable } from '../transport-table.ts';
import { ClusterPool } from './cluster-pool.ts';
import { callerTlsConnector, meshConnector } from './connect.ts';
import type { NodePools } from './node-request.ts';

export class NodeTransports {
  readonly mesh: Mesh;
  readonly #table: TransportTable<ClusterPool>;
  readonly #callerTls = new Map<string, { pool: ClusterPool; cluster: ClusterConfig }>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(mesh: Mesh) {
    this.mesh = mesh;
    this.#table = new TransportTable<ClusterPool>({
      create: (cluster, connect) => {
        this.#warnHttp2(cluster);
        return new ClusterPool(cluster, meshConnector(cluster.name, connect, cluster.connectTimeoutMs));
      },
      close: (pool) => pool.close(),
      destroy: (pool, err) => pool.destroy(err),
    }, mesh.credentials);
    this.#unsubscribe = mesh.subscribe((s) => this.#reconcile(s));
  }

  readonly #warnedHttp2 = new Set<string>();

  // node:http writes HTTP/1.1 only: an HTTP/2 cluster (h2UpgradePolicy, or a port declared
  // HTTP2/GRPC) still gets HTTP/1.1 from these agents. Said once per cluster, not hidden.
  #warnHttp2(cluster: ClusterConfig): void {
    if (!speaksHttp2(cluster) || this.#warnedHttp2.has(cluster.name)) return;
    this.#warnedHttp2.add(cluster.name);
    this.mesh.logger.warn({ cluster: cluster.name }, 'this cluster is HTTP/2 (h2UpgradePolicy, or a port declared HTTP2/GRPC), but MeshHttpAgent (node:http) speaks HTTP/1.1 only: its requests stay on HTTP/1.1 (MeshAgent and fetch speak HTTP/2)');
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Pools for http:// requests: the cluster's own transport (mesh TLS or plaintext). */
  readonly plain: NodePools = { poolFor: (cluster, endpoint) => this.#table.for(cluster, endpoint) };

  /**
   * Pools for an https:// request: the cluster's mesh TLS when it has one (the mesh's TLS
   * replaces the caller's, as a DestinationRule's tls does for a sidecar), else the caller's
   * own TLS options, keyed by `tlsKey` (the TLS part of Node's https.Agent pool name).
   */
  callerTls(options: ConnectionOptions, servername: string | undefined, tlsKey: string): NodePools {
    return {
      poolFor: (cluster: ClusterConfig, endpoint: EndpointState) => {
        if (this.#table.usesTls(cluster, endpoint)) return this.#table.for(cluster, endpoint);
        const key = `${cluster.name}|${tlsKey}`;
        const cur = this.#callerTls.get(key);
        if (cur && cur.cluster === cluster) return cur.pool;
        if (cur) void cur.pool.close();
        const pool = new ClusterPool(cluster, callerTlsConnector(options, servername, cluster.connectTimeoutMs));
        this.#callerTls.set(key, { pool, cluster });
        return pool;
      },
    };
  }

  #reconcile(snapshot: MeshSnapshot): void {
    this.#table.reconcile(snapshot);
    for (const [key, t] of this.#callerTls) {
      if (!snapshot.clusters.has(t.cluster.name)) {
        this.#callerTls.delete(key);
        void t.pool.close();
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    const callers = [...this.#callerTls.values()];
    this.#callerTls.clear();
    await Promise.all([this.#table.close(), ...callers.map((c) => c.pool.close())]);
  }

  async destroy(err?: Error): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    const callers = [...this.#callerTls.values()];
    this.#callerTls.clear();
    await Promise.all([this.#table.destroy(err), ...callers.map((c) => c.pool.destroy(err))]);
  }
}
