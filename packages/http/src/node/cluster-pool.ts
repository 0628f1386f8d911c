// The node:http transport of one mesh cluster (transport-table.ts keys it by cluster, TLS and
// certificates, as it keys MeshAgent's undici Agents): an EndpointPool per endpoint, sharing
// the cluster's connection settings — max connections shared out per endpoint, max requests
// per connection, idle timeout, connect timeout — and its way of connecting.

import type { ClusterConfig, EndpointState } from '@meshlet/core';
import { connectionsPerEndpoint } from '@meshlet/core/adapter';
import type { Connector } from './connect.ts';
import { EndpointPool, type PoolLimits, type SocketWaiter } from './endpoint-pool.ts';

export class ClusterPool {
  readonly #connect: Connector;
  readonly #limits: PoolLimits;
  readonly #pools = new Map<string, EndpointPool>();
  #closed = false;

  constructor(cluster: ClusterConfig, connect: Connector) {
    this.#connect = connect;
    this.#limits = {
      maxConnections: connectionsPerEndpoint(cluster),
      maxRequestsPerConnection: cluster.connections.maxRequestsPerConnection,
      idleTimeoutMs: cluster.connections.idleTimeoutMs,
    };
  }

  acquire(endpoint: EndpointState, w: SocketWaiter): void {
    if (this.#closed) {
      w.onConnectError(new Error('the cluster\'s connection pool closed'));
      return;
    }
    let pool = this.#pools.get(endpoint.key);
    if (!pool) {
      // Endpoints come and go with config: drop pools that have nothing left before adding one.
      if (this.#pools.size >= 64) for (const [k, p] of this.#pools) if (p.empty) this.#pools.delete(k);
      pool = new EndpointPool(endpoint, this.#connect, this.#limits);
      this.#pools.set(endpoint.key, pool);
    }
    pool.acquire(w);
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pools.values()) p.close();
    return Promise.resolve();
  }

  destroy(err: Error | undefined): Promise<void> {
    this.#closed = true;
    for (const p of this.#pools.values()) p.destroy(err);
    this.#pools.clear();
    return Promise.resolve();
  }
}
