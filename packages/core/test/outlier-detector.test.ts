// Properties of outlier detection and admission, driven with no network (fast-check), as Envoy
// fuzzes its load balancers under random host-health changes.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OutlierDetector } from '../src/resilience/outlier-detector.ts';
import { EndpointState } from '../src/lb/endpoint-state.ts';
import { ClusterRuntime } from '../src/snapshot/cluster-runtime.ts';
import { RequestGrant } from '../src/snapshot/request-grant.ts';
import { effectiveStatus, type Outcome } from '../src/resilience/outcome.ts';
import { silentLogger } from '../src/logger.ts';
import type { OutlierConfig } from '../src/resilience/outlier-config.ts';

const config = (over: Partial<OutlierConfig> = {}): OutlierConfig => ({
  intervalMs: 1_000_000, baseEjectionMs: 1000, maxEjectionMs: 300_000, maxEjectionPercent: 10,
  consecutive5xx: 3, consecutiveGateway: 0, consecutiveLocalOrigin: 0, splitLocalOrigin: false, ...over,
});
const events = { changed() {}, ejected() {}, returned() {} };
const resp = (status: number): Outcome => ({ kind: 'response', status, grpcStatus: undefined });

describe('outlier detector', () => {
  it('never ejects more than max(1, maxEjectionPercent of hosts), whatever the traffic and clock', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 100 }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(200, 404, 500, 502, 503, 504), fc.integer({ min: 0, max: 3000 })), { maxLength: 300 }),
      (n, pct, events_) => {
        let now = 0;
        const hosts = Array.from({ length: n }, (_, i) => new EndpointState('10.0.0.' + i, 80));
        const d = new OutlierDetector(config({ maxEjectionPercent: pct, consecutive5xx: 2 }), () => hosts, events, () => now);
        try {
          for (const [h, status, dt] of events_) {
            now += dt;
            if (dt > 1500) d.sweep();
            d.record(hosts[h % n]!, resp(status));
            const ejected = hosts.filter((x) => x.ejectedUntil > 0).length;
            if (ejected > Math.max(1, Math.floor((pct * n) / 100))) return false;
            if (ejected !== d.ejectionsActive) return false;
          }
          return true;
        } finally {
          d.stop();
        }
      },
    ));
  });

  it('ejects for base × count, and decays the count while the host stays healthy', () => {
    let now = 0;
    const h = new EndpointState('10.0.0.1', 80);
    const d = new OutlierDetector(config({ maxEjectionPercent: 100 }), () => [h], events, () => now);
    const failTimes = (k: number) => { for (let i = 0; i < k; i++) d.record(h, resp(500)); };
    failTimes(3);
    expect(h.ejectedUntil).toBe(1000);
    now = 999; d.sweep(); expect(h.ejectedUntil).toBe(1000);
    now = 1000; d.sweep(); expect(h.ejectedUntil).toBe(0);
    failTimes(3);
    expect(h.ejectedUntil).toBe(1000 + 2000);
    now = 3000; d.sweep();
    // Healthy for one base period: the multiplier drops back by one.
    now = 4000; d.sweep(); expect(h.ejections).toBe(1);
    failTimes(3);
    expect(h.ejectedUntil).toBe(4000 + 2000);
    d.stop();
  });

  it('a success resets the consecutive count; gateway errors count separately when enabled', () => {
    const h = new EndpointState('10.0.0.1', 80);
    const d = new OutlierDetector(config({ maxEjectionPercent: 100, consecutive5xx: 3, consecutiveGateway: 2 }), () => [h], events, () => 0);
    d.record(h, resp(500)); d.record(h, resp(500)); d.record(h, resp(200)); d.record(h, resp(500));
    expect(h.ejectedUntil).toBe(0);
    d.record(h, resp(503)); // 500 then 503: two 5xx in a row, one gateway error
    expect(h.ejectedUntil).toBe(0);
    d.record(h, resp(504)); // second gateway error in a row
    expect(h.ejectedUntil).toBeGreaterThan(0);
    d.stop();
  });

  it('maps gRPC statuses and local-origin failures as Envoy does', () => {
    const g = (grpcStatus: number): Outcome => ({ kind: 'response', status: 200, grpcStatus });
    expect(effectiveStatus(g(14))).toBe(503);
    expect(effectiveStatus(g(13))).toBe(500);
    expect(effectiveStatus(g(4))).toBe(504);
    expect(effectiveStatus(g(5))).toBe(404);
    expect(effectiveStatus(g(0))).toBe(200);
    expect(effectiveStatus({ kind: 'connect-failure', error: new Error() })).toBe(503);
    expect(effectiveStatus({ kind: 'per-try-timeout', error: new Error() })).toBe(504);
  });
});

describe('cluster admission', () => {
  it('every counter returns to zero when traffic stops, and limits are never exceeded', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 5 }),
      fc.array(fc.constantFrom('req', 'pend', 'retry', 'end'), { maxLength: 200 }),
      (maxRequests, maxPending, maxRetries, ops) => {
        const rt = new ClusterRuntime('c', silentLogger, {
          lbPolicy: 'ROUND_ROBIN', endpoints: [], outlier: undefined, panicThreshold: 0,
          limits: { maxConnections: 1, maxPendingRequests: maxPending, maxRequests, maxRetries, retryBudget: undefined },
        });
        const held: (() => void)[] = [];
        for (const op of ops) {
          if (op === 'req') { const g = rt.admitRequest(); if (g instanceof RequestGrant) held.push(() => g.end(true)); }
          if (op === 'pend') { if (!rt.admitPending()) held.push(() => rt.endPending()); }
          if (op === 'retry') { if (rt.admitRetry()) held.push(() => rt.endRetry()); }
          if (op === 'end') held.shift()?.();
          if (rt.activeRequests > maxRequests || rt.pendingRequests > maxPending || rt.activeRetries > maxRetries) return false;
        }
        for (const release of held) release();
        return rt.activeRequests === 0 && rt.pendingRequests === 0 && rt.activeRetries === 0;
      },
    ));
  });
});
