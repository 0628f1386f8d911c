// Envoy's locality-weighted balancing within one priority level (Cluster.commonLbConfig.
// locality_weighted_lb_config, which istiod turns on for `distribute` and explicit failover).
// First a locality is chosen, then a host in it by the cluster's policy. A locality's share is
//
//   its loadBalancingWeight × min(1, 1.4 × usable hosts / hosts)
//
// (Envoy's effective locality weight: the overprovisioning factor 1.4 lets a locality lose a
// few hosts before it sheds traffic), over the sum of those across the level. A locality with no
// weight, or none usable, gets nothing. Localities are chosen by smooth weighted round robin —
// Envoy uses an EDF schedule, which gives the same shares in the same even spread.
//
// The hashing policies (RING_HASH, MAGLEV) are not split by locality here: their keys must map
// across the whole level, so they balance over the level's usable hosts as before.

import type { EndpointState } from './endpoint-state.ts';
import { createLoadBalancer, type HashLbOptions, type SlowStartOptions } from './create-load-balancer.ts';
import type { LbKind, LoadBalancer } from './load-balancer.ts';

const OVERPROVISIONING = 1.4;

interface LocalityEntry {
  readonly key: string;
  readonly weight: number;
  readonly lb: LoadBalancer;
}

export function localityKey(e: EndpointState): string {
  const l = e.locality;
  return l ? `${l.region ?? ''}/${l.zone ?? ''}/${l.subZone ?? ''}` : '//';
}

export class LocalityWeightedLoadBalancer implements LoadBalancer {
  readonly #entries: LocalityEntry[];
  readonly #scores: Float64Array;
  readonly #total: number;

  /** `all`: every host of the level; `usable`: those that may take traffic. */
  constructor(kind: LbKind, all: readonly EndpointState[], usable: readonly EndpointState[], hashLb: HashLbOptions = {}, slowStart?: SlowStartOptions) {
    const counts = new Map<string, { all: number; weight: number; usable: EndpointState[] }>();
    for (const e of all) {
      const k = localityKey(e);
      const c = counts.get(k);
      if (c) c.all++;
      else counts.set(k, { all: 1, weight: e.localityWeight, usable: [] });
    }
    for (const e of usable) counts.get(localityKey(e))?.usable.push(e);
    this.#entries = [];
    for (const [key, c] of counts) {
      const weight = c.weight * Math.min(1, (OVERPROVISIONING * c.usable.length) / c.all);
      if (weight > 0) this.#entries.push({ key, weight, lb: createLoadBalancer(kind, c.usable, hashLb, slowStart) });
    }
    this.#scores = new Float64Array(this.#entries.length);
    this.#total = this.#entries.reduce((s, l) => s + l.weight, 0);
  }

  /** Each locality's share of this level's traffic (0..1), for explain and tests. */
  shares(): Map<string, number> {
    return new Map(this.#entries.map((l) => [l.key, l.weight / this.#total]));
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5, hash?: bigint): EndpointState | undefined {
    let host = this.#next()?.lb.pick(exclude, attempts, hash);
    // A retry avoiding hosts may find a whole locality tried: move on to the next locality.
    for (let i = 0; i < attempts && host !== undefined && exclude?.has(host); i++) host = this.#next()!.lb.pick(exclude, attempts, hash);
    return host;
  }

  #next(): LocalityEntry | undefined {
    const n = this.#entries.length;
    if (n === 0) return undefined;
    if (n === 1) return this.#entries[0];
    let best = 0;
    for (let i = 0; i < n; i++) {
      this.#scores[i]! += this.#entries[i]!.weight;
      if (this.#scores[i]! > this.#scores[best]!) best = i;
    }
    this.#scores[best]! -= this.#total;
    return this.#entries[best];
  }
}

/** The balancer for one priority level's hosts, locality-weighted or not. */
export function levelBalancer(
  kind: LbKind,
  all: readonly EndpointState[],
  usable: readonly EndpointState[],
  hashLb: HashLbOptions = {},
  options: LevelOptions = {},
): LoadBalancer {
  if (options.localityWeighted && kind !== 'RING_HASH' && kind !== 'MAGLEV') {
    return new LocalityWeightedLoadBalancer(kind, all, usable, hashLb, options.slowStart);
  }
  return createLoadBalancer(kind, usable, hashLb, options.slowStart);
}

export interface LevelOptions {
  readonly localityWeighted?: boolean | undefined;
  readonly slowStart?: SlowStartOptions | undefined;
}
