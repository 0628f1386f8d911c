// Spans, metrics, observe mode and the admin pages, against real servers on 127.0.0.1, with
// the OpenTelemetry SDK's in-memory exporters standing in for an application's SDK.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createAdminHandler, createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';
import { tempDir } from '../../core/test/temp-dir.ts';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let reader: TestReader;
let meterProvider: MeterProvider;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await agent?.destroy();
  await mesh?.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  exporter.reset();
});

async function meshWith(yaml: string, extra: Parameters<typeof createMesh>[0] = {}): Promise<void> {
  const dir = tempDir('otel');
  writeFileSync(join(dir, 'mesh.yaml'), yaml);
  reader = new TestReader();
  meterProvider = new MeterProvider({ readers: [reader] });
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, telemetry: { tracerProvider, meterProvider }, ...extra });
  agent = new MeshAgent({ mesh });
}

function serviceYaml(host: string, port: number, endpointPorts: number[], vs = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc, namespace: default }
spec:
  hosts: [${host}]
  resolution: STATIC
  ports: [{ number: ${port}, name: http }]
  endpoints:
${endpointPorts.map((p) => `    - { address: 127.0.0.1, ports: { http: ${p} }, labels: { version: v1 } }`).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: ${host}
  subsets: [{ name: v1, labels: { version: v1 } }]
${vs}`;
}

function metric(rm: ResourceMetrics, name: string) {
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) return m;
  return undefined;
}

describe('traces', () => {
  it('one span per request and per attempt, with mesh attributes, and traceparent from the attempt span', async () => {
    let calls = 0;
    const flaky = await startServer('flaky', (_req, res) => { res.statusCode = ++calls === 1 ? 503 : 200; res.end(); });
    servers.push(flaky);
    await meshWith(serviceYaml('reviews.default.svc.cluster.local', 9080, [flaky.port], `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
    - name: to-v1
      route: [{ destination: { host: reviews, subset: v1 } }]
      retries: { attempts: 2, retryOn: 5xx }
`));
    const parent = tracerProvider.getTracer('test').startSpan('caller');
    const res = await context.with(trace.setSpan(context.active(), parent), () => request('http://reviews:9080/r', { dispatcher: agent }));
    await res.body.dump();
    parent.end();
    expect(res.statusCode).toBe(200);

    const spans = exporter.getFinishedSpans();
    const logical = spans.filter((s) => s.attributes['meshlet.route'] !== undefined);
    expect(logical).toHaveLength(1);
    const req = logical[0]!;
    expect(req.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(req.name).toBe('GET');
    expect(req.attributes).toMatchObject({
      'http.request.method': 'GET', 'server.address': 'reviews', 'server.port': 9080, 'http.response.status_code': 200,
      'meshlet.route': 'to-v1', 'meshlet.config': 'VirtualService default/reviews',
      'meshlet.cluster': 'outbound|9080|v1|reviews.default.svc.cluster.local', 'meshlet.subset': 'v1',
    });
    const attempts = spans.filter((s) => s.parentSpanContext?.spanId === req.spanContext().spanId).sort((a, b) => (a.startTime[1] - b.startTime[1]) + 1e9 * (a.startTime[0] - b.startTime[0]));
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.attributes).toMatchObject({ 'http.response.status_code': 503, 'meshlet.retry.reason': 'status_503', 'network.peer.address': '127.0.0.1' });
    expect(attempts[0]!.attributes['http.request.resend_count']).toBeUndefined();
    expect(attempts[1]!.attributes).toMatchObject({ 'http.response.status_code': 200, 'http.request.resend_count': 1 });
    // The server saw the attempt span as its parent, in the caller's trace.
    const tp = flaky.requests.at(-1)!.headers['traceparent'] as string;
    expect(tp).toBe(`00-${parent.spanContext().traceId}-${attempts[1]!.spanContext().spanId}-01`);
  });

  it("spans: 'request' emits only the logical span, for use beside undici's auto-instrumentation", async () => {
    const s = await startServer('s');
    servers.push(s);
    const dir = tempDir('otel');
    writeFileSync(join(dir, 'mesh.yaml'), serviceYaml('web.default.svc.cluster.local', 80, [s.port]));
    mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, telemetry: { tracerProvider, spans: 'request', metrics: false } });
    agent = new MeshAgent({ mesh });
    await (await request('http://web/', { dispatcher: agent })).body.dump();
    const spans: ReadableSpan[] = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes['meshlet.cluster']).toBe('outbound|80||web.default.svc.cluster.local');
    expect(s.requests.at(-1)!.headers['traceparent']).toMatch(new RegExp(`^00-${spans[0]!.spanContext().traceId}-${spans[0]!.spanContext().spanId}-01$`));
  });
});

describe('metrics', () => {
  it('records request duration, retries, overflows and cluster gauges', async () => {
    let calls = 0;
    const s = await startServer('s', (_req, res) => { res.statusCode = ++calls % 2 === 1 ? 503 : 200; res.end(); });
    servers.push(s);
    await meshWith(serviceYaml('web.default.svc.cluster.local', 80, [s.port], `  trafficPolicy:
    connectionPool: { http: { http2MaxRequests: 1 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web]
  http:
    - route: [{ destination: { host: web } }]
      retries: { attempts: 1, retryOn: 5xx }
`));
    for (let i = 0; i < 3; i++) await (await request('http://web/', { dispatcher: agent })).body.dump();
    // Two at once against max_requests 1: one overflows.
    await Promise.allSettled([request('http://web/', { dispatcher: agent }).then((r) => r.body.dump()), request('http://web/', { dispatcher: agent }).then((r) => r.body.dump())]);
    const { resourceMetrics } = await reader.collect();
    const duration = metric(resourceMetrics, 'http.client.request.duration')!;
    expect(duration.descriptor.unit).toBe('s');
    const points = duration.dataPoints as { attributes: Record<string, unknown>; value: { count: number } }[];
    const ok = points.find((p) => p.attributes['http.response.status_code'] === 200 && p.attributes['meshlet.cluster'] === 'outbound|80||web.default.svc.cluster.local')!;
    expect(ok.value.count).toBeGreaterThanOrEqual(3);
    expect(points.some((p) => p.attributes['error.type'] === 'MESHLET_OVERFLOW')).toBe(true);
    const retries = metric(resourceMetrics, 'meshlet.client.retries')!.dataPoints as { attributes: Record<string, unknown>; value: number }[];
    expect(retries.find((p) => p.attributes['meshlet.retry.reason'] === 'status_503')!.value).toBeGreaterThanOrEqual(2);
    const overflows = metric(resourceMetrics, 'meshlet.client.overflows')!.dataPoints as { attributes: Record<string, unknown>; value: number }[];
    expect(overflows[0]!.attributes['meshlet.overflow.limit']).toBe('max_requests');
    const active = metric(resourceMetrics, 'meshlet.cluster.active_requests')!.dataPoints as { attributes: Record<string, unknown>; value: number }[];
    expect(active.find((p) => p.attributes['meshlet.cluster'] === 'outbound|80||web.default.svc.cluster.local')!.value).toBe(0);
    expect((metric(resourceMetrics, 'meshlet.config.version')!.dataPoints[0] as { value: number }).value).toBe(1);
  });
});

describe('observe mode', () => {
  it('records the decision but sends the request where it would go without the mesh', async () => {
    const addressed = await startServer('addressed');
    const routed = await startServer('routed');
    servers.push(addressed, routed);
    // The mesh would send localhost:<addressed> to the `routed` server.
    const yaml = serviceYaml('localhost', addressed.port, [routed.port]);
    await meshWith(yaml, { mode: 'observe' });
    const r = await request(`http://localhost:${addressed.port}/x`, { dispatcher: agent });
    expect(await r.body.text()).toBe('addressed');
    expect(routed.hits).toBe(0);
    const span = exporter.getFinishedSpans().find((s) => s.attributes['meshlet.mode'] === 'observe')!;
    expect(span.attributes['meshlet.cluster']).toBe(`outbound|${addressed.port}||localhost.default.svc.cluster.local`);
    expect(span.attributes['http.response.status_code']).toBe(200);
    // No traceparent from the mesh on the wire in observe mode: nothing changed.
    expect(addressed.requests.at(-1)!.headers['traceparent']).toBeUndefined();
    await agent!.destroy();
    await mesh!.close();
    await meshWith(yaml);
    const r2 = await request(`http://localhost:${addressed.port}/x`, { dispatcher: agent });
    expect(await r2.body.text()).toBe('routed');
  });
});

describe('admin handler', () => {
  let admin: Server;
  let base = '';
  beforeAll(async () => {
    admin = createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => admin.close(() => r())));
  let handler: ReturnType<typeof createAdminHandler> = (_q, s) => s.end();

  it('serves config_dump, clusters, stats and explain for a live mesh', async () => {
    const s = await startServer('s');
    servers.push(s);
    await meshWith(serviceYaml('web.default.svc.cluster.local', 80, [s.port]));
    handler = createAdminHandler(mesh!, { prefix: '/meshlet' });
    await (await request('http://web/', { dispatcher: agent })).body.dump();
    const get = async (p: string) => { const r = await request(base + p); return { status: r.statusCode, body: await r.body.text() }; };
    const dump = JSON.parse((await get('/meshlet/config_dump')).body);
    expect(dump.version).toBe(1);
    expect(dump.listeners.map((l: { name: string }) => l.name)).toContain('web.default.svc.cluster.local:80');
    const csds = JSON.parse((await get('/meshlet/config_dump?format=csds')).body);
    expect(csds.config[0].genericXdsConfigs.some((g: { name: string; clientStatus: string }) => g.name === 'web.default.svc.cluster.local:80' && g.clientStatus === 'ACKED')).toBe(true);
    const clusters = JSON.parse((await get('/meshlet/clusters')).body) as { name: string; endpoints: { address: string; healthy: boolean; ejected: boolean }[]; stats: Record<string, number> }[];
    const c = clusters.find((x) => x.name === 'outbound|80||web.default.svc.cluster.local')!;
    expect(c.endpoints).toEqual([expect.objectContaining({ address: `127.0.0.1:${s.port}`, healthy: true, ejected: false })]);
    expect(c.stats.upstream_rq_total).toBe(1);
    const stats = (await get('/meshlet/stats')).body;
    expect(stats).toContain('cluster.outbound|80||web.default.svc.cluster.local.upstream_rq_total: 1');
    const explain = JSON.parse((await get('/meshlet/explain?url=' + encodeURIComponent('http://web/'))).body);
    expect(explain.clusters[0].name).toBe('outbound|80||web.default.svc.cluster.local');
    expect((await get('/meshlet/explain')).status).toBe(400);
    expect((await get('/meshlet/nope')).status).toBe(404);
  });
});
