// RANDOM: each pick is independent, weighted by endpoint weight.

import type { EndpointState } from './endpoint-state.ts';
import { allWeightsEqual, pickAvoiding, type LoadBalancer } from './load-balancer.ts';

export class RandomLoadBalancer implements LoadBalancer {
  readonly #endpoints: readonly EndpointState[];
  readonly #cumulative: Float64Array | undefined;
  readonly #total: number;
  readonly #random: () => number;

  constructor(endpoints: readonly EndpointState[], random: () => number = Math.random) {
    this.#endpoints = endpoints;
    this.#random = random;
    let total = 0;
    if (allWeightsEqual(endpoints)) {
      this.#cumulative = undefined;
    } else {
      this.#cumulative = new Float64Array(endpoints.length);
      endpoints.forEach((e, i) => { total += e.weight; this.#cumulative![i] = total; });
    }
    this.#total = total;
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5): EndpointState | undefined {
    if (!exclude || exclude.size === 0) return this.#once();
    return this.#avoiding(exclude, attempts);
  }

  // The closure in a method of its own: V8 allocates a function's closure context every time it
  // runs, whichever branch is taken, and a first attempt needs none.
  #avoiding(exclude: ReadonlySet<EndpointState>, attempts: number): EndpointState | undefined {
    return pickAvoiding(() => this.#once(), exclude, attempts);
  }

  #once(): EndpointState | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    if (!this.#cumulative) return this.#endpoints[Math.floor(this.#random() * n)];
    const r = this.#random() * this.#total;
    for (let i = 0; i < n; i++) if (r < this.#cumulative[i]!) return this.#endpoints[i];
    return this.#endpoints[n - 1];
  }
}
