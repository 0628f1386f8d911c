// Envoy's circuit breakers for one cluster: concurrency limits checked at the moment a request
// or a retry would start. Over a limit the request fails at once (Envoy answers 503 with
// x-envoy-overloaded); an overflow is never retried. Istio writes 2^32-1 for every limit a
// DestinationRule leaves unset, so "unset" in an Istio mesh means "no limit"; a cluster with no
// thresholds at all gets Envoy's own defaults.

import type { Cluster } from '../xds/resources.ts';

export interface ClusterLimits {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** When set, replaces maxRetries: retries may be at most this share of active + pending requests. */
  readonly retryBudget: { readonly percent: number; readonly minRetryConcurrency: number } | undefined;
}

const ENVOY_DEFAULTS: ClusterLimits = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: undefined };

export function clusterLimits(c: Cluster): ClusterLimits {
  const t = c.circuitBreakers?.thresholds?.find((x) => (x.priority ?? 'DEFAULT') === 'DEFAULT');
  if (!t) return ENVOY_DEFAULTS;
  const budget = t.retryBudget;
  return {
    maxConnections: t.maxConnections ?? ENVOY_DEFAULTS.maxConnections,
    maxPendingRequests: t.maxPendingRequests ?? ENVOY_DEFAULTS.maxPendingRequests,
    maxRequests: t.maxRequests ?? ENVOY_DEFAULTS.maxRequests,
    maxRetries: t.maxRetries ?? ENVOY_DEFAULTS.maxRetries,
    // Envoy's retry budget defaults: 20% of active + pending, at least 3 retries in flight.
    retryBudget: budget ? { percent: budget.budgetPercent?.value ?? 20, minRetryConcurrency: budget.minRetryConcurrency ?? 3 } : undefined,
  };
}

export const UNLIMITED = 4294967295;
