import { describe, expect, it } from 'vitest';
import { convertRetryPolicy, defaultRetryPolicy } from '../src/istio/compile/routes/compile-retry.ts';
import { TYPE_URL } from '../src/xds/resources.ts';
import { compile, routes, staticService, virtualService } from './compile-helpers.ts';

const PREVIOUS_HOSTS = [{ name: 'envoy.retry_host_predicates.previous_hosts', typedConfig: { '@type': TYPE_URL.PreviousHostsPredicate } }];

describe('compileMesh: retries as istio retry.go converts them', () => {
  it('no retries → the default policy', () => {
    expect(convertRetryPolicy(undefined, false)).toEqual({
      retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      numRetries: 2,
      hostSelectionRetryMaxAttempts: 5,
      retryHostPredicate: PREVIOUS_HOSTS,
    });
    expect(defaultRetryPolicy(true).retryHostPredicate).toBeUndefined();
  });

  it('attempts 0 → no retry policy', () => {
    expect(convertRetryPolicy({ attempts: 0 }, false)).toBeUndefined();
    const r = compile([staticService('a.example.com', 80), virtualService('a', { hosts: ['a.example.com'], http: [{ retries: { attempts: 0 }, route: [{ destination: { host: 'a.example.com' } }] }] })]);
    expect(routes(r, 'outbound|80||a.example.com')[0]?.route?.retryPolicy).toBeUndefined();
  });

  it('attempts, retryOn, perTryTimeout override the default; status codes move to retriableStatusCodes', () => {
    expect(convertRetryPolicy({ attempts: 3, retryOn: 'gateway-error,503, 429 ,reset', perTryTimeout: '250ms' }, false)).toEqual({
      retryOn: 'gateway-error,reset,retriable-status-codes',
      numRetries: 3,
      hostSelectionRetryMaxAttempts: 5,
      retryHostPredicate: PREVIOUS_HOSTS,
      retriableStatusCodes: [503, 429],
      perTryTimeout: '0.250s',
    });
  });

  it('keeps retriable-status-codes once; a number that is not an HTTP status stays a token', () => {
    expect(convertRetryPolicy({ attempts: 1, retryOn: 'retriable-status-codes,502' }, false)?.retryOn).toBe('retriable-status-codes');
    expect(convertRetryPolicy({ attempts: 1, retryOn: '5xx,999' }, false)).toMatchObject({ retryOn: '5xx,999' });
    // Only codes: istiod appends with a comma, leaving an empty first token.
    expect(convertRetryPolicy({ attempts: 1, retryOn: '503' }, false)?.retryOn).toBe(',retriable-status-codes');
  });

  it('retryIgnorePreviousHosts false drops the predicate; true keeps it even with consistent hashing', () => {
    expect(convertRetryPolicy({ attempts: 2, retryIgnorePreviousHosts: false }, false)?.retryHostPredicate).toBeUndefined();
    expect(convertRetryPolicy({ attempts: 2, retryIgnorePreviousHosts: true }, true)?.retryHostPredicate).toEqual(PREVIOUS_HOSTS);
    expect(convertRetryPolicy({ attempts: 2 }, true)?.retryHostPredicate).toBeUndefined();
  });

  it('retryRemoteLocalities → previous_priorities; backoff → retryBackOff.baseInterval', () => {
    expect(convertRetryPolicy({ attempts: 2, retryRemoteLocalities: true, backoff: '100ms' }, false)).toMatchObject({
      retryPriority: { name: 'envoy.retry_priorities.previous_priorities', typedConfig: { '@type': TYPE_URL.PreviousPrioritiesConfig, updateFrequency: 2 } },
      retryBackOff: { baseInterval: '0.100s' },
    });
    // Without `backoff` istiod writes none; Envoy's (and Meshlet's) 25 ms default applies.
    expect(convertRetryPolicy({ attempts: 2 }, false)?.retryBackOff).toBeUndefined();
  });
});
