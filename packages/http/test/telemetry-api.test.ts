// The Telemetry API (telemetry.istio.io) on Meshlet's OpenTelemetry instruments, through a real
// MeshAgent and server, with the SDK's in-memory exporters: random sampling (statistical, with a
// tolerance that cannot flake, and the sampled flag sent upstream), custom tags (literal,
// header, environment), disabled span reporting, a metric disabled, tags removed and added, and
// the selection order root namespace < namespace < workload.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { context, propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let reader: TestReader;
let server: TestServer;
let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  server = await startServer('web');
});
afterAll(async () => {
  context.disable();
  propagation.disable();
  await server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(async () => {
  await agent?.destroy();
  await mesh?.close();
  agent = undefined;
  mesh = undefined;
  exporter.reset();
  server.requests.length = 0;
});

const SERVICE = () => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${server.port} } }]`;

const telemetry = (name: string, ns: string, spec: string) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ${name}, namespace: ${ns} }
spec:
${spec.replace(/^/gm, '  ')}`;

async function start(docs: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-telemetry-api-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'mesh.yaml'), [SERVICE(), ...docs].join('\n---\n'));
  reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, namespace: 'default', labels: { app: 'frontend' }, telemetry: { tracerProvider, meterProvider } });
  agent = new MeshAgent({ mesh });
}

async function send(n: number, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < n; i++) await (await request('http://web/x', { dispatcher: agent!, headers })).body.dump();
}

const requestSpans = () => exporter.getFinishedSpans().filter((s) => s.attributes['meshlet.route'] !== undefined);

async function metric(name: string) {
  const { resourceMetrics } = await reader.collect();
  return find(resourceMetrics, name);
}
function find(rm: ResourceMetrics, name: string) {
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) return m;
  return undefined;
}

describe('tracing', () => {
  it('randomSamplingPercentage samples that share of requests and tells the upstream', async () => {
    await start([telemetry('mesh-default', 'istio-system', 'tracing: [{ randomSamplingPercentage: 50 }]')]);
    const N = 400;
    await send(N);
    const sampled = requestSpans().length;
    // Binomial(400, 0.5): mean 200, sd 10; ±70 is 7 sd.
    expect(sampled).toBeGreaterThan(130);
    expect(sampled).toBeLessThan(270);
    const flags = server.requests.map((r) => String(r.headers['traceparent']).slice(-2));
    expect(flags.filter((f) => f === '01')).toHaveLength(sampled);
    expect(flags.filter((f) => f === '00')).toHaveLength(N - sampled);
  });

  it('0 and 100 percent are exact', async () => {
    await start([telemetry('t', 'istio-system', 'tracing: [{ randomSamplingPercentage: 0 }]')]);
    await send(50);
    expect(requestSpans()).toHaveLength(0);
    await agent!.destroy(); await mesh!.close();
    await start([telemetry('t', 'istio-system', 'tracing: [{ randomSamplingPercentage: 100 }]')]);
    await send(50);
    expect(requestSpans()).toHaveLength(50);
  });

  it('customTags: literal, header (with its default) and environment', async () => {
    process.env['MESHLET_TEST_POD'] = 'frontend-7f9';
    try {
      await start([telemetry('tags', 'default', `tracing:
- customTags:
    team: { literal: { value: payments } }
    user: { header: { name: x-user, defaultValue: anonymous } }
    pod: { environment: { name: MESHLET_TEST_POD } }
    zone: { environment: { name: MESHLET_TEST_UNSET, defaultValue: none } }`)]);
    } finally {
      delete process.env['MESHLET_TEST_POD'];
    }
    await send(1, { 'x-user': 'alice' });
    await send(1);
    const [a, b] = requestSpans();
    expect(a!.attributes).toMatchObject({ team: 'payments', user: 'alice', pod: 'frontend-7f9', zone: 'none' });
    expect(b!.attributes).toMatchObject({ user: 'anonymous' });
  });

  it('disableSpanReporting records no span but still measures the request', async () => {
    await start([telemetry('quiet', 'default', 'tracing: [{ disableSpanReporting: true }]')]);
    await send(5);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    const m = await metric('http.client.request.duration');
    expect(m?.dataPoints.reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(5);
  });

  it('a workload Telemetry overrides the namespace and root ones; another namespace\'s is ignored', async () => {
    await start([
      telemetry('mesh-default', 'istio-system', 'tracing: [{ randomSamplingPercentage: 0, customTags: { level: { literal: { value: root } } } }]'),
      telemetry('ns-default', 'default', 'tracing: [{ customTags: { level: { literal: { value: namespace } } } }]'),
      telemetry('frontend', 'default', 'selector: { matchLabels: { app: frontend } }\ntracing: [{ randomSamplingPercentage: 100 }]'),
      telemetry('other-app', 'default', 'selector: { matchLabels: { app: backend } }\ntracing: [{ disableSpanReporting: true }]'),
      telemetry('elsewhere', 'prod', 'tracing: [{ disableSpanReporting: true }]'),
    ]);
    await send(3);
    const spans = requestSpans();
    expect(spans).toHaveLength(3);
    expect(spans[0]!.attributes['level']).toBe('namespace');
    expect(mesh!.telemetry!.policy.from).toEqual(['istio-system/mesh-default', 'default/ns-default', 'default/frontend']);
  });
});

describe('metrics', () => {
  it('a disabled metric is not recorded; the others are', async () => {
    await start([telemetry('no-duration', 'istio-system', 'metrics:\n- overrides:\n  - match: { metric: REQUEST_DURATION, mode: CLIENT }\n    disabled: true')]);
    await send(3);
    expect(await metric('http.client.request.duration')).toBeUndefined();
    const count = await metric('meshlet.client.requests');
    expect(count?.dataPoints.reduce((n, p) => n + (p.value as number), 0)).toBe(3);
  });

  it('a SERVER-only override leaves the client\'s metrics alone', async () => {
    await start([telemetry('server-only', 'istio-system', 'metrics:\n- overrides:\n  - match: { metric: ALL_METRICS, mode: SERVER }\n    disabled: true')]);
    await send(2);
    expect(await metric('http.client.request.duration')).toBeDefined();
  });

  it('tags are removed and added: literals, headers, Istio label names', async () => {
    await start([telemetry('tags', 'default', `metrics:
- overrides:
  - match: { metric: REQUEST_COUNT }
    tagOverrides:
      http.request.method: { operation: REMOVE }
      response_code: { operation: REMOVE }
      team: { value: "'payments'" }
      user: { value: "request.headers['x-user']" }
      path: { value: request.url_path }`)]);
    await send(2, { 'x-user': 'alice' });
    const count = await metric('meshlet.client.requests');
    expect(count?.dataPoints).toHaveLength(1);
    const attrs = count!.dataPoints[0]!.attributes;
    expect(attrs['http.request.method']).toBeUndefined();
    expect(attrs['http.response.status_code']).toBeUndefined();
    expect(attrs).toMatchObject({ team: 'payments', user: 'alice', path: '/x', 'server.address': 'web' });
    // The duration histogram had no overrides: its attributes are untouched.
    const duration = await metric('http.client.request.duration');
    expect(duration!.dataPoints[0]!.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
  });

  it('ALL_METRICS disabled at the root, re-enabled by a namespace override of one metric', async () => {
    await start([
      telemetry('off', 'istio-system', 'metrics:\n- overrides:\n  - match: { metric: ALL_METRICS }\n    disabled: true'),
      telemetry('on', 'default', 'metrics:\n- overrides:\n  - match: { metric: REQUEST_COUNT }\n    tagOverrides: { team: { value: "\'web\'" } }'),
    ]);
    await send(1);
    expect(await metric('meshlet.client.requests')).toBeDefined();
    expect(await metric('http.client.request.duration')).toBeDefined();
    await agent!.destroy(); await mesh!.close();
    await start([telemetry('off', 'istio-system', 'metrics:\n- overrides:\n  - match: { metric: ALL_METRICS }\n    disabled: true')]);
    await send(1);
    expect(await metric('meshlet.client.requests')).toBeUndefined();
    expect(await metric('http.client.request.duration')).toBeUndefined();
  });
});
