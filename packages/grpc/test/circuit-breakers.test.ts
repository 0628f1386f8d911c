// The cluster's circuit breakers and outlier detection, shared with the HTTP adapter through
// core's ClusterRuntime: http2MaxRequests (max_requests) and max_retries fail fast with
// UNAVAILABLE and a message that says the mesh refused; consecutive UNAVAILABLE statuses eject
// an endpoint.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import type { Cluster, Mesh, RetryPolicy } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, meshOf, service } from './helpers/xds.ts';
import { unary } from './helpers/calls.ts';

let slow: EchoServer, good: EchoServer, bad: EchoServer;
beforeAll(async () => {
  slow = await startEchoServer('slow', { delayMs: 200 });
  good = await startEchoServer('good');
  bad = await startEchoServer('bad', { failWith: { code: status.UNAVAILABLE, details: 'bad is down' } });
});
afterAll(async () => { await Promise.all([slow, good, bad].map((s) => s.close())); });

let mesh: Mesh | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await mesh?.close();
  client = mesh = undefined;
  for (const s of [slow, good, bad]) s.calls.length = 0;
});

function connect(part: ReturnType<typeof cluster>, retryPolicy?: RetryPolicy): Client {
  mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x'), ...(retryPolicy && { retryPolicy }) } }]), part]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
  return client;
}

const stats = () => mesh!.snapshot.clusters.get(C('x'))!.runtime.stats();

describe('circuit breakers', () => {
  it('fail calls over http2MaxRequests at once with UNAVAILABLE, saying the mesh refused them', async () => {
    const c = connect(cluster(C('x'), [slow.port], 'ROUND_ROBIN', { maxRequests: 2 }));
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => unary(c)));
    // Two run; three are refused before anything is sent.
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(2);
    expect(slow.calls.length).toBe(2);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ServiceError] : []));
    expect(refused.length).toBe(3);
    for (const err of refused) {
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toContain('circuit-breaker limit max_requests=2 (DestinationRule connectionPool.http.http2MaxRequests)');
      expect(err.details).toContain('the mesh failed the request without sending it');
      expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_OVERFLOW']);
    }
    expect(stats().upstream_rq_pending_overflow).toBe(3);
    // Every slot comes back when the calls end.
    await new Promise((r) => setTimeout(r, 250));
    expect(stats().upstream_rq_active).toBe(0);
  });

  it('stop retrying past max_retries (upstream_rq_retry_overflow)', async () => {
    const policy: RetryPolicy = { retryOn: 'unavailable', numRetries: 3, retryBackOff: { baseInterval: '0.05s' } };
    const c = connect(cluster(C('x'), [bad.port], 'ROUND_ROBIN', { maxRetries: 1 }), policy);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => unary(c)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(stats().upstream_rq_retry_overflow).toBeGreaterThan(0);
    // Without the limit each call would have made 4 attempts.
    expect(bad.calls.length).toBeLessThan(24);
  });
});

describe('outlier detection', () => {
  it('ejects an endpoint after consecutive UNAVAILABLE statuses', async () => {
    const part = cluster(C('x'), [bad.port, good.port], 'ROUND_ROBIN');
    (part.cluster as Cluster).outlierDetection = { consecutive5xx: 2, baseEjectionTime: '30s', maxEjectionPercent: 100, interval: '10s' };
    const c = connect(part);
    const results = await (async () => {
      const out: boolean[] = [];
      for (let i = 0; i < 20; i++) out.push(await unary(c).then(() => true, () => false));
      return out;
    })();
    expect(bad.calls.length).toBe(2);
    expect(results.filter((ok) => !ok).length).toBe(2);
    expect(stats()['outlier_detection.ejections_active']).toBe(1);
  });
});
