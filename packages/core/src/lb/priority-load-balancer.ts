// Envoy's priority levels: each level's health is its share of usable hosts × the
// overprovisioning factor 1.4, capped at 100%; level 0 takes traffic up to its health, the
// next level the rest, and so on. When the levels together are under 100% the loads are
// scaled up to 100% (normalised total availability), so a half-healthy mesh still serves.
// Within a level the cluster's policy (least request, round robin, random, ring hash, Maglev)
// picks, locality-weighted when the cluster asks for it. With a request hash the level is chosen
// from the hash too (Envoy's choosePriority takes hash % 100), so a key stays on one level — and
// on one host — while the levels' health holds.
//
// A retry under previous_priorities (resilience/retry-priority.ts) leaves levels out: the load is
// then spread over the other levels in order, each taking up to its health's share of their
// total availability (capped at 100), as Envoy's PreviousPrioritiesRetryPriority recomputes it.
// That reaches levels the original load gives nothing (a fully healthy level 0 takes 100%).

import type { EndpointState } from './endpoint-state.ts';
import type { HashLbOptions } from './create-load-balancer.ts';
import type { LbKind, LoadBalancer, RetryPriorityFilter } from './load-balancer.ts';
import { levelBalancer, type LevelOptions } from './locality-weighted-load-balancer.ts';

const OVERPROVISIONING = 1.4;

interface Level {
  readonly priority: number;
  /** 0..100. */
  readonly health: number;
  readonly all: readonly EndpointState[];
  readonly usable: readonly EndpointState[];
  lb: LoadBalancer | undefined;
}

/** Levels with their upper bounds on a 0..1 line. */
type LoadTable = readonly { readonly level: Level; readonly until: number }[];

export class PriorityLoadBalancer implements LoadBalancer {
  readonly #levels: Level[];
  readonly #original: LoadTable;
  readonly #random: () => number;
  readonly #kind: LbKind;
  readonly #hashLb: HashLbOptions;
  readonly #options: LevelOptions;

  /** `all` holds every host of each level; `usable` those that may take traffic. */
  constructor(
    kind: LbKind,
    all: ReadonlyMap<number, readonly EndpointState[]>,
    usable: ReadonlyMap<number, readonly EndpointState[]>,
    random: () => number = Math.random,
    hashLb: HashLbOptions = {},
    options: LevelOptions = {},
  ) {
    this.#random = random;
    this.#kind = kind;
    this.#hashLb = hashLb;
    this.#options = options;
    this.#levels = [...all.keys()].sort((a, b) => a - b).map((p) => {
      const hosts = all.get(p)!;
      const ok = usable.get(p) ?? [];
      const health = hosts.length === 0 ? 0 : Math.min(100, (OVERPROVISIONING * 100 * ok.length) / hosts.length);
      return { priority: p, health, all: hosts, usable: ok, lb: undefined };
    });
    let remaining = 100;
    const loads: { level: Level; load: number }[] = [];
    for (const level of this.#levels) {
      const load = Math.min(remaining, level.health);
      remaining -= load;
      if (load > 0) loads.push({ level, load });
    }
    this.#original = table(loads);
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts?: number, hash?: bigint, priorities?: RetryPriorityFilter): EndpointState | undefined {
    let loads = this.#original;
    const skip = priorities?.excluded();
    if (skip) {
      const adjusted = this.#adjusted(skip);
      if (adjusted) loads = adjusted;
      else priorities!.reset();
    }
    if (loads.length === 0) return undefined;
    let chosen = loads[loads.length - 1]!.level;
    if (loads.length > 1) {
      const r = hash === undefined ? this.#random() : Number(hash % 10_000n) / 10_000;
      for (const l of loads) {
        if (r < l.until) {
          chosen = l.level;
          break;
        }
      }
    }
    chosen.lb ??= levelBalancer(this.#kind, chosen.all, chosen.usable, this.#hashLb, this.#options);
    return chosen.lb.pick(exclude, attempts, hash);
  }

  /** The load over the levels not in `skip`, or undefined when none of them has usable hosts. */
  #adjusted(skip: ReadonlySet<number>): LoadTable | undefined {
    const open = this.#levels.filter((l) => !skip.has(l.priority) && l.health > 0);
    const total = Math.min(100, open.reduce((s, l) => s + l.health, 0));
    if (total === 0) return undefined;
    let remaining = 100;
    const loads: { level: Level; load: number }[] = [];
    for (const level of open) {
      const load = Math.min(remaining, (level.health * 100) / total);
      remaining -= load;
      if (load > 0) loads.push({ level, load });
    }
    return table(loads);
  }
}

function table(loads: readonly { level: Level; load: number }[]): LoadTable {
  const sum = loads.reduce((s, l) => s + l.load, 0);
  let acc = 0;
  return loads.map((l) => {
    acc += l.load / sum;
    return { level: l.level, until: acc };
  });
}
