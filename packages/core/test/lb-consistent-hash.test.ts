import { describe, expect, it } from 'vitest';
import { EndpointState } from '../src/lb/endpoint-state.ts';
import { RingHashLoadBalancer } from '../src/lb/load-balancer-ring-hash.ts';
import { isPrime, MaglevLoadBalancer } from '../src/lb/load-balancer-maglev.ts';
import type { LoadBalancer } from '../src/lb/load-balancer.ts';
import { xxHash64 } from '../src/lb/xxhash64.ts';
import { ClusterRuntime } from '../src/snapshot/cluster-runtime.ts';
import { clusterLimits } from '../src/resilience/cluster-limits.ts';
import { silentLogger } from '../src/logger.ts';

const UNLIMITED_FOR_TESTS = clusterLimits({ name: 'c', circuitBreakers: { thresholds: [{}] } });

// Everything here is deterministic (fixed keys, xxHash64), so the tolerances below are bounds on
// how well the algorithms spread keys, not on luck: a run cannot flake.

function hosts(weights: number[]): EndpointState[] {
  return weights.map((w, i) => {
    const e = new EndpointState(`10.0.0.${i + 1}`, 8080);
    e.weight = w;
    return e;
  });
}

const KEYS = Array.from({ length: 20_000 }, (_, i) => xxHash64(`user-${i}`));

function assignment(lb: LoadBalancer): string[] {
  return KEYS.map((h) => lb.pick(undefined, 0, h)!.key);
}

function shares(lb: LoadBalancer, eps: EndpointState[]): number[] {
  const counts = new Map<string, number>();
  for (const k of assignment(lb)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return eps.map((e) => (counts.get(e.key) ?? 0) / KEYS.length);
}

const kinds: [string, (eps: EndpointState[]) => LoadBalancer][] = [
  ['ring hash', (eps) => new RingHashLoadBalancer(eps)],
  ['maglev', (eps) => new MaglevLoadBalancer(eps)],
];

for (const [name, make] of kinds) {
  describe(`${name}: affinity`, () => {
    it('sends one key to one endpoint, every time and after a rebuild in another order', () => {
      const eps = hosts([1, 1, 1, 1, 1]);
      const a = make(eps);
      const b = make([...eps].reverse());
      for (const h of KEYS.slice(0, 500)) {
        const first = a.pick(undefined, 0, h);
        expect(a.pick(undefined, 0, h)).toBe(first);
        expect(b.pick(undefined, 0, h)).toBe(first);
      }
    });

    it('spreads keys evenly over equal endpoints', () => {
      const eps = hosts([1, 1, 1, 1]);
      for (const s of shares(make(eps), eps)) expect(Math.abs(s - 0.25)).toBeLessThan(0.25 * 0.2);
    });

    it('spreads keys in proportion to weight', () => {
      const eps = hosts([1, 2, 3, 4]);
      const got = shares(make(eps), eps);
      got.forEach((s, i) => {
        const want = (i + 1) / 10;
        expect(Math.abs(s - want)).toBeLessThan(want * 0.25);
      });
      // The heaviest host gets clearly more than the lightest, whatever the noise.
      expect(got[3]! / got[0]!).toBeGreaterThan(2.5);
    });

    it('moves few keys when an endpoint is removed: only (mostly) the removed one\'s', () => {
      const eps = hosts([1, 1, 1, 1, 1]);
      const before = assignment(make(eps));
      const removed = eps[2]!.key;
      const after = assignment(make(eps.filter((e) => e.key !== removed)));
      let kept = 0;
      let others = 0;
      before.forEach((k, i) => {
        if (k === removed) {
          expect(after[i]).not.toBe(removed);
          return;
        }
        others++;
        if (after[i] === k) kept++;
      });
      // Modulo hashing would move ~80% of them. Maglev keeps nearly all. Envoy's ring keeps
      // most but not all: it re-scales so each of the 4 remaining hosts gets 256 points instead
      // of 205, and the extra points take over some arcs (~13% of keys here).
      expect(kept / others).toBeGreaterThan(name === 'ring hash' ? 0.8 : 0.95);
    });

    it('on a retry avoiding the first host, picks another one', () => {
      const eps = hosts([1, 1, 1]);
      const lb = make(eps);
      for (const h of KEYS.slice(0, 200)) {
        const first = lb.pick(undefined, 0, h)!;
        const second = lb.pick(new Set([first]), 5, h);
        expect(second).toBeDefined();
        expect(second).not.toBe(first);
        // Deterministic too: the same retry goes to the same place.
        expect(lb.pick(new Set([first]), 5, h)).toBe(second);
      }
    });

    it('with no key picks some endpoint, and none from an empty set', () => {
      const eps = hosts([1, 1]);
      const lb = make(eps);
      for (let i = 0; i < 50; i++) expect(eps).toContain(lb.pick());
      expect(make([]).pick(undefined, 5, 42n)).toBeUndefined();
    });
  });
}

describe('ring hash sizing (Envoy ring_hash_lb)', () => {
  it('gives the lightest host ceil(share × minimumRingSize) points and caps at maximumRingSize', () => {
    expect(new RingHashLoadBalancer(hosts([1, 1, 1])).size).toBe(1026); // ceil(1024/3) × 3
    expect(new RingHashLoadBalancer(hosts([1, 3]), { minimumRingSize: 100 }).size).toBe(100);
    expect(new RingHashLoadBalancer(hosts([1, 1000])).size).toBe(2002); // ceil(1024/1001) × 1001
    expect(new RingHashLoadBalancer(hosts([1, 10000]), { minimumRingSize: 1024, maximumRingSize: 4096 }).size).toBe(4096);
  });

  it('keeps every other key exactly when the ring keeps its points (a host added at the same scale)', () => {
    // 4 → 5 equal hosts with maximumRingSize pinning the scale: every old point stays, the new
    // host's points only take keys over from others.
    const eps = hosts([1, 1, 1, 1, 1]);
    const before = assignment(new RingHashLoadBalancer(eps.slice(0, 4), { minimumRingSize: 4000, maximumRingSize: 4000 }));
    const after = assignment(new RingHashLoadBalancer(eps, { minimumRingSize: 5000, maximumRingSize: 5000 }));
    before.forEach((k, i) => expect(after[i] === k || after[i] === eps[4]!.key).toBe(true));
  });

  it('spreads closely to weight with a larger ring', () => {
    const eps = hosts([1, 3]);
    const got = shares(new RingHashLoadBalancer(eps, { minimumRingSize: 65536 }), eps);
    expect(Math.abs(got[0]! - 0.25)).toBeLessThan(0.02);
  });
});

describe('maglev table', () => {
  it('fills every slot in proportion to weight', () => {
    const eps = hosts([1, 3]);
    const counts = new MaglevLoadBalancer(eps, { tableSize: 65537 }).slotCounts();
    expect((counts.get(eps[0]!.key) ?? 0) + (counts.get(eps[1]!.key) ?? 0)).toBe(65537);
    expect(Math.abs((counts.get(eps[0]!.key) ?? 0) / 65537 - 0.25)).toBeLessThan(0.01);
  });

  it('needs a prime table size', () => {
    expect(isPrime(65537)).toBe(true);
    expect(isPrime(65536)).toBe(false);
    expect(() => new MaglevLoadBalancer(hosts([1]), { tableSize: 1000 })).toThrow(/not a prime/);
    expect(new MaglevLoadBalancer(hosts([1, 1]), { tableSize: 7 }).slotCounts().size).toBe(2);
  });
});

describe('ClusterRuntime with a hashing policy', () => {
  it('keeps a key on one host across snapshots and across priority levels', () => {
    const eps = hosts([1, 1, 1, 1]);
    eps[2]!.priority = 1;
    eps[3]!.priority = 1;
    const config = { lbPolicy: 'RING_HASH' as const, endpoints: eps, limits: UNLIMITED_FOR_TESTS, outlier: undefined, panicThreshold: 0, hashLb: { minimumRingSize: 1024 } };
    const rt = new ClusterRuntime('c', silentLogger, config);
    const first = KEYS.slice(0, 300).map((h) => rt.pick(undefined, 1, h));
    // Level 0 is fully healthy, so every key stays on it.
    for (const e of first) expect(e!.priority).toBe(0);
    rt.configure({ ...config });
    KEYS.slice(0, 300).forEach((h, i) => expect(rt.pick(undefined, 1, h)).toBe(first[i]));
    rt.close();
  });

  it('ejecting a host moves only that host\'s keys', () => {
    const eps = hosts([1, 1, 1]);
    const config = { lbPolicy: 'MAGLEV' as const, endpoints: eps, limits: UNLIMITED_FOR_TESTS, outlier: undefined, panicThreshold: 0 };
    const rt = new ClusterRuntime('c', silentLogger, config);
    const before = KEYS.slice(0, 2000).map((h) => rt.pick(undefined, 1, h)!);
    eps[0]!.healthy = false;
    rt.configure({ ...config });
    let moved = 0;
    KEYS.slice(0, 2000).forEach((h, i) => {
      const now = rt.pick(undefined, 1, h)!;
      expect(now).not.toBe(eps[0]);
      if (before[i] !== eps[0] && now !== before[i]) moved++;
    });
    expect(moved / 2000).toBeLessThan(0.05);
    rt.close();
  });
});

describe('hashing balancers under random host sets (fast-check)', () => {
  it('always pick a member of the set, the same one for the same key, and honour exclusions when they can', async () => {
    const fc = (await import('fast-check')).default;
    // The ring walks on one point per attempt, so a retry leaves an excluded host once the walk
    // passes the end of its run of points: with attempts up to the ring's size it always does
    // (a 1:18 ring gives the heavy host runs longer than 64 points; seed 109351955). Maglev
    // rehashes the key per attempt (as Envoy does) and can land on the excluded host every
    // time when it owns most of the table (20:1 weights: ~95% of the slots), so for Maglev the
    // guarantee is a rate: counted over all runs, with a bound far below what it achieves.
    let maglevExclusions = 0;
    let maglevLeft = 0;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 12 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.constantFrom('ring', 'maglev'),
        (weights, key, kind) => {
          const eps = hosts(weights);
          const lb = kind === 'ring' ? new RingHashLoadBalancer(eps, { minimumRingSize: 256 }) : new MaglevLoadBalancer(eps, { tableSize: 251 });
          const first = lb.pick(undefined, 0, key);
          expect(eps).toContain(first);
          expect(lb.pick(undefined, 0, key)).toBe(first);
          if (eps.length > 1) {
            const other = lb.pick(new Set([first!]), kind === 'ring' ? (lb as RingHashLoadBalancer).size : 64, key);
            expect(eps).toContain(other);
            if (kind === 'ring') expect(other).not.toBe(first);
            else {
              maglevExclusions++;
              if (other !== first) maglevLeft++;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(maglevExclusions).toBeGreaterThan(50);
    expect(maglevLeft / maglevExclusions).toBeGreaterThan(0.9);
  });
});
