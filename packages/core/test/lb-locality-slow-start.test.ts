// Locality-weighted balancing, slow start and previous_priorities retries, with no network: the
// balancers are driven directly, with an injected clock and seeded randomness, so every share
// below is exact or bounded far outside what chance could produce.

import { describe, expect, it } from 'vitest';
import { EndpointState } from '../src/lb/endpoint-state.ts';
import { ClusterRuntime, type ClusterRuntimeConfig } from '../src/snapshot/cluster-runtime.ts';
import { LocalityWeightedLoadBalancer } from '../src/lb/locality-weighted-load-balancer.ts';
import { PriorityLoadBalancer } from '../src/lb/priority-load-balancer.ts';
import { slowStartFactor, SlowStart } from '../src/lb/slow-start.ts';
import { RoundRobinLoadBalancer } from '../src/lb/load-balancer-round-robin.ts';
import { LeastRequestLoadBalancer } from '../src/lb/load-balancer-least-request.ts';
import type { LoadBalancer } from '../src/lb/load-balancer.ts';
import { PreviousPriorities } from '../src/resilience/retry-priority.ts';
import { compileRetryPolicy } from '../src/resilience/retry-policy.ts';
import { convertRetryPolicy } from '../src/istio/compile/routes/compile-retry.ts';
import { clusterLimits } from '../src/resilience/cluster-limits.ts';
import { silentLogger } from '../src/logger.ts';

function host(n: number, opts: { region?: string; weight?: number; localityWeight?: number; priority?: number } = {}): EndpointState {
  const e = new EndpointState(`10.0.0.${n}`, 80);
  if (opts.region) e.locality = { region: opts.region };
  e.weight = opts.weight ?? 1;
  e.localityWeight = opts.localityWeight ?? 0;
  e.priority = opts.priority ?? 0;
  return e;
}

/** Mulberry32: a seeded PRNG, so "random" balancers give the same sequence every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function count(lb: LoadBalancer, n: number, pick: (lb: LoadBalancer) => EndpointState | undefined = (b) => b.pick()): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = pick(lb);
    const k = h ? h.key : 'none';
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

describe('locality-weighted balancing (Envoy effective locality weight)', () => {
  it('splits by locality weight, whatever the host counts', () => {
    const east = [host(1, { region: 'east', localityWeight: 80 }), host(2, { region: 'east', localityWeight: 80 }), host(3, { region: 'east', localityWeight: 80 })];
    const west = [host(4, { region: 'west', localityWeight: 20 })];
    const all = [...east, ...west];
    const c = count(new LocalityWeightedLoadBalancer('ROUND_ROBIN', all, all), 1000);
    // Smooth weighted round robin over localities: exact over whole cycles of 5.
    expect(c.get('10.0.0.4:80')).toBe(200);
    expect((c.get('10.0.0.1:80') ?? 0) + (c.get('10.0.0.2:80') ?? 0) + (c.get('10.0.0.3:80') ?? 0)).toBe(800);
  });

  it('scales a locality by min(1, 1.4 × usable share): losing 1 of 2 hosts costs 30% of its weight', () => {
    const a = [host(1, { region: 'a', localityWeight: 50 }), host(2, { region: 'a', localityWeight: 50 })];
    const b = [host(3, { region: 'b', localityWeight: 50 }), host(4, { region: 'b', localityWeight: 50 })];
    const lb = new LocalityWeightedLoadBalancer('ROUND_ROBIN', [...a, ...b], [a[0]!, ...b]);
    expect(Object.fromEntries(lb.shares())).toEqual({ 'a//': 35 / 85, 'b//': 50 / 85 });
    const c = count(lb, 1700);
    expect(c.get('10.0.0.1:80')).toBe(700);
    expect(c.get('10.0.0.2:80')).toBeUndefined();
  });

  it('a locality with no weight (or no usable host) gets nothing', () => {
    const all = [host(1, { region: 'a', localityWeight: 10 }), host(2, { region: 'b', localityWeight: 0 }), host(3, { region: 'c', localityWeight: 5 })];
    const c = count(new LocalityWeightedLoadBalancer('LEAST_REQUEST', all, all.slice(0, 2)), 300);
    expect([...c.keys()]).toEqual(['10.0.0.1:80']);
  });

  it('a retry avoiding hosts re-picks the locality too, so it leaves one whose hosts are all tried', () => {
    // As Envoy re-runs the whole host choice (locality first) for each re-pick; with very
    // unequal weights the re-picks may, as in Envoy, keep landing on the tried locality.
    const all = [host(1, { region: 'a', localityWeight: 50 }), host(2, { region: 'b', localityWeight: 50 })];
    const lb = new LocalityWeightedLoadBalancer('ROUND_ROBIN', all, all);
    for (let i = 0; i < 20; i++) expect(lb.pick(new Set([all[0]!]), 5)).toBe(all[1]);
  });
});

describe('slow start (Envoy slow_start_config)', () => {
  const s = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };

  it('weight × max(minWeightPercent, (t / window)^(1/aggression)), full weight after the window', () => {
    expect(slowStartFactor(s, 1000, 1000)).toBe(0.1);
    expect(slowStartFactor(s, 1000, 1000 + 5000)).toBe(0.5);
    expect(slowStartFactor(s, 1000, 1000 + 9999)).toBeCloseTo(0.9999, 6);
    expect(slowStartFactor(s, 1000, 1000 + 10_000)).toBe(1);
    expect(slowStartFactor({ ...s, aggression: 2 }, 1000, 1000 + 2500)).toBe(0.5);
    expect(slowStartFactor({ ...s, aggression: 0.5 }, 1000, 1000 + 5000)).toBe(0.25);
    expect(slowStartFactor({ ...s, minWeightPercent: 0 }, 1000, 1000)).toBe(1 / 10_000);
    // usableSince 0: a host from the cluster's first host set, never ramped.
    expect(slowStartFactor(s, 0, 5)).toBe(1);
  });

  it('round robin: a host 5 s into a 10 s window takes weight 0.5, then its full share', () => {
    let now = 100_000;
    const old = host(1);
    const fresh = host(2);
    fresh.usableSince = now;
    const lb = new RoundRobinLoadBalancer([old, fresh], () => 0, new SlowStart(s, [old, fresh], () => now));
    now += 5000;
    expect(count(lb, 1500).get(fresh.key)).toBe(500);
    now += 5000;
    expect(count(lb, 1500).get(fresh.key)).toBe(750);
  });

  it('round robin at the start of the window: the 10% floor', () => {
    const now = 100_000;
    const old = host(1);
    const fresh = host(2);
    fresh.usableSince = now;
    const lb = new RoundRobinLoadBalancer([old, fresh], () => 0, new SlowStart(s, [old, fresh], () => now));
    expect(count(lb, 1100).get(fresh.key)).toBe(100);
  });

  it('least request leaves two-choice for weighted picks while a host ramps', () => {
    let now = 100_000;
    const old = host(1);
    const fresh = host(2);
    fresh.usableSince = now;
    const lb = new LeastRequestLoadBalancer([old, fresh], seeded(7), 2, new SlowStart({ ...s, aggression: 2 }, [old, fresh], () => now));
    now += 2500; // factor sqrt(0.25) = 0.5: expected share 1/3, standard deviation 0.0033 at 20k picks
    const share = (count(lb, 20_000).get(fresh.key) ?? 0) / 20_000;
    expect(share).toBeGreaterThan(1 / 3 - 0.03);
    expect(share).toBeLessThan(1 / 3 + 0.03);
    now += 10_000;
    const after = (count(lb, 20_000).get(fresh.key) ?? 0) / 20_000;
    expect(after).toBeGreaterThan(0.47);
    expect(after).toBeLessThan(0.53);
  });

  it('the cluster runtime ramps hosts added later and hosts back from ejection, not its first hosts', async () => {
    let now = 1_000_000;
    const rt = new ClusterRuntime('c', silentLogger, runtimeConfig([]));
    rt.clock = () => now;
    const a = rt.endpoint('10.0.0.1', 80);
    rt.configure(runtimeConfig([a]));
    expect(a.usableSince).toBe(0);
    now += 1000;
    const b = rt.endpoint('10.0.0.2', 80);
    rt.configure(runtimeConfig([a, b]));
    expect(b.usableSince).toBe(now);
    now += 2000; // 2 s into 4 s with aggression 1: weight 0.5 → a third of the picks
    const picks = count({ pick: () => rt.pick() }, 1500);
    expect(picks.get(b.key)).toBe(500);
    now += 2000;
    expect(count({ pick: () => rt.pick() }, 1500).get(b.key)).toBe(750);

    // Ejected on one 503 for 1 ms (real time: the detector keeps its own clock); back on the sweep.
    const outlier = { intervalMs: 1_000_000, baseEjectionMs: 1, maxEjectionMs: 1, maxEjectionPercent: 100, consecutive5xx: 1, consecutiveGateway: 0, consecutiveLocalOrigin: 0, splitLocalOrigin: false };
    rt.configure({ ...runtimeConfig([a, b]), outlier });
    rt.record(b, { kind: 'response', status: 503, grpcStatus: undefined });
    expect(b.ejectedUntil).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 10));
    now += 60_000;
    rt.sweep();
    expect(b.ejectedUntil).toBe(0);
    expect(b.usableSince).toBe(now);
    expect(count({ pick: () => rt.pick() }, 1100).get(b.key)).toBe(100);
    rt.close();
  });

  function runtimeConfig(endpoints: EndpointState[]): ClusterRuntimeConfig {
    return {
      lbPolicy: 'ROUND_ROBIN', endpoints, limits: clusterLimits({ name: 'c' }), outlier: undefined, panicThreshold: 0,
      slowStart: { windowMs: 4000, aggression: 1, minWeightPercent: 10 },
    };
  }
});

describe('previous_priorities retries (retryRemoteLocalities)', () => {
  const p0 = [host(1, { priority: 0 }), host(2, { priority: 0 })];
  const p1 = [host(3, { priority: 1 }), host(4, { priority: 1 })];
  const p2 = [host(5, { priority: 2 }), host(6, { priority: 2 })];
  const levels = (...ls: EndpointState[][]) => new Map(ls.map((l) => [l[0]!.priority, l]));
  const priorityOf = (e: EndpointState | undefined) => e?.priority;

  it('istiod writes update_frequency 2, which the retry policy reads', () => {
    expect(compileRetryPolicy(convertRetryPolicy({ attempts: 3, retryRemoteLocalities: true }, false)!).previousPrioritiesUpdateFrequency).toBe(2);
    expect(compileRetryPolicy(convertRetryPolicy({ attempts: 3 }, false)!).previousPrioritiesUpdateFrequency).toBeUndefined();
  });

  it('update frequency 2: the first retry keeps the original load; after two attempts their levels are left out', () => {
    const lb = new PriorityLoadBalancer('ROUND_ROBIN', levels(p0, p1, p2), levels(p0, p1, p2), seeded(1));
    const tried = new PreviousPriorities(2);
    const first = lb.pick(undefined, 1, undefined, tried)!;
    expect(first.priority).toBe(0);
    tried.onHostAttempted(first);
    // One attempt < update frequency: level 0 (fully healthy, 100% of the load) again.
    const second = lb.pick(undefined, 1, undefined, tried)!;
    expect(second.priority).toBe(0);
    tried.onHostAttempted(second);
    for (let i = 0; i < 50; i++) expect(priorityOf(lb.pick(undefined, 1, undefined, tried))).toBe(1);
    tried.onHostAttempted(p1[0]!);
    // Three attempts: not a multiple of 2, so the last exclusion ({0}) stands.
    for (let i = 0; i < 50; i++) expect(priorityOf(lb.pick(undefined, 1, undefined, tried))).toBe(1);
    tried.onHostAttempted(p2[0]!);
    // Four: levels 0, 1 and 2 all tried → nothing left, so the record resets to the original load.
    expect(priorityOf(lb.pick(undefined, 1, undefined, tried))).toBe(0);
    expect(tried.excluded()).toBeUndefined();
  });

  it('the remaining levels share the load by their health, in order, capped at 100 in total', () => {
    // Level 1 has 1 of 2 hosts usable: health 70. Level 2 is whole: 100. Total capped at 100.
    const lb = new PriorityLoadBalancer('ROUND_ROBIN', levels(p0, p1, p2), levels(p0, [p1[0]!], p2), seeded(3));
    const tried = new PreviousPriorities(1);
    tried.onHostAttempted(p0[0]!);
    const c = count(lb, 10_000, (b) => b.pick(undefined, 1, undefined, tried));
    const l1 = (c.get(p1[0]!.key) ?? 0) / 10_000;
    // Expected 0.7 (standard deviation 0.0046 at 10k picks).
    expect(l1).toBeGreaterThan(0.65);
    expect(l1).toBeLessThan(0.75);
    expect((c.get(p2[0]!.key) ?? 0) + (c.get(p2[1]!.key) ?? 0)).toBe(10_000 - (c.get(p1[0]!.key) ?? 0));
  });

  it('without a record the original priority load applies (level 0 takes all while healthy)', () => {
    const lb = new PriorityLoadBalancer('ROUND_ROBIN', levels(p0, p1), levels(p0, p1), seeded(5));
    const c = count(lb, 200);
    expect([...c.keys()].sort()).toEqual([p0[0]!.key, p0[1]!.key]);
  });
});
