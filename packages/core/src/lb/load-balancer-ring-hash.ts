// RING_HASH: Envoy's ketama-style consistent hash ring (ring_hash_lb.cc). Each host owns a
// number of points on a 64-bit ring proportional to its weight, at xxHash64("<address>_<i>");
// a request's hash picks the first point at or after it, wrapping at the end. Adding or
// removing a host only moves the keys that fall on that host's arcs.
//
// Ring size: scaled so the lightest host gets at least ceil(its share × minimumRingSize)
// points, capped at maximumRingSize (Envoy's defaults, 1024 and 8M). The points are handed out
// with running sums so fractional shares come out even across hosts, as Envoy does, which keeps
// a key on the same host as an Envoy sidecar with the same host set would choose.
//
// Retries that must avoid a host (previous_hosts) walk the ring from the chosen point, one step
// per attempt, as Envoy's chooseHost(hash, attempt) does. A request with no hash key gets a
// random one, so it still lands somewhere, spread by weight.

import type { EndpointState } from './endpoint-state.ts';
import type { LoadBalancer } from './load-balancer.ts';
import { randomHash64, xxHash64 } from './xxhash64.ts';

export const DEFAULT_MIN_RING_SIZE = 1024;
export const MAX_RING_SIZE = 8 * 1024 * 1024;

export interface RingHashOptions {
  readonly minimumRingSize?: number;
  readonly maximumRingSize?: number;
}

export class RingHashLoadBalancer implements LoadBalancer {
  /** Point hashes, ascending. */
  readonly #points: BigUint64Array;
  /** The host owning each point. */
  readonly #owners: EndpointState[];
  readonly #random: () => number;

  constructor(endpoints: readonly EndpointState[], options: RingHashOptions = {}, random: () => number = Math.random) {
    this.#random = random;
    const min = options.minimumRingSize ?? DEFAULT_MIN_RING_SIZE;
    const max = options.maximumRingSize ?? MAX_RING_SIZE;
    const built = buildRing(endpoints, min, max);
    this.#points = built.points;
    this.#owners = built.owners;
  }

  /** Number of points on the ring (Envoy's ring_hash_lb.size gauge). */
  get size(): number {
    return this.#points.length;
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5, hash?: bigint): EndpointState | undefined {
    const n = this.#points.length;
    if (n === 0) return undefined;
    const start = firstAtOrAfter(this.#points, hash ?? randomHash64(this.#random));
    for (let attempt = 0; ; attempt++) {
      const host = this.#owners[(start + attempt) % n]!;
      if (!exclude || !exclude.has(host) || attempt >= attempts) return host;
    }
  }
}

function buildRing(endpoints: readonly EndpointState[], minRingSize: number, maxRingSize: number): { points: BigUint64Array; owners: EndpointState[] } {
  if (endpoints.length === 0) return { points: new BigUint64Array(0), owners: [] };
  let total = 0;
  let lightest = Infinity;
  for (const e of endpoints) {
    total += e.weight;
    lightest = Math.min(lightest, e.weight);
  }
  const minShare = lightest / total;
  const scale = Math.min(Math.ceil(minShare * minRingSize) / minShare, maxRingSize);
  const hashes: bigint[] = [];
  const owners: EndpointState[] = [];
  let current = 0;
  let target = 0;
  for (const host of endpoints) {
    target += (scale * host.weight) / total;
    for (let i = 0; current < target; i++, current++) {
      hashes.push(xxHash64(`${host.key}_${i}`));
      owners.push(host);
    }
  }
  const order = hashes.map((_, i) => i).sort((a, b) => (hashes[a]! < hashes[b]! ? -1 : hashes[a]! > hashes[b]! ? 1 : 0));
  const points = new BigUint64Array(order.length);
  const sortedOwners: EndpointState[] = new Array(order.length);
  order.forEach((from, to) => {
    points[to] = hashes[from]!;
    sortedOwners[to] = owners[from]!;
  });
  return { points, owners: sortedOwners };
}

/** Index of the first point >= h, or 0 when h is past the last point (the ring wraps). */
function firstAtOrAfter(points: BigUint64Array, h: bigint): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}
