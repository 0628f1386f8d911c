// Per-cluster endpoint choice through mesh:///: the cluster's own balancer from core
// (ROUND_ROBIN, LEAST_REQUEST, RANDOM), endpoint changes taking effect on the live channel, and
// "no healthy upstream" when a cluster has nobody to send to.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentials, status, type Client } from '@grpc/grpc-js';
import { HTTP2_STREAMS_BEFORE_SPREAD, type Mesh } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, meshOf, service } from './helpers/xds.ts';
import { unary, unaryError } from './helpers/calls.ts';

let a: EchoServer, b: EchoServer, c3: EchoServer;
beforeAll(async () => {
  a = await startEchoServer('a');
  b = await startEchoServer('b');
  c3 = await startEchoServer('c');
});
afterAll(async () => { await Promise.all([a, b, c3].map((s) => s.close())); });

let mesh: Mesh | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await mesh?.close();
  client = mesh = undefined;
  for (const s of [a, b, c3]) { s.calls.length = 0; s.behaviour = {}; }
});

type Lb = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';
function connect(ports: number[], lb: Lb): Client {
  mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x') } }]), cluster(C('x'), ports, lb)]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
  return client;
}

async function tally(c: Client, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const s = (await unary(c)).reply.server;
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

describe('endpoint balancing', () => {
  it('ROUND_ROBIN rotates over every endpoint', async () => {
    const c = connect([a.port, b.port, c3.port], 'ROUND_ROBIN');
    expect(await tally(c, 300)).toEqual({ a: 100, b: 100, c: 100 });
  });

  it('RANDOM spreads calls over every endpoint', async () => {
    const c = connect([a.port, b.port], 'RANDOM');
    const t = await tally(c, 1000);
    // Binomial(1000, 0.5): sd ≈ 15.8; ±8 sd.
    expect(Math.abs((t['a'] ?? 0) - 500)).toBeLessThan(127);
  });

  it('LEAST_REQUEST sends most calls to the endpoint with fewer in flight', async () => {
    // `a` holds every call it gets (for longer than the test), so its in-flight count only
    // grows, while `b` answers at once. Each call is sent once the previous one has reached a
    // server. Power-of-two choices then lands on `a` only when both candidates are `a` (1 in 4),
    // however loaded this machine is; round robin would give `a` half. 200 calls: `a` expects
    // 50 (sd 6.1); the bound of 80 is 4.9 sd away.
    a.behaviour = { delayMs: 5000 };
    const c = connect([a.port, b.port], 'LEAST_REQUEST');
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const seen = a.calls.length + b.calls.length;
      calls.push(unary(c).catch(() => undefined));
      while (a.calls.length + b.calls.length === seen) await new Promise((r) => setTimeout(r, 1));
    }
    expect(a.calls.length + b.calls.length).toBe(200);
    expect(a.calls.length).toBeGreaterThan(0);
    expect(a.calls.length).toBeLessThan(80);
    // Closing the client cancels the held calls.
    client!.close();
    await Promise.all(calls);
  });

  it('follows endpoint changes on a live channel', async () => {
    const c = connect([a.port], 'ROUND_ROBIN');
    expect((await unary(c)).reply.server).toBe('a');
    mesh!.applyResources(meshResources([b.port]), 'test');
    expect(await tally(c, 4)).toEqual({ b: 4 });
  });

  it('fails fast with UNAVAILABLE "no healthy upstream" naming the cluster', async () => {
    const c = connect([], 'ROUND_ROBIN');
    const err = await unaryError(c);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain(`meshlet: no healthy upstream in cluster ${C('x')}: the cluster has no endpoints`);
    expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_NO_HEALTHY_UPSTREAM']);
  });
});

function meshResources(ports: number[]) {
  const parts = [service([{ match: { prefix: '/' }, route: { cluster: C('x') } }]), cluster(C('x'), ports, 'ROUND_ROBIN')];
  return {
    listeners: new Map(parts.flatMap((p) => (p.listener ? [[p.listener.name, p.listener] as const] : []))),
    routeConfigs: new Map(parts.flatMap((p) => (p.routeConfig ? [[p.routeConfig.name, p.routeConfig] as const] : []))),
    clusters: new Map(parts.flatMap((p) => (p.cluster ? [[p.cluster.name, p.cluster] as const] : []))),
    endpoints: new Map(parts.flatMap((p) => (p.cla ? [[p.cla.clusterName, p.cla] as const] : []))),
  };
}

describe('consistent hashing', () => {
  it('RING_HASH sends every call with the same metadata key to the same endpoint', async () => {
    mesh = meshOf([
      service([{ match: { prefix: '/' }, route: { cluster: C('x'), hashPolicy: [{ header: { headerName: 'x-user' } }] } }]),
      cluster(C('x'), [a.port, b.port, c3.port], 'RING_HASH'),
    ]);
    register(mesh);
    client = new EchoClient(TARGET, credentials.createInsecure());
    const homes = new Map<string, Set<string>>();
    for (let u = 0; u < 30; u++) {
      for (let i = 0; i < 5; i++) {
        const server = (await unary(client, {}, { headers: { 'x-user': `user-${u}` } })).reply.server;
        let set = homes.get(`user-${u}`);
        if (!set) homes.set(`user-${u}`, (set = new Set()));
        set.add(server);
      }
    }
    // Sticky: one endpoint per user...
    for (const servers of homes.values()) expect(servers.size).toBe(1);
    // ...and the users spread over the ring (30 keys on 3 hosts all landing on one has
    // probability about 3 × (1/3)^30).
    expect(new Set([...homes.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
  });
});

describe('connections to an endpoint', () => {
  const peers = (s: EchoServer) => {
    const out: Record<string, number> = {};
    for (const call of s.calls) out[call.peer] = (out[call.peer] ?? 0) + 1;
    return Object.values(out);
  };
  // `n` calls in flight at once on `a`, which holds each for a while so none ends before the last starts.
  const held = async (c: Client, n: number) => {
    a.behaviour = { delayMs: 300 };
    await Promise.all(Array.from({ length: n }, () => unary(c)));
  };

  it('one while fewer than HTTP2_STREAMS_BEFORE_SPREAD (8) calls run on it: calls one at a time', async () => {
    expect(HTTP2_STREAMS_BEFORE_SPREAD).toBe(8);
    const c = connect([a.port, b.port], 'ROUND_ROBIN');
    await tally(c, 16);
    expect(peers(a)).toEqual([8]);
    expect(peers(b)).toEqual([8]);
  });

  it('one for 8 calls running at once', async () => {
    await held(connect([a.port], 'ROUND_ROBIN'), 8);
    expect(peers(a)).toEqual([8]);
  });

  it('under load a second one takes the calls past 8, as a sidecar\'s second worker would', async () => {
    await held(connect([a.port], 'ROUND_ROBIN'), 12);
    expect(peers(a)).toEqual([8, 4]);
  });

  it('one per endpoint when tcp.maxConnections leaves one each', async () => {
    mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x') } }]), cluster(C('x'), [a.port], 'ROUND_ROBIN', { maxConnections: 1 })]);
    register(mesh);
    client = new EchoClient(TARGET, credentials.createInsecure());
    await held(client, 12);
    expect(peers(a)).toEqual([12]);
  });
});
