// ROUND_ROBIN: smooth weighted round robin (each pick adds every weight to its running score and
// takes the highest), which spreads a weighted cycle evenly instead of in bursts. With equal
// weights it is plain rotation.

import type { EndpointState } from '../snapshot/endpoint-state.ts';
import { allWeightsEqual, pickAvoiding, type LoadBalancer } from './load-balancer.ts';

export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly #endpoints: readonly EndpointState[];
  readonly #equal: boolean;
  readonly #scores: Float64Array;
  readonly #total: number;
  #next: number;

  constructor(endpoints: readonly EndpointState[], random: () => number = Math.random) {
    this.#endpoints = endpoints;
    this.#equal = allWeightsEqual(endpoints);
    this.#scores = new Float64Array(endpoints.length);
    this.#total = endpoints.reduce((s, e) => s + e.weight, 0);
    // Start at a random place so many clients do not all hit the first endpoint first.
    this.#next = Math.floor(random() * Math.max(1, endpoints.length));
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5): EndpointState | undefined {
    return pickAvoiding(() => this.#once(), exclude, attempts);
  }

  #once(): EndpointState | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    if (this.#equal) {
      const e = this.#endpoints[this.#next % n];
      this.#next = (this.#next + 1) % n;
      return e;
    }
    let best = 0;
    for (let i = 0; i < n; i++) {
      this.#scores[i]! += this.#endpoints[i]!.weight;
      if (this.#scores[i]! > this.#scores[best]!) best = i;
    }
    this.#scores[best]! -= this.#total;
    return this.#endpoints[best];
  }
}
