// Route timeouts as the call's deadline (unless the caller's is shorter) and fault injection,
// through mesh:/// against real grpc-js servers.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentials, status, type Client } from '@grpc/grpc-js';
import type { Mesh, Route } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, meshOf, service } from './helpers/xds.ts';
import { clientStream, unary, unaryError } from './helpers/calls.ts';

const FAULT = 'envoy.filters.http.fault';
const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

let fast: EchoServer, slow: EchoServer;
beforeAll(async () => {
  fast = await startEchoServer('fast');
  slow = await startEchoServer('slow', { delayMs: 300 });
});
afterAll(async () => { await Promise.all([fast.close(), slow.close()]); });

let mesh: Mesh | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await mesh?.close();
  client = mesh = undefined;
  fast.calls.length = slow.calls.length = 0;
});

function connect(route: Route, port: number): Client {
  mesh = meshOf([service([route]), cluster(C('x'), [port])]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
  return client;
}

function fault(config: object): Route['typedPerFilterConfig'] {
  return { [FAULT]: { '@type': FAULT_TYPE, ...config } };
}

describe('route timeout', () => {
  it('ends a slow call with DEADLINE_EXCEEDED naming the route', async () => {
    const c = connect({ name: 'slow-route', match: { prefix: '/' }, route: { cluster: C('x'), timeout: '0.1s' } }, slow.port);
    const started = Date.now();
    const err = await unaryError(c);
    const took = Date.now() - started;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toContain('upstream request timeout: route slow-route allows 100 ms');
    expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_ROUTE_TIMEOUT']);
    // The server would have answered after 300 ms; the route's 100 ms ended the call first.
    expect(took).toBeGreaterThanOrEqual(95);
  });

  it('lets a shorter caller deadline win', async () => {
    const c = connect({ name: 'slow-route', match: { prefix: '/' }, route: { cluster: C('x'), timeout: '5s' } }, slow.port);
    const err = await unaryError(c, {}, { deadlineMs: 60 });
    // grpc-js's own deadline message, not the route's: the caller's 60 ms won over the route's 5 s.
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).not.toContain('upstream request timeout');
  });

  it('tells the server the time left (grpc-timeout), the route timeout when it is the shorter', async () => {
    const c = connect({ match: { prefix: '/' }, route: { cluster: C('x'), timeout: '2s' } }, fast.port);
    await unary(c, {}, { deadlineMs: 60_000 });
    const left = fast.calls[0]!.deadlineInMs;
    expect(left).toBeLessThanOrEqual(2000);
    expect(left).toBeGreaterThan(1500);
    await unary(c, {}, { deadlineMs: 1000 });
    expect(fast.calls[1]!.deadlineInMs).toBeLessThanOrEqual(1000);
  });
});

describe('fault injection', () => {
  it('delays the call', async () => {
    const c = connect({ match: { prefix: '/' }, route: { cluster: C('x') }, typedPerFilterConfig: fault({ delay: { fixedDelay: '0.15s', percentage: { numerator: 100 } } }) }, fast.port);
    const started = Date.now();
    expect((await unary(c)).reply.server).toBe('fast');
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('delays a client stream on a route without retries and delivers every message in order', async () => {
    // No retry policy: the call makes one attempt and keeps nothing for replay, yet what the
    // caller wrote during the delay and while the connection opened still reaches the server.
    const c = connect({ match: { prefix: '/' }, route: { cluster: C('x') }, typedPerFilterConfig: fault({ delay: { fixedDelay: '0.1s', percentage: { numerator: 100 } } }) }, fast.port);
    expect(await clientStream(c, ['a', 'b', 'c', 'd'])).toMatchObject({ server: 'fast', text: 'a,b,c,d', count: 4 });
    expect(await clientStream(c, ['e', 'f'])).toMatchObject({ server: 'fast', text: 'e,f', count: 2 });
  });

  it('aborts with the configured gRPC status, without reaching the server', async () => {
    const c = connect({ name: 'broken', match: { prefix: '/' }, route: { cluster: C('x') }, typedPerFilterConfig: fault({ abort: { grpcStatus: status.RESOURCE_EXHAUSTED, percentage: { numerator: 100 } } }) }, fast.port);
    const err = await unaryError(c);
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe('meshlet: fault filter abort (grpc-status 8) by route broken');
    expect(fast.calls.length).toBe(0);
  });

  it('maps an HTTP abort status to the gRPC status Envoy would send', async () => {
    for (const [http, grpc] of [[503, status.UNAVAILABLE], [404, status.UNIMPLEMENTED], [403, status.PERMISSION_DENIED], [418, status.UNKNOWN]] as const) {
      const c = connect({ match: { prefix: '/' }, route: { cluster: C('x') }, typedPerFilterConfig: fault({ abort: { httpStatus: http, percentage: { numerator: 100 } } }) }, fast.port);
      const err = await unaryError(c);
      expect(err.code).toBe(grpc);
      expect(err.details).toContain(`HTTP ${http}`);
      client!.close();
      await mesh!.close();
    }
  });

  it('aborts about the configured share of calls', async () => {
    const c = connect({ match: { prefix: '/' }, route: { cluster: C('x') }, typedPerFilterConfig: fault({ abort: { grpcStatus: status.UNAVAILABLE, percentage: { numerator: 30 } } }) }, fast.port);
    // Connected before the burst: on a loaded machine 1,000 calls queued behind the first
    // connection could outlast the cluster's connect timeout, failing calls the fault never touched.
    await new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
    const n = 1000;
    const results = await Promise.allSettled(Array.from({ length: n }, () => unary(c)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code: number; details: string }] : []));
    const aborted = errors.filter((e) => e.code === status.UNAVAILABLE && e.details.includes('fault filter abort')).length;
    expect(errors.length - aborted, errors.find((e) => !e.details.includes('fault filter abort'))?.details).toBe(0);
    // Binomial(1000, 0.3): sd ≈ 14.5; ±8 sd.
    expect(Math.abs(aborted - 300)).toBeLessThan(116);
    expect(fast.calls.length).toBe(n - aborted);
  });
});
