// With @opentelemetry/api installed but no SDK registered, telemetry must cost a request
// nothing: MeshTelemetry reports itself idle and hands out the no-op trace. An SDK (or an
// explicit provider) makes it live again.

import { describe, expect, it } from 'vitest';
import * as api from '@opentelemetry/api';
import { MeshTelemetry } from '../src/telemetry/mesh-telemetry.ts';

const info = { protocol: 'http' as const, method: 'GET', url: 'http://a/', serverAddress: 'a', serverPort: 80, mesh: {} };

describe('MeshTelemetry idle fast path', () => {
  it('is idle with only the API (no tracer, meter or propagator registered)', () => {
    const t = new MeshTelemetry(api);
    expect(t.idle()).toBe(true);
    const a = t.startRequest(info);
    expect(t.startRequest(info)).toBe(a); // the shared no-op trace: nothing allocated per request
  });

  it('is live with an explicit tracer provider, or with metrics from a real meter', () => {
    const tracerProvider: api.TracerProvider = { getTracer: () => api.trace.getTracerProvider().getTracer('x') };
    expect(new MeshTelemetry(api, { tracerProvider, metrics: false }).idle()).toBe(false);
    const meter = api.createNoopMeter();
    const meterProvider: api.MeterProvider = {
      getMeter: () => Object.assign(Object.create(meter) as api.Meter, { createHistogram: () => ({ record() {} }) }),
    };
    expect(new MeshTelemetry(api, { spans: 'none', meterProvider }).idle()).toBe(false);
  });

  it('sees a global propagator registered later', () => {
    const t = new MeshTelemetry(api, { spans: 'none', metrics: false });
    expect(t.idle()).toBe(true);
    api.propagation.setGlobalPropagator({ inject() {}, extract: (c) => c, fields: () => ['traceparent'] });
    try {
      expect(t.idle()).toBe(false);
    } finally {
      api.propagation.disable();
    }
  });
});
