// ROUND_ROBIN: smooth weighted round robin (each pick adds every weight to its running score and
// takes the highest), which spreads a weighted cycle evenly instead of in bursts. With equal
// weights it is plain rotation. With slow start (slow-start.ts) ramping a host, every pick
// reads the hosts' current ramped weights, so the ramp takes effect as time passes, not only
// when the host set changes.

import type { EndpointState } from './endpoint-state.ts';
import { allWeightsEqual, pickAvoiding, type LoadBalancer } from './load-balancer.ts';
import type { SlowStart } from './slow-start.ts';

export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly #endpoints: readonly EndpointState[];
  readonly #equal: boolean;
  readonly #scores: Float64Array;
  readonly #total: number;
  #next: number;
  readonly #slowStart: SlowStart | undefined;

  constructor(endpoints: readonly EndpointState[], random: () => number = Math.random, slowStart?: SlowStart) {
    this.#endpoints = endpoints;
    this.#slowStart = slowStart;
    this.#equal = allWeightsEqual(endpoints);
    this.#scores = new Float64Array(endpoints.length);
    this.#total = endpoints.reduce((s, e) => s + e.weight, 0);
    // Start at a random place so many clients do not all hit the first endpoint first.
    this.#next = Math.floor(random() * Math.max(1, endpoints.length));
  }

  // Closures live in methods of their own (#avoiding, #ramped): V8 allocates a function's
  // closure context every time it runs, whichever branch is taken, and a first attempt with no
  // ramp needs none.
  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5): EndpointState | undefined {
    if (!exclude || exclude.size === 0) return this.#once();
    return this.#avoiding(exclude, attempts);
  }

  #avoiding(exclude: ReadonlySet<EndpointState>, attempts: number): EndpointState | undefined {
    return pickAvoiding(() => this.#once(), exclude, attempts);
  }

  #once(): EndpointState | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    const ss = this.#slowStart;
    if (ss) {
      const now = ss.now();
      if (ss.active(now)) return this.#ramped(ss, now);
    }
    if (this.#equal) {
      const e = this.#endpoints[this.#next % n];
      this.#next = (this.#next + 1) % n;
      return e;
    }
    return this.#weighted(undefined);
  }

  #ramped(ss: SlowStart, now: number): EndpointState | undefined {
    return this.#weighted((e) => ss.weight(e, now));
  }

  #weighted(weightOf: ((e: EndpointState) => number) | undefined): EndpointState | undefined {
    const n = this.#endpoints.length;
    let best = 0;
    let total = this.#total;
    if (weightOf) total = 0;
    for (let i = 0; i < n; i++) {
      const e = this.#endpoints[i]!;
      const w = weightOf ? weightOf(e) : e.weight;
      if (weightOf) total += w;
      this.#scores[i]! += w;
      if (this.#scores[i]! > this.#scores[best]!) best = i;
    }
    this.#scores[best]! -= total;
    return this.#endpoints[best];
  }
}
