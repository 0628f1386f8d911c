// A server that refuses streams (HTTP/2 RST_STREAM REFUSED_STREAM before any response, as an
// overloaded or draining server does): Istio's default retry policy names refused-stream, so the
// mesh replays what the caller sent to another endpoint. The replay buffer holds the caller's
// message by reference (call-replay-buffer.ts), so what arrives must still be exactly what was sent.

import { createServer, constants as h2, type Http2Server } from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentials, status, type Client } from '@grpc/grpc-js';
import type { Mesh, Route } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, meshOf, service } from './helpers/xds.ts';
import { bidi, clientStream, unary } from './helpers/calls.ts';

/** An HTTP/2 server that resets every stream it is offered with REFUSED_STREAM, counting them. */
async function startRefusingServer(): Promise<{ port: number; streams: () => number; close: () => Promise<void> }> {
  let streams = 0;
  const server: Http2Server = createServer();
  server.on('stream', (stream) => {
    streams++;
    // The reset is this server's answer; node reports it on the stream as an error too.
    stream.on('error', () => {});
    stream.close(h2.NGHTTP2_REFUSED_STREAM);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, streams: () => streams, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The route's retry policy as xDS writes it (RouteAction.retry_policy). */
type RetryPolicy = NonNullable<NonNullable<Route['route']>['retryPolicy']>;

const PREVIOUS_HOSTS = [{ name: 'envoy.retry_host_predicates.previous_hosts' }];
const policy = (retryOn: string): RetryPolicy => ({ retryOn, numRetries: 2, retryHostPredicate: PREVIOUS_HOSTS, hostSelectionRetryMaxAttempts: 5, retryBackOff: { baseInterval: '0.001s' } });

let good: EchoServer;
let refusing: Awaited<ReturnType<typeof startRefusingServer>>;
beforeAll(async () => {
  good = await startEchoServer('good');
  refusing = await startRefusingServer();
});
afterAll(async () => { await Promise.all([good.close(), refusing.close()]); });

let mesh: Mesh | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await mesh?.close();
  client = mesh = undefined;
  good.calls.length = 0;
});

function connect(retry: RetryPolicy | undefined): Client {
  mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x'), ...(retry ? { retryPolicy: retry } : {}) } }]), cluster(C('x'), [refusing.port, good.port])]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
  return client;
}

describe('a refused stream', () => {
  it('is retried on another endpoint under refused-stream, with the unary message replayed as sent', async () => {
    const c = connect(policy('refused-stream'));
    const before = refusing.streams();
    // Round robin sends every other first attempt to the refusing server.
    for (let i = 0; i < 6; i++) expect((await unary(c, { text: `m${i}` })).reply).toMatchObject({ server: 'good', text: `m${i}` });
    expect(refusing.streams() - before).toBeGreaterThanOrEqual(3);
    expect(good.calls.length).toBe(6);
  });

  it('is retried under Istio\'s default retryOn, replaying a 16 KiB unary message and a client stream', async () => {
    const c = connect(policy('connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes'));
    const big = 'z'.repeat(16 * 1024);
    const before = refusing.streams();
    for (let i = 0; i < 4; i++) {
      expect((await unary(c, { text: `${big}${i}` })).reply.text).toBe(`${big}${i}`);
      expect(await clientStream(c, [`a${i}`, 'b', 'c'])).toMatchObject({ server: 'good', text: `a${i},b,c`, count: 3 });
      expect((await bidi(c, [`x${i}`, 'y'])).map((r) => `${r.server}:${r.text}`)).toEqual([`good:x${i}`, 'good:y']);
    }
    expect(refusing.streams() - before).toBeGreaterThanOrEqual(6);
  });

  it('reaches the caller as UNAVAILABLE naming the cluster when the route does not retry', async () => {
    const c = connect(undefined);
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => unary(c, { text: `m${i}` }).then(() => undefined, (e: { code: number; details: string }) => e)));
    const failed = results.filter((e) => e !== undefined);
    // Two of the four first attempts went to the refusing endpoint, and nothing retried them.
    expect(failed.length).toBe(2);
    for (const e of failed) {
      expect(e!.code).toBe(status.UNAVAILABLE);
      expect(e!.details).toContain(C('x'));
    }
  });
});
