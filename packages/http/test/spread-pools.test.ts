// An HTTP/2 endpoint's pools (EndpointPools with spread 2, as MeshAgent gives an HTTP/2 cluster's
// endpoints): requests alternate between two connections, and once the server has closed both,
// nothing in use is left, so the endpoint's pool is dropped as an unused HTTP/1.1 one is.
// Real sockets: a node:http2 server in plaintext (h2c), undici's pools as MeshAgent builds them.

import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { request, type Pool } from 'undici';
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

describe('an HTTP/2 endpoint over two pools', () => {
  it('hands requests to its two connections in turn, and is dropped once the server has closed both', async () => {
    const { origin, sessions } = await h2cServer();
    const pools = new EndpointPools(H2C, undefined, 2);
    cleanups.push(() => pools.close());
    const bodies = await Promise.all(Array.from({ length: 10 }, async () => (await request(`${origin}/`, { dispatcher: pools })).body.text()));
    expect(bodies).toEqual(Array(10).fill('ok'));
    expect([...sessions.values()]).toEqual([5, 5]);
    expect(pools.size).toBe(1);
    const before = pools.generation;

    for (const s of sessions.keys()) s.close();
    await expect.poll(() => pools.size, { timeout: 5000 }).toBe(0);
    expect(pools.generation).toBe(before + 1);

    // The next request opens the endpoint's pools again.
    expect(await (await request(`${origin}/`, { dispatcher: pools })).body.text()).toBe('ok');
    expect(pools.size).toBe(1);
  });

  it('keeps the pool while one of its connections is still up', async () => {
    const { origin, sessions } = await h2cServer();
    const pools = new EndpointPools(H2C, undefined, 2);
    cleanups.push(() => pools.close());
    await Promise.all(Array.from({ length: 2 }, async () => (await request(`${origin}/`, { dispatcher: pools })).body.dump()));
    expect(sessions.size).toBe(2);
    const [first] = sessions.keys();
    first!.close();
    await once(first!, 'close');
    // The disconnect has been seen (a microtask later) and the other connection kept the pool.
    await new Promise((r) => setTimeout(r, 50));
    expect(pools.size).toBe(1);
  });
});
