// MeshAgent's connection pools per endpoint (cluster-transports.ts): each attempt goes straight to
// its endpoint's undici pool. Proven against real servers on 127.0.0.1 that count their sockets:
// the DestinationRule's connection limits still hold across a cluster's endpoints, and an
// endpoint that leaves the config has its connections closed at once (requests in flight on it
// finish) while the others keep theirs.

import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestHandler, type TestServer } from './helpers/servers.ts';
import { WEB_FQDN, webEndpoint, writeWebMesh } from './helpers/web-mesh.ts';

const CLUSTER = `outbound|80||${WEB_FQDN}`;
const ROUTE = '    - route: [{ destination: { host: web } }]\n      retries: { attempts: 0 }';

interface Counted extends TestServer {
  /** Sockets open now, the most ever open at once, accepted and closed so far. */
  open: number;
  peak: number;
  accepted: number;
  closed: number;
}

let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await agent?.destroy();
  await mesh?.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  agent = mesh = undefined;
});

async function counted(name: string, handler?: TestHandler): Promise<Counted> {
  const s = await startServer(name, handler) as Counted;
  s.open = s.peak = s.accepted = s.closed = 0;
  // Idle keep-alive connections stay up far longer than any test: a socket that closes was closed by the client.
  s.server.keepAliveTimeout = 60_000;
  s.server.on('connection', (socket) => {
    s.accepted++;
    s.peak = Math.max(s.peak, ++s.open);
    socket.on('close', () => { s.open--; s.closed++; });
  });
  servers.push(s);
  return s;
}

async function meshFor(dir: string, watch = false): Promise<void> {
  mesh = await createMesh({ config: dir, watch, logger: silentLogger });
  expect(mesh.problems).toEqual([]);
  agent = new MeshAgent({ mesh });
}

async function get(path = '/'): Promise<string> {
  const res = await request(`http://web${path}`, { dispatcher: agent });
  const body = await res.body.text();
  expect(res.statusCode).toBe(200);
  return body;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const slow: TestHandler = (_req, res) => setTimeout(() => res.end('slow'), 150);

describe('connection limits with a pool per endpoint', () => {
  it('shares tcp.maxConnections out over the endpoints: never more than the cluster allows', async () => {
    const a = await counted('a', slow);
    const b = await counted('b', slow);
    await meshFor(writeWebMesh([webEndpoint(a.port), webEndpoint(b.port)], `    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool:
      tcp: { maxConnections: 4 }
      http: { http1MaxPendingRequests: 1000 }`, ROUTE));
    const bodies = await Promise.all(Array.from({ length: 24 }, () => get()));
    expect(bodies.every((x) => x === 'slow')).toBe(true);
    // 12 requests each, 150 ms apiece: without the limit each endpoint would take 12 connections.
    expect(a.hits).toBe(12);
    expect(b.hits).toBe(12);
    expect(a.peak).toBe(2);
    expect(b.peak).toBe(2);
  });

  it('a cluster of one endpoint gets one connection at maxConnections 1 (requests queue on it)', async () => {
    const a = await counted('a', slow);
    await meshFor(writeWebMesh([webEndpoint(a.port)], `    connectionPool:
      tcp: { maxConnections: 1 }
      http: { http1MaxPendingRequests: 1000 }`, ROUTE));
    await Promise.all(Array.from({ length: 5 }, () => get()));
    expect(a.hits).toBe(5);
    expect(a.accepted).toBe(1);
  });
});

describe('pool lifetimes', () => {
  it('closes the connections of an endpoint that leaves the config; requests in flight on it finish, the others keep theirs', async () => {
    let held: (() => void) | undefined;
    const hold: TestHandler = (req, res) => {
      if (req.url === '/hold') held = () => res.end('held');
      else res.end('b');
    };
    const a = await counted('a');
    const b = await counted('b', hold);
    const policy = `    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool:
      tcp: { idleTimeout: 60s }`;
    const dir = writeWebMesh([webEndpoint(a.port), webEndpoint(b.port)], policy, ROUTE);
    await meshFor(dir, true);
    // Round robin: both endpoints get requests and each keeps one idle connection open.
    for (let i = 0; i < 4; i++) await get();
    expect([a.hits, b.hits]).toEqual([2, 2]);
    expect([a.open, b.open]).toEqual([1, 1]);
    // A request on b still waiting for its answer when b leaves the config.
    let inFlight: Promise<string> | undefined;
    while (!inFlight) {
      const before = a.hits;
      const p = get('/hold');
      await until('the request to reach a server', () => held !== undefined || a.hits > before);
      if (held) inFlight = p;
      else await p;
    }
    const next = new Promise<void>((resolve) => {
      const off = mesh!.subscribe((s) => { if (s.clusters.get(CLUSTER)?.endpoints.length === 1) { off(); resolve(); } });
    });
    const aHits = a.hits;
    rewrite(dir, [webEndpoint(a.port)], policy);
    await next;
    // b's pool closes gracefully: the request in flight gets its answer, then the connection goes.
    held!();
    expect(await inFlight).toBe('held');
    await until('b\'s connection to close', () => b.open === 0);
    // a's pool stays: later requests reuse its connection.
    for (let i = 0; i < 3; i++) expect(await get()).toBe('a');
    expect(a.hits).toBe(aHits + 3);
    // (undici may open a second one when a request follows the last answer at once.)
    expect(a.closed).toBe(0);
    expect(b.accepted).toBe(1);
  });

  it('a pool dropped after its server closed the idle connection is opened anew for the next request', async () => {
    const a = await counted('a');
    // The server closes idle connections quickly; the client's pool then has nothing left and goes.
    a.server.keepAliveTimeout = 50;
    await meshFor(writeWebMesh([webEndpoint(a.port)], '    loadBalancer: { simple: ROUND_ROBIN }', ROUTE));
    for (let round = 1; round <= 3; round++) {
      expect(await get()).toBe('a');
      await until('the idle connection to close', () => a.closed === round);
      // Let the pool's disconnect handling (a microtask after the event) drop it.
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await get()).toBe('a');
    expect(a.accepted).toBe(4);
  });

  it('reopens a pool for an endpoint that comes back', async () => {
    const a = await counted('a');
    const b = await counted('b');
    const policy = '    loadBalancer: { simple: ROUND_ROBIN }';
    const dir = writeWebMesh([webEndpoint(a.port), webEndpoint(b.port)], policy, ROUTE);
    await meshFor(dir, true);
    for (let i = 0; i < 2; i++) await get();
    const endpoints = (n: number) => new Promise<void>((resolve) => {
      const off = mesh!.subscribe((s) => { if (s.clusters.get(CLUSTER)?.endpoints.length === n) { off(); resolve(); } });
    });
    let next = endpoints(1);
    rewrite(dir, [webEndpoint(a.port)], policy);
    await next;
    await until('b\'s connection to close', () => b.open === 0);
    next = endpoints(2);
    rewrite(dir, [webEndpoint(a.port), webEndpoint(b.port)], policy);
    await next;
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await get());
    expect(seen).toEqual(new Set(['a', 'b']));
    expect(b.accepted).toBe(2);
    expect(b.open).toBe(1);
  });
});

/**
 * Rewrites the web mesh in `dir` with these endpoints (its watcher picks it up), atomically: a
 * file rewritten in place can be read empty, a config without the cluster for a moment.
 */
function rewrite(dir: string, endpoints: string[], policy: string): void {
  const fresh = writeWebMesh(endpoints, policy, ROUTE);
  writeFileSync(join(dir, 'mesh.yaml.tmp'), readFileSync(join(fresh, 'mesh.yaml')));
  renameSync(join(dir, 'mesh.yaml.tmp'), join(dir, 'mesh.yaml'));
}
