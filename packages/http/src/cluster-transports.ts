// One undici Agent per mesh cluster (DESIGN: "undici Agent per cluster"): its pools are keyed by
// endpoint address, so each endpoint gets its own connection pool and a cluster's connection
// settings apply to all of them. Agents of clusters that leave the config are closed
// gracefully: requests in flight finish on them.

import { Agent, type Dispatcher } from 'undici';
import type { ClusterConfig, EndpointState, MeshSnapshot } from '@meshlet/core';

export class ClusterTransports {
  #agents = new Map<string, { agent: Agent; connectTimeoutMs: number }>();
  readonly #options: Agent.Options;

  constructor(options: Agent.Options = {}) {
    this.#options = options;
  }

  for(cluster: ClusterConfig, endpoint: EndpointState): Dispatcher {
    const socketPath = endpoint.socketPath;
    // Unix-socket endpoints need their own Agent: the socket path is a connection option.
    const key = socketPath === undefined ? cluster.name : `${cluster.name} ${socketPath}`;
    const cur = this.#agents.get(key);
    if (cur && cur.connectTimeoutMs === cluster.connectTimeoutMs) return cur.agent;
    if (cur) void cur.agent.close();
    const agent = new Agent({ ...this.#options, connectTimeout: cluster.connectTimeoutMs, ...(socketPath !== undefined && { connect: { socketPath } }) });
    this.#agents.set(key, { agent, connectTimeoutMs: cluster.connectTimeoutMs });
    return agent;
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
