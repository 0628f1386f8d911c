// The compatibility matrix: every feature of the README's table, driven through one client per
// test file (so each file is one row, and a failing cell names its client and feature).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import type { MatrixClient } from './clients.ts';
import { errorChain, startWorld, type World } from './world.ts';

const FQDN = (s: string) => `${s}.default.svc.cluster.local`;

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    const r = await p;
    throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  } catch (err) {
    return errorChain(err);
  }
}

/** Runs `n` sends, `concurrency` at a time. */
async function many<T>(n: number, concurrency: number, one: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) { next++; out.push(await one()); }
  }));
  return out;
}

export function runMatrix(client: MatrixClient): void {
  let root: string;
  let world: World;
  let mesh: Mesh;
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const stats = (cluster: string) => mesh.snapshot.clusters.get(cluster)!.runtime.stats();

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    root = mkdtempSync(join(tmpdir(), 'meshlet-matrix-'));
    world = await startWorld(root);
    mesh = await createMesh({ config: world.config, certs: world.clientCerts, watch: false, logger: silentLogger, telemetry: { tracerProvider } });
    expect(mesh.problems).toEqual([]);
    await client.setup(mesh);
  }, 60_000);
  afterAll(async () => {
    await client.teardown();
    await mesh?.close();
    await world?.close();
    rmSync(root, { recursive: true, force: true });
    context.disable();
    propagation.disable();
  });

  describe(client.name, () => {
    it('routing: a header route, a rewrite with a header set, the logical Host kept', async () => {
      expect((await client.send('http://web/r', { 'x-to': 'b' })).body).toBe('b');
      expect(world.servers.b.requests.at(-1)!.headers.host).toBe('web');
      const rewritten = await client.send('http://web/v2/items?q=1');
      expect(rewritten.body).toBe('b');
      const seen = world.servers.b.requests.at(-1)!;
      expect(seen.url).toBe('/items?q=1');
      expect(seen.headers['x-mesh']).toBe('rewritten');
    });

    it('splits: 80/20 by weight within a tolerance that cannot flake', async () => {
      const n = 600;
      const bodies = await many(n, 10, async () => (await client.send('http://web/')).body);
      const b = bodies.filter((x) => x === 'b').length;
      expect(bodies.filter((x) => x === 'a').length + b).toBe(n);
      // Binomial(600, 0.2): sd ≈ 9.8; ±6.5 sd (±64) leaves a flake chance below 1e-10.
      expect(Math.abs(b - 120)).toBeLessThan(64);
    });

    it('retries: a refused connection is retried on another endpoint (Istio default: connect-failure)', async () => {
      const before = stats(`outbound|80||${FQDN('flaky')}`);
      const replies = await many(20, 4, () => client.send('http://flaky/'));
      expect(replies.every((r) => r.status === 200 && r.body === 'flaky-ok')).toBe(true);
      const after = stats(`outbound|80||${FQDN('flaky')}`);
      expect(after.upstream_cx_connect_fail - before.upstream_cx_connect_fail).toBeGreaterThan(0);
      expect(after.upstream_rq_retry - before.upstream_rq_retry).toBe(after.upstream_cx_connect_fail - before.upstream_cx_connect_fail);
    });

    it(client.replays
      ? 'retries: a 503 is retried on another endpoint (retryOn 5xx)'
      : 'retries: a 503 reaches the caller (the request was sent; node:http cannot replay it)', async () => {
      const replies = await many(20, 1, () => client.send('http://retry5xx/'));
      if (client.replays) {
        expect(replies.every((r) => r.status === 200)).toBe(true);
      } else {
        // ROUND_ROBIN over a 503 endpoint and a live one: about half answer 503, as sent.
        expect(replies.filter((r) => r.status === 503).length).toBeGreaterThan(0);
        expect(replies.filter((r) => r.status === 200).length).toBeGreaterThan(0);
      }
    });

    it('timeouts: the route timeout fails the request with RouteTimeoutError', async () => {
      const t0 = performance.now();
      const chain = await failure(client.send('http://web/slow'));
      expect(chain).toContain('MESHLET_ROUTE_TIMEOUT');
      expect(performance.now() - t0).toBeLessThan(1400);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    });

    it('faults: an abort answers 503 locally; a delay holds the request', async () => {
      const hits = world.servers.a.hits;
      const aborted = await client.send('http://web/abort');
      expect(aborted).toEqual({ status: 503, body: 'fault filter abort' });
      expect(world.servers.a.hits).toBe(hits);
      const t0 = performance.now();
      expect((await client.send('http://web/delay')).body).toBe('a');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    });

    it('breakers: over http2MaxRequests the request fails at once with OverflowError', async () => {
      const results = await Promise.allSettled([client.send('http://guarded/'), client.send('http://guarded/')]);
      const ok = results.filter((r) => r.status === 'fulfilled' && r.value.body === 'held');
      const refused = results.filter((r) => r.status === 'rejected').map((r) => errorChain((r as PromiseRejectedResult).reason));
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toContain('MESHLET_OVERFLOW');
      expect(refused[0]).toContain('max_requests');
    });

    it('outlier: an endpoint answering 5xx is ejected, and traffic goes to the healthy one', async () => {
      const first = await many(4, 1, () => client.send('http://ejecting/'));
      expect(first.some((r) => r.status === 503)).toBe(true);
      expect(stats(`outbound|80||${FQDN('ejecting')}`)['outlier_detection.ejections_active']).toBe(1);
      const hitsBad = world.servers.ejBad.hits;
      const after = await many(20, 2, () => client.send('http://ejecting/'));
      expect(after.every((r) => r.status === 200 && r.body === 'ej-good')).toBe(true);
      expect(world.servers.ejBad.hits).toBe(hitsBad);
    });

    it('mTLS: ISTIO_MUTUAL presents the workload identity and checks the server\'s SPIFFE ID', async () => {
      const ok = await client.send('http://secure/');
      expect(ok).toEqual({ status: 200, body: world.clientId });
      const chain = await failure(client.send('http://imposter/'));
      expect(chain).toContain('peer identity mismatch');
      expect(chain).toContain('spiffe://cluster.local/ns/default/sa/imposter');
    });

    it('telemetry: a client span with the decision, and its trace context sent upstream', async () => {
      exporter.reset();
      await client.send('http://web/r', { 'x-to': 'b' });
      const spans = exporter.getFinishedSpans().filter((s) => s.attributes['meshlet.cluster'] === `outbound|80|b|${FQDN('web')}`);
      expect(spans).toHaveLength(1);
      expect(spans[0]!.attributes['http.response.status_code']).toBe(200);
      const traceparent = world.servers.b.requests.at(-1)!.headers['traceparent'];
      expect(typeof traceparent).toBe('string');
      expect(String(traceparent).split('-')[1]).toBe(spans[0]!.spanContext().traceId);
    });
  });
}
