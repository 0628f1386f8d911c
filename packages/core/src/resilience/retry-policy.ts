// Envoy's retry policy as data plus the decision it makes. The policy decides ("again, after
// 25 ms, not on that host"); the adapter executes. Conditions follow Envoy's x-envoy-retry-on
// and x-envoy-retry-grpc-on semantics:
//   5xx            any 5xx response, or no response at all (connect failure, reset, per-try timeout)
//   gateway-error  502/503/504, or no response at all
//   reset          no response (disconnect, reset, per-try timeout)
//   connect-failure  the connection could not be made
//   refused-stream   an HTTP/2 REFUSED_STREAM
//   retriable-4xx    409
//   retriable-status-codes  a status in the list
//   cancelled, deadline-exceeded, internal, resource-exhausted, unavailable: the grpc-status
// A route timeout that fired is never retried (the whole request is over).

import type { RetryPolicy as XdsRetryPolicy } from '../xds/resources.ts';
import { PREVIOUS_HOSTS_PREDICATE, PREVIOUS_PRIORITIES } from '../xds/resources.ts';
import { durationToMs } from '../xds/duration.ts';
import { grpcStatusForToken, type Outcome } from './outcome.ts';

const ON_5XX = 1, ON_GATEWAY = 2, ON_RESET = 4, ON_CONNECT = 8, ON_REFUSED = 16, ON_4XX = 32, ON_CODES = 64;

export const RETRY_ON_TOKENS = new Set([
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

export interface RetryPolicy {
  readonly numRetries: number;
  readonly retryOn: string;
  readonly perTryTimeoutMs: number;
  readonly baseIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  readonly grpcStatuses: ReadonlySet<number>;
  readonly avoidPreviousHosts: boolean;
  readonly hostSelectionAttempts: number;
  /**
   * previous_priorities' update_frequency when the route has that retry priority (istiod writes
   * 2 for retryRemoteLocalities): retries then leave tried priority levels out
   * (retry-priority.ts). Undefined: no retry priority.
   */
  readonly previousPrioritiesUpdateFrequency: number | undefined;
  readonly flags: number;
}

export function compileRetryPolicy(p: XdsRetryPolicy): RetryPolicy {
  let flags = 0;
  const grpc = new Set<number>();
  for (const raw of (p.retryOn ?? '').split(',')) {
    const token = raw.trim();
    switch (token) {
      case '5xx': flags |= ON_5XX; break;
      case 'gateway-error': flags |= ON_GATEWAY; break;
      case 'reset': flags |= ON_RESET; break;
      case 'connect-failure': flags |= ON_CONNECT; break;
      case 'refused-stream': flags |= ON_REFUSED; break;
      case 'retriable-4xx': flags |= ON_4XX; break;
      case 'retriable-status-codes': flags |= ON_CODES; break;
      default: {
        const g = grpcStatusForToken(token);
        if (g !== undefined) grpc.add(g);
      }
    }
  }
  const base = p.retryBackOff?.baseInterval !== undefined ? durationToMs(p.retryBackOff.baseInterval) ?? 25 : 25;
  const max = p.retryBackOff?.maxInterval !== undefined ? durationToMs(p.retryBackOff.maxInterval) ?? base * 10 : base * 10;
  return {
    // Envoy: num_retries defaults to 1 when a retry policy is present.
    numRetries: p.numRetries ?? 1,
    retryOn: p.retryOn ?? '',
    perTryTimeoutMs: p.perTryTimeout !== undefined ? durationToMs(p.perTryTimeout) ?? 0 : 0,
    baseIntervalMs: base,
    maxIntervalMs: max,
    retriableStatusCodes: new Set(p.retriableStatusCodes ?? []),
    grpcStatuses: grpc,
    avoidPreviousHosts: (p.retryHostPredicate ?? []).some((h) => h.name === PREVIOUS_HOSTS_PREDICATE),
    hostSelectionAttempts: p.hostSelectionRetryMaxAttempts ?? 1,
    previousPrioritiesUpdateFrequency: previousPriorities(p),
    flags,
  };
}

function previousPriorities(p: XdsRetryPolicy): number | undefined {
  if (p.retryPriority?.name !== PREVIOUS_PRIORITIES) return undefined;
  const f = (p.retryPriority.typedConfig as { updateFrequency?: number } | undefined)?.updateFrequency;
  // Envoy's validation requires update_frequency > 0; a config without one still means "avoid
  // tried priorities", so take the smallest legal value rather than drop the behaviour.
  return typeof f === 'number' && f > 0 ? Math.floor(f) : 1;
}

/** Whether this outcome may be retried under the policy (budget and time are checked elsewhere). */
export function isRetriable(policy: RetryPolicy, outcome: Outcome): boolean {
  const f = policy.flags;
  switch (outcome.kind) {
    case 'connect-failure':
      return (f & (ON_5XX | ON_GATEWAY | ON_RESET | ON_CONNECT)) !== 0;
    case 'refused-stream':
      return (f & (ON_5XX | ON_GATEWAY | ON_RESET | ON_REFUSED)) !== 0;
    case 'reset':
    case 'per-try-timeout':
      return (f & (ON_5XX | ON_GATEWAY | ON_RESET)) !== 0;
    case 'response': {
      const s = outcome.status;
      if ((f & ON_5XX) && s >= 500 && s <= 599) return true;
      if ((f & ON_GATEWAY) && (s === 502 || s === 503 || s === 504)) return true;
      if ((f & ON_4XX) && s === 409) return true;
      if ((f & ON_CODES) && policy.retriableStatusCodes.has(s)) return true;
      if (outcome.grpcStatus !== undefined && policy.grpcStatuses.has(outcome.grpcStatus)) return true;
      return false;
    }
  }
}

/**
 * Envoy's fully jittered exponential back-off: before retry N (1-based) wait a uniform time in
 * [0, (2^N - 1) * base), never more than the max interval.
 */
export function backoffMs(policy: RetryPolicy, retryNumber: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxIntervalMs, (2 ** Math.min(retryNumber, 30) - 1) * policy.baseIntervalMs);
  return Math.floor(random() * ceiling);
}
