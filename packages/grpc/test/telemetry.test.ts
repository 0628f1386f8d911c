// gRPC calls in OpenTelemetry, through the same MeshTelemetry as HTTP: one client span per call
// (rpc.system grpc, the method, the mesh's route and cluster) with one child span per attempt,
// the retry reason on a retried attempt, and the rpc duration metric with the gRPC status.
// The SDK (a dev dependency of @meshlet/http) stands in for the application's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { createMesh, silentLogger } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary } from './helpers/calls.ts';

const sdk = createRequire(new URL('../../http/package.json', import.meta.url));
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = sdk('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
const { MeterProvider, MetricReader } = sdk('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

let good: EchoServer, bad: EchoServer;
let dir: string;
beforeAll(async () => {
  good = await startEchoServer('good');
  bad = await startEchoServer('bad', { failWith: { code: status.UNAVAILABLE } });
  dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-otel-'));
  writeFileSync(join(dir, 'mesh.yaml'), `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${bad.port} } }
    - { address: 127.0.0.1, ports: { grpc: ${good.port} } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo]
  http:
    - name: all
      retries: { attempts: 2, retryOn: unavailable }
      route: [{ destination: { host: echo } }]
`);
});
afterAll(async () => {
  await Promise.all([good.close(), bad.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('telemetry', () => {
  it('records a call span with one child span per attempt, and the rpc duration with the status', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, telemetry: { tracerProvider, meterProvider } });
    register(mesh);
    const c = new EchoClient('mesh:///echo.default.svc.cluster.local:9000', credentials.createInsecure());
    try {
      for (let i = 0; i < 4; i++) expect((await unary(c)).reply.server).toBe('good');
    } finally {
      c.close();
      await mesh.close();
    }
    const spans = exporter.getFinishedSpans();
    const calls = spans.filter((s) => !s.parentSpanContext);
    expect(calls.length).toBe(4);
    for (const call of calls) {
      expect(call.attributes['rpc.system']).toBe('grpc');
      expect(call.attributes['rpc.method']).toBe('/test.Echo/Unary');
      expect(String(call.attributes['meshlet.cluster'])).toContain('echo.default.svc.cluster.local');
    }
    const attempts = spans.filter((s) => s.parentSpanContext);
    // Round robin puts every other first attempt on `bad`; each of those is retried.
    const retried = attempts.filter((s) => s.attributes['meshlet.retry.reason'] === 'grpc_status_14');
    expect(retried.length).toBeGreaterThan(0);
    expect(attempts.length).toBe(4 + retried.length);
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.descriptor.name));
    expect(names.some((n) => n.startsWith('rpc.client'))).toBe(true);
  });
});
