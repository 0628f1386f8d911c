// With @opentelemetry/api installed but no SDK registered, telemetry must cost a request
// nothing: MeshTelemetry reports itself idle and hands out the no-op trace. An SDK (or an
// explicit provider) makes it live again.

import { describe, expect, it } from 'vitest';
import * as api from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
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

  it('follows each propagator registered, replaced or disabled later (its answer is kept per propagator)', () => {
    const t = new MeshTelemetry(api, { spans: 'none', metrics: false });
    const propagator = (fields: string[]): api.TextMapPropagator => ({ inject() {}, extract: (c) => c, fields: () => fields });
    expect(t.idle()).toBe(true);
    try {
      api.propagation.setGlobalPropagator(propagator([]));
      expect(t.idle()).toBe(true); // registered, but it carries nothing
      api.propagation.disable();
      api.propagation.setGlobalPropagator(propagator(['baggage']));
      expect(t.idle()).toBe(false);
      api.propagation.disable();
      expect(t.idle()).toBe(true);
      api.propagation.setGlobalPropagator(propagator(['traceparent', 'tracestate']));
      expect(t.idle()).toBe(false);
    } finally {
      api.propagation.disable();
    }
    expect(t.idle()).toBe(true);
  });

  it('an SDK tracer provider registered after the telemetry was created turns it on, and spans are recorded', () => {
    const t = new MeshTelemetry(api, { metrics: false });
    expect(t.idle()).toBe(true);
    const exporter = new InMemorySpanExporter();
    expect(api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))).toBe(true);
    try {
      expect(t.idle()).toBe(false);
      t.startRequest(info).end({ status: 200 });
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET']);
    } finally {
      api.trace.disable();
    }
  });
});
