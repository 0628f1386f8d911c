// LEAST_REQUEST, Istio's default: Envoy's power of two choices. With equal weights, pick two
// endpoints at random and take the one with fewer requests in flight. With unequal weights
// Envoy schedules by weight / (active + 1)^bias (bias 1); here that is a weighted random pick
// over those effective weights, which gives the same long-run shares. While slow start ramps a
// host (slow-start.ts), Envoy leaves the two-choice path and schedules by weight, with each
// weight scaled by the ramp; so does this.

import type { EndpointState } from './endpoint-state.ts';
import { allWeightsEqual, pickAvoiding, type LoadBalancer } from './load-balancer.ts';
import type { SlowStart } from './slow-start.ts';

export class LeastRequestLoadBalancer implements LoadBalancer {
  readonly #endpoints: readonly EndpointState[];
  readonly #equal: boolean;
  readonly #random: () => number;
  readonly #choices: number;
  readonly #slowStart: SlowStart | undefined;

  constructor(endpoints: readonly EndpointState[], random: () => number = Math.random, choiceCount = 2, slowStart?: SlowStart) {
    this.#endpoints = endpoints;
    this.#slowStart = slowStart;
    this.#equal = allWeightsEqual(endpoints);
    this.#random = random;
    this.#choices = Math.max(2, choiceCount);
  }

  // Closures live in methods of their own (#avoiding, #weighted): V8 allocates a function's
  // closure context every time it runs, whichever branch is taken, and the common pick (a first
  // attempt, equal weights, no ramp) needs none.
  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5): EndpointState | undefined {
    if (!exclude || exclude.size === 0) return this.#once();
    return this.#avoiding(exclude, attempts);
  }

  #avoiding(exclude: ReadonlySet<EndpointState>, attempts: number): EndpointState | undefined {
    return pickAvoiding(() => this.#once(), exclude, attempts);
  }

  #once(): EndpointState | undefined {
    const eps = this.#endpoints;
    const n = eps.length;
    if (n <= 1) return eps[0];
    const ss = this.#slowStart;
    const now = ss ? ss.now() : 0;
    const ramping = ss !== undefined && ss.active(now);
    if (this.#equal && !ramping) {
      let best = eps[Math.floor(this.#random() * n)]!;
      for (let i = 1; i < this.#choices; i++) {
        const other = eps[Math.floor(this.#random() * n)]!;
        if (other.active < best.active) best = other;
      }
      return best;
    }
    return this.#weighted(ramping ? ss : undefined, now);
  }

  #weighted(ss: SlowStart | undefined, now: number): EndpointState | undefined {
    const eps = this.#endpoints;
    const n = eps.length;
    const weightOf = ss ? (e: EndpointState) => ss.weight(e, now) : (e: EndpointState) => e.weight;
    let total = 0;
    for (const e of eps) total += weightOf(e) / (e.active + 1);
    let r = this.#random() * total;
    for (const e of eps) {
      r -= weightOf(e) / (e.active + 1);
      if (r < 0) return e;
    }
    return eps[n - 1];
  }
}
