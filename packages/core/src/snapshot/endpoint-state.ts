// One upstream host as the data path sees it: its address (fixed), its weight and health in the
// current config, and counters that survive config changes. A snapshot swap keeps the same
// EndpointState for an address that is still present, so in-flight counts stay true.

import type { Locality } from '../xds/resources.ts';

export class EndpointState {
  readonly address: string;
  readonly port: number;
  /** 'host:port', the key of this endpoint everywhere. */
  readonly key: string;
  /** Requests in flight to this endpoint (least-request balancing reads it). */
  active = 0;
  weight = 1;
  healthy = true;
  locality: Locality | undefined;
  labels: Readonly<Record<string, string>> = {};

  constructor(address: string, port: number) {
    this.address = address;
    this.port = port;
    this.key = endpointKey(address, port);
  }

  /** The socket path of a Unix domain socket endpoint ('unix:/path'), else undefined. */
  get socketPath(): string | undefined {
    return this.address.startsWith('unix:') ? this.address.slice(5) : undefined;
  }
}

/** Keeps one EndpointState per cluster and address across snapshots. */
export class EndpointRegistry {
  #byCluster = new Map<string, Map<string, EndpointState>>();

  /** Returns the state for this endpoint, creating it on first sight. */
  get(cluster: string, address: string, port: number): EndpointState {
    let states = this.#byCluster.get(cluster);
    if (!states) {
      states = new Map();
      this.#byCluster.set(cluster, states);
    }
    const key = endpointKey(address, port);
    let state = states.get(key);
    if (!state) {
      state = new EndpointState(address, port);
      states.set(key, state);
    }
    return state;
  }

  /** Forgets endpoints and clusters the newest snapshot no longer names. */
  retain(live: ReadonlyMap<string, readonly EndpointState[]>): void {
    for (const [cluster, states] of this.#byCluster) {
      const keep = live.get(cluster);
      if (!keep) {
        this.#byCluster.delete(cluster);
        continue;
      }
      const keys = new Set(keep.map((e) => e.key));
      for (const key of states.keys()) if (!keys.has(key)) states.delete(key);
    }
  }
}

function endpointKey(address: string, port: number): string {
  if (address.startsWith('unix:')) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
