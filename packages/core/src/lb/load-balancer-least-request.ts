// LEAST_REQUEST, Istio's default: Envoy's power of two choices. With equal weights, pick two
// endpoints at random and take the one with fewer requests in flight. With unequal weights
// Envoy schedules by weight / (active + 1)^bias (bias 1); here that is a weighted random pick
// over those effective weights, which gives the same long-run shares.

import type { EndpointState } from '../snapshot/endpoint-state.ts';
import { allWeightsEqual, pickAvoiding, type LoadBalancer } from './load-balancer.ts';

export class LeastRequestLoadBalancer implements LoadBalancer {
  readonly #endpoints: readonly EndpointState[];
  readonly #equal: boolean;
  readonly #random: () => number;
  readonly #choices: number;

  constructor(endpoints: readonly EndpointState[], random: () => number = Math.random, choiceCount = 2) {
    this.#endpoints = endpoints;
    this.#equal = allWeightsEqual(endpoints);
    this.#random = random;
    this.#choices = Math.max(2, choiceCount);
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5): EndpointState | undefined {
    return pickAvoiding(() => this.#once(), exclude, attempts);
  }

  #once(): EndpointState | undefined {
    const eps = this.#endpoints;
    const n = eps.length;
    if (n <= 1) return eps[0];
    if (this.#equal) {
      let best = eps[Math.floor(this.#random() * n)]!;
      for (let i = 1; i < this.#choices; i++) {
        const other = eps[Math.floor(this.#random() * n)]!;
        if (other.active < best.active) best = other;
      }
      return best;
    }
    let total = 0;
    for (const e of eps) total += e.weight / (e.active + 1);
    let r = this.#random() * total;
    for (const e of eps) {
      r -= e.weight / (e.active + 1);
      if (r < 0) return e;
    }
    return eps[n - 1];
  }
}
