// Every slot the mesh takes for a call is given back: after a mix of successes, server
// failures, retries, per-try and route timeouts, overflows and caller cancellations, each
// endpoint's in-flight count and each cluster's active, pending and retry counters are zero.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, status, type Client } from '@grpc/grpc-js';
import type { Mesh, RetryPolicy } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, deadPort, meshOf, service } from './helpers/xds.ts';
import { serverStream, unary } from './helpers/calls.ts';

let good: EchoServer, bad: EchoServer, slow: EchoServer;
let mesh: Mesh;
let client: Client;

beforeAll(async () => {
  good = await startEchoServer('good');
  bad = await startEchoServer('bad', { failWith: { code: status.UNAVAILABLE } });
  slow = await startEchoServer('slow', { delayMs: 150 });
  const retry: RetryPolicy = { retryOn: 'unavailable,connect-failure,reset', numRetries: 2, perTryTimeout: '0.05s', retryBackOff: { baseInterval: '0.001s' }, retryHostPredicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }], hostSelectionRetryMaxAttempts: 3 };
  mesh = meshOf([
    service([
      { match: { prefix: '/', headers: [{ name: 'x-route', stringMatch: { exact: 'timeout' } }] }, route: { cluster: C('slow'), timeout: '0.08s' } },
      { match: { prefix: '/' }, route: { cluster: C('mixed'), retryPolicy: retry } },
    ]),
    cluster(C('mixed'), [good.port, bad.port, slow.port, await deadPort()], 'RANDOM', { maxRequests: 40, maxRetries: 10 }),
    cluster(C('slow'), [slow.port]),
  ]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await mesh.close();
  await Promise.all([good, bad, slow].map((s) => s.close()));
});

describe('slot accounting', () => {
  it('returns every counter to zero when traffic stops', async () => {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      const kind = i % 4;
      if (kind === 0) work.push(unary(client).catch(() => undefined));
      if (kind === 1) work.push(unary(client, {}, { headers: { 'x-route': 'timeout' } }).catch(() => undefined));
      if (kind === 2) work.push(serverStream(client, 3));
      if (kind === 3) {
        // Cancelled by the caller while in flight.
        work.push(new Promise<void>((resolve) => {
          const call = (client as unknown as { unary(r: object, md: Metadata, o: object, cb: () => void): { cancel(): void } })
            .unary({}, new Metadata(), {}, () => resolve());
          setTimeout(() => call.cancel(), i % 3);
        }));
      }
    }
    await Promise.all(work);
    // Attempts cancelled by the mesh finish their bookkeeping synchronously; give grpc-js a moment to deliver the last statuses.
    await new Promise((r) => setTimeout(r, 200));
    for (const name of [C('mixed'), C('slow')]) {
      const c = mesh.snapshot.clusters.get(name)!;
      const s = c.runtime.stats();
      expect({ name, active: s.upstream_rq_active, pending: s.upstream_rq_pending_active }).toEqual({ name, active: 0, pending: 0 });
      expect(c.runtime.activeRetries).toBe(0);
      for (const e of c.endpoints) expect({ endpoint: e.key, active: e.active }).toEqual({ endpoint: e.key, active: 0 });
      expect(s.upstream_rq_total).toBeGreaterThan(0);
    }
    expect(mesh.snapshot.clusters.get(C('mixed'))!.runtime.stats().upstream_rq_retry).toBeGreaterThan(0);
  });
});
