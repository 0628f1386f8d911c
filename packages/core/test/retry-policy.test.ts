import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffMs, compileRetryPolicy, isRetriable } from '../src/resilience/retry-policy.ts';
import { classifyError, type Outcome } from '../src/resilience/outcome.ts';

const resp = (status: number, grpcStatus?: number): Outcome => ({ kind: 'response', status, grpcStatus });
const err = (kind: 'connect-failure' | 'reset' | 'refused-stream' | 'per-try-timeout'): Outcome => ({ kind, error: new Error(kind) });

describe('retry conditions (Envoy x-envoy-retry-on)', () => {
  const cases: [string, Outcome, boolean][] = [
    ['5xx', resp(500), true], ['5xx', resp(503), true], ['5xx', resp(404), false],
    ['5xx', err('connect-failure'), true], ['5xx', err('reset'), true], ['5xx', err('per-try-timeout'), true], ['5xx', err('refused-stream'), true],
    ['gateway-error', resp(502), true], ['gateway-error', resp(504), true], ['gateway-error', resp(500), false], ['gateway-error', err('reset'), true],
    ['reset', err('reset'), true], ['reset', resp(503), false], ['reset', err('connect-failure'), true],
    ['connect-failure', err('connect-failure'), true], ['connect-failure', err('reset'), false], ['connect-failure', resp(503), false],
    ['refused-stream', err('refused-stream'), true], ['refused-stream', err('reset'), false],
    ['retriable-4xx', resp(409), true], ['retriable-4xx', resp(429), false],
    ['retriable-status-codes', resp(429), false],
    ['unavailable', resp(200, 14), true], ['unavailable', resp(200, 13), false],
    ['cancelled,internal', resp(200, 13), true], ['deadline-exceeded', resp(200, 4), true], ['resource-exhausted', resp(200, 8), true],
  ];
  for (const [on, outcome, want] of cases) {
    it(`${on} ${outcome.kind === 'response' ? `${outcome.status}/${outcome.grpcStatus ?? '-'}` : outcome.kind} → ${want}`, () => {
      expect(isRetriable(compileRetryPolicy({ retryOn: on }), outcome)).toBe(want);
    });
  }

  it('retriable-status-codes uses the listed codes', () => {
    const p = compileRetryPolicy({ retryOn: 'retriable-status-codes', retriableStatusCodes: [429, 503] });
    expect(isRetriable(p, resp(429))).toBe(true);
    expect(isRetriable(p, resp(500))).toBe(false);
  });

  it("Istio's default policy retries connect failures but not a 503", () => {
    const p = compileRetryPolicy({ retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', numRetries: 2 });
    expect(isRetriable(p, err('connect-failure'))).toBe(true);
    expect(isRetriable(p, resp(503))).toBe(false);
    expect(isRetriable(p, resp(200, 14))).toBe(true);
    expect(p.numRetries).toBe(2);
  });

  it('classifies transport errors by code', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).kind).toBe('connect-failure');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' })).kind).toBe('connect-failure');
    expect(classifyError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })).kind).toBe('reset');
    expect(classifyError(Object.assign(new Error('x'), { cause: Object.assign(new Error('y'), { code: 'ECONNREFUSED' }) })).kind).toBe('connect-failure');
  });
});

describe('back-off', () => {
  it('stays in [0, min(max, (2^N - 1) × base)) for every retry number', () => {
    const p = compileRetryPolicy({ retryOn: '5xx', retryBackOff: { baseInterval: '0.025s' } });
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (n, r) => {
      const ms = backoffMs(p, n, () => r);
      return ms >= 0 && ms < Math.min(250, (2 ** n - 1) * 25);
    }));
  });
});
