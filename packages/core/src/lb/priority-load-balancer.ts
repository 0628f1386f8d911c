// Envoy's priority levels: each level's health is its share of usable hosts × the
// overprovisioning factor 1.4, capped at 100%; level 0 takes traffic up to its health, the
// next level the rest, and so on. When the levels together are under 100% the loads are
// scaled up to 100% (normalised total availability), so a half-healthy mesh still serves.
// Within a level the cluster's policy (least request, round robin, random, ring hash, Maglev)
// picks. With a request hash the level is chosen from the hash too (Envoy's choosePriority takes
// hash % 100), so a key stays on one level — and on one host — while the levels' health holds.

import type { EndpointState } from '../snapshot/endpoint-state.ts';
import type { LbKind } from '../snapshot/mesh-snapshot.ts';
import { createLoadBalancer, type HashLbOptions } from './create-load-balancer.ts';
import type { LoadBalancer } from './load-balancer.ts';

const OVERPROVISIONING = 1.4;

interface Level {
  readonly lb: LoadBalancer;
  /** Upper bound of this level's share on a 0..1 line. */
  readonly until: number;
}

export class PriorityLoadBalancer implements LoadBalancer {
  readonly #levels: Level[];
  readonly #random: () => number;

  /** `all` holds every host of each level; `usable` those that may take traffic. */
  constructor(
    kind: LbKind,
    all: ReadonlyMap<number, readonly EndpointState[]>,
    usable: ReadonlyMap<number, readonly EndpointState[]>,
    random: () => number = Math.random,
    hashLb: HashLbOptions = {},
  ) {
    this.#random = random;
    const priorities = [...all.keys()].sort((a, b) => a - b);
    let remaining = 100;
    const loads: { priority: number; load: number }[] = [];
    for (const p of priorities) {
      const total = all.get(p)!.length;
      const ok = usable.get(p)?.length ?? 0;
      const health = total === 0 ? 0 : Math.min(100, (OVERPROVISIONING * 100 * ok) / total);
      const load = Math.min(remaining, health);
      remaining -= load;
      if (load > 0) loads.push({ priority: p, load });
    }
    const sum = loads.reduce((s, l) => s + l.load, 0);
    let acc = 0;
    this.#levels = loads.map((l) => {
      acc += l.load / sum;
      return { lb: createLoadBalancer(kind, usable.get(l.priority)!, hashLb), until: acc };
    });
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts?: number, hash?: bigint): EndpointState | undefined {
    const levels = this.#levels;
    if (levels.length === 0) return undefined;
    if (levels.length === 1) return levels[0]!.lb.pick(exclude, attempts, hash);
    const r = hash === undefined ? this.#random() : Number(hash % 10_000n) / 10_000;
    for (const level of levels) if (r < level.until) return level.lb.pick(exclude, attempts, hash);
    return levels[levels.length - 1]!.lb.pick(exclude, attempts, hash);
  }
}
