// VirtualService `retries` → Envoy RetryPolicy (route/retry/retry.go ConvertPolicy):
//  - no `retries`: the mesh default — 2 retries on
//    connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes (no codes
//    listed), avoid previous hosts (re-pick up to 5 times);
//  - `attempts` 0 (or less): no retry policy at all;
//  - otherwise the default with the user's fields on top; numeric retryOn tokens that are HTTP
//    status codes move to retriableStatusCodes, adding `retriable-status-codes` if missing;
//  - with consistent-hash balancing on the route there is no previous-hosts predicate (retrying
//    on another host would defeat the hash).
// istiod writes no retryBackOff unless `backoff` is set: Envoy's own default (25 ms base, 10×
// cap) applies, and Meshlet's retry layer uses the same default.

import type { Any, RetryPolicy } from '../../../xds/resources.ts';
import { PREVIOUS_HOSTS_PREDICATE, PREVIOUS_PRIORITIES, TYPE_URL } from '../../../xds/resources.ts';
import { toDuration } from '../common/compile-duration.ts';
import type { HTTPRetry } from '../../types.ts';

export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
export const DEFAULT_NUM_RETRIES = 2;
const HOST_SELECTION_ATTEMPTS = 5;

function previousHosts(): { name: string; typedConfig: Any }[] {
  return [{ name: PREVIOUS_HOSTS_PREDICATE, typedConfig: { '@type': TYPE_URL.PreviousHostsPredicate } }];
}

export function defaultRetryPolicy(consistentHash: boolean): RetryPolicy {
  const p: RetryPolicy = { retryOn: DEFAULT_RETRY_ON, numRetries: DEFAULT_NUM_RETRIES, hostSelectionRetryMaxAttempts: HOST_SELECTION_ATTEMPTS };
  if (!consistentHash) p.retryHostPredicate = previousHosts();
  return p;
}

/** The route's retry policy, or undefined when the rule turns retries off. */
export function convertRetryPolicy(retries: HTTPRetry | undefined, consistentHash: boolean): RetryPolicy | undefined {
  if (!retries) return defaultRetryPolicy(consistentHash);
  if ((retries.attempts ?? 0) <= 0) return undefined;
  const out = defaultRetryPolicy(consistentHash);
  out.numRetries = retries.attempts as number;
  if (retries.retryOn) {
    const { retryOn, codes } = parseRetryOn(retries.retryOn);
    out.retryOn = retryOn;
    if (codes.length > 0) {
      out.retriableStatusCodes = codes;
      // Appended exactly as istiod does, which leaves a leading comma when only codes were
      // given (",retriable-status-codes"); Envoy skips the empty token.
      if (!retryOn.includes('retriable-status-codes')) out.retryOn = `${retryOn},retriable-status-codes`;
    }
  }
  const perTry = toDuration(retries.perTryTimeout);
  if (perTry !== undefined) out.perTryTimeout = perTry;
  if (retries.retryIgnorePreviousHosts !== undefined) {
    if (retries.retryIgnorePreviousHosts) out.retryHostPredicate = previousHosts();
    else delete out.retryHostPredicate;
  }
  if (retries.retryRemoteLocalities) {
    out.retryPriority = {
      name: PREVIOUS_PRIORITIES,
      typedConfig: { '@type': TYPE_URL.PreviousPrioritiesConfig, updateFrequency: 2 },
    };
  }
  const backoff = toDuration(retries.backoff);
  if (backoff !== undefined) out.retryBackOff = { baseInterval: backoff };
  return out;
}

// The status codes Go's net/http names (http.StatusText non-empty): only these count as codes.
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402,
  403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431,
  451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

function parseRetryOn(text: string): { retryOn: string; codes: number[] } {
  const tokens: string[] = [];
  const codes: number[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const n = /^[+-]?\d+$/.test(part) ? Number(part) : NaN;
    if (KNOWN_STATUS.has(n)) codes.push(n);
    else tokens.push(part);
  }
  return { retryOn: tokens.join(','), codes };
}
