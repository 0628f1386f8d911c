// Envoy's previous_priorities retry priority (envoy.retry_priorities.previous_priorities), which
// istiod writes with update_frequency 2 when a VirtualService sets `retryRemoteLocalities`.
//
// Every attempt's host is recorded. While fewer than update_frequency hosts have been tried the
// retry uses the cluster's own priority load; on every update_frequency-th attempt the levels of
// all hosts tried so far are excluded, and the load is spread over the remaining levels by their
// health (priority-load-balancer.ts). Between updates the last exclusion stands. When every level
// is excluded the record is cleared and the original load applies, so a retry still goes
// somewhere rather than failing to route.
//
// One instance per request; the adapter calls onHostAttempted after each pick and passes the
// instance to pick() on retries.

import type { EndpointState } from '../lb/endpoint-state.ts';
import type { RetryPriorityFilter } from '../lb/load-balancer.ts';

export class PreviousPriorities implements RetryPriorityFilter {
  readonly #updateFrequency: number;
  #attempted: number[] = [];
  readonly #excluded = new Set<number>();

  constructor(updateFrequency: number) {
    this.#updateFrequency = Math.max(1, updateFrequency);
  }

  onHostAttempted(host: EndpointState): void {
    this.#attempted.push(host.priority);
  }

  excluded(): ReadonlySet<number> | undefined {
    const n = this.#attempted.length;
    if (n < this.#updateFrequency) return undefined;
    if (n % this.#updateFrequency === 0) for (const p of this.#attempted) this.#excluded.add(p);
    return this.#excluded.size > 0 ? this.#excluded : undefined;
  }

  reset(): void {
    this.#attempted = [];
    this.#excluded.clear();
  }
}
