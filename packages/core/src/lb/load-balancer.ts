// A load balancer picks one endpoint of a cluster for one attempt. Balancers are built per
// snapshot from the endpoints that may take traffic; the counters they read (active requests)
// live on EndpointState and survive snapshot swaps.
//
// `exclude` holds hosts a retry should avoid (Envoy's previous_hosts predicate). A balancer
// re-picks up to `attempts` times while its pick is excluded and then takes what it has, as
// Envoy does with host_selection_retry_max_attempts.
//
// `hash` is the request's consistent-hash key (router/hash-policy.ts). Only the hashing
// balancers (ring hash, Maglev) read it; the others ignore it, so callers may always pass it.
//
// `priorities` is a retry's record of the priority levels it already tried (Envoy's
// retry_priority extension, resilience/retry-priority.ts). Only the priority balancer reads it.

import type { EndpointState } from './endpoint-state.ts';

/** The balancing policies Meshlet implements (Envoy's lb_policy names). */
export type LbKind = 'LEAST_REQUEST' | 'ROUND_ROBIN' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

export interface LoadBalancer {
  pick(exclude?: ReadonlySet<EndpointState>, attempts?: number, hash?: bigint, priorities?: RetryPriorityFilter): EndpointState | undefined;
}

/** Which priority levels a retry must leave out of its pick. */
export interface RetryPriorityFilter {
  /** Levels to leave out of this pick, or undefined for the cluster's own priority load. */
  excluded(): ReadonlySet<number> | undefined;
  /** Every level with usable hosts was left out: forget them and use the original load. */
  reset(): void;
}

export function pickAvoiding(
  once: () => EndpointState | undefined,
  exclude: ReadonlySet<EndpointState> | undefined,
  attempts: number,
): EndpointState | undefined {
  let host = once();
  if (!exclude || exclude.size === 0) return host;
  for (let i = 0; i < attempts && host !== undefined && exclude.has(host); i++) host = once();
  return host;
}

export function allWeightsEqual(endpoints: readonly EndpointState[]): boolean {
  for (let i = 1; i < endpoints.length; i++) if (endpoints[i]!.weight !== endpoints[0]!.weight) return false;
  return true;
}
