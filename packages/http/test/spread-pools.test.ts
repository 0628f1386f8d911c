// An HTTP/2 endpoint's pools (EndpointPools with spread 2, as MeshAgent gives an HTTP/2 cluster's
// endpoints): the first connection takes requests until 8 are in flight on it
// (HTTP2_STREAMS_BEFORE_SPREAD), the rest go to the less busy one; once the server has closed
// both connections nothing in use is left, so the endpoint's pool is dropped as an unused
// HTTP/1.1 one is. Real sockets: a node:http2 server in plaintext (h2c), undici's pools as
// MeshAgent builds them.

import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { request, type Pool } from 'undici';
import { HTTP2_STREAMS_BEFORE_SPREAD } from '@meshlet/core';
import { EndpointPools } from '../src/cluster-transports.ts';

const H2C: Pool.Options & { useH2c: boolean } = { allowH2: true, useH2c: true, h2Options: { useH2c: true } };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function h2cServer() {
  const sessions = new Map<Http2Session, number>();
  const server = createServer((req, res) => {
    const s = req.stream.session!;
    sessions.set(s, (sessions.get(s) ?? 0) + 1);
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sessions };
}

const concurrently = (pools: EndpointPools, origin: string, n: number) =>
  Promise.all(Array.from({ length: n }, async () => (await request(`${origin}/`, { dispatcher: pools })).body.text()));

describe('an HTTP/2 endpoint over two pools', () => {
  it('keeps up to 8 requests in flight on one connection', async () => {
    expect(HTTP2_STREAMS_BEFORE_SPREAD).toBe(8);
    const { origin, sessions } = await h2cServer();
    const pools = new EndpointPools(H2C, undefined, 2);
    cleanups.push(() => pools.close());
    expect(await concurrently(pools, origin, 8)).toEqual(Array(8).fill('ok'));
    for (let i = 0; i < 5; i++) await concurrently(pools, origin, 1);
    expect([...sessions.values()]).toEqual([13]);
  });

  it('spreads the requests past 8 to the less busy connection, and is dropped once the server has closed both', async () => {
    const { origin, sessions } = await h2cServer();
    const pools = new EndpointPools(H2C, undefined, 2);
    cleanups.push(() => pools.close());
    expect(await concurrently(pools, origin, 20)).toEqual(Array(20).fill('ok'));
    // 8 on the first; then the second has fewer until both hold 8; the last four alternate, ties to the first.
    expect([...sessions.values()]).toEqual([10, 10]);
    expect(pools.size).toBe(1);
    const before = pools.generation;

    for (const s of sessions.keys()) s.close();
    await expect.poll(() => pools.size, { timeout: 5000 }).toBe(0);
    expect(pools.generation).toBe(before + 1);

    // The next request opens the endpoint's pools again.
    expect(await concurrently(pools, origin, 1)).toEqual(['ok']);
    expect(pools.size).toBe(1);
  });

  it('keeps the pool while one of its connections is still up', async () => {
    const { origin, sessions } = await h2cServer();
    const pools = new EndpointPools(H2C, undefined, 2);
    cleanups.push(() => pools.close());
    await concurrently(pools, origin, 16);
    expect(sessions.size).toBe(2);
    const [first] = sessions.keys();
    first!.close();
    await once(first!, 'close');
    // The disconnect has been seen (a microtask later) and the other connection kept the pool.
    await new Promise((r) => setTimeout(r, 50));
    expect(pools.size).toBe(1);
  });
});
