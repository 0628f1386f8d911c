// MeshHttpAgent's own behaviour beyond the compatibility matrix: when the decision is taken,
// connection pooling and limits, aborts, upgrades, https:// requests, `agent: false`, and every
// counter back to zero when traffic stops.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { installGlobalAgents, MeshHttpAgent, MeshHttpsAgent } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';
import { webEndpoint, writeWebMesh, WEB_FQDN } from './helpers/web-mesh.ts';
import { createPki, type Pki } from './helpers/mtls.ts';

let a: TestServer, b: TestServer, slow: TestServer;
let connections = { a: 0, b: 0 };
beforeAll(async () => {
  a = await startServer('a');
  b = await startServer('b');
  slow = await startServer('slow', (_req, res) => { setTimeout(() => res.end('slow'), 300); });
  a.server.on('connection', () => connections.a++);
  b.server.on('connection', () => connections.b++);
});
afterAll(async () => { await Promise.all([a, b, slow].map((s) => s.close())); });

let mesh: Mesh | undefined;
let agent: MeshHttpAgent | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await agent?.close();
  await mesh?.close();
  agent = mesh = undefined;
  connections = { a: 0, b: 0 };
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** writeWebMesh, with the folder removed after the test. */
function webMesh(...args: Parameters<typeof writeWebMesh>): string {
  const dir = writeWebMesh(...args);
  dirs.push(dir);
  return dir;
}

async function meshWith(trafficPolicy: string, rules: string, endpoints = [webEndpoint(a.port, ', labels: { v: a }'), webEndpoint(b.port, ', labels: { v: b }')]): Promise<MeshHttpAgent> {
  const dir = webMesh(endpoints, trafficPolicy, rules);
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
  agent = new MeshHttpAgent({ mesh });
  return agent;
}

const SUBSETS = `    loadBalancer: { simple: ROUND_ROBIN }
  subsets:
  - { name: a, labels: { v: a } }
  - { name: b, labels: { v: b } }`;

function get(url: string, opts: http.RequestOptions = {}): Promise<{ status: number; body: string; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, res }));
    }).on('error', reject);
  });
}

const stats = (cluster: string) => mesh!.snapshot.clusters.get(cluster)!.runtime.stats();

describe('MeshHttpAgent', () => {
  it('decides when the head is written: headers set after http.request() route the request', async () => {
    await meshWith(SUBSETS, `  - match: [{ headers: { x-to: { exact: b } } }]
    route: [{ destination: { host: web, subset: b } }]
  - route: [{ destination: { host: web, subset: a } }]`);
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request('http://web/', { agent }, (res) => { let s = ''; res.on('data', (d: Buffer) => { s += d; }); res.on('end', () => resolve(s)); });
      req.on('error', reject);
      req.setHeader('x-to', 'b');
      req.end();
    });
    expect(body).toBe('b');
  });

  it('keeps one keep-alive connection per endpoint, and shares tcp.maxConnections out per endpoint', async () => {
    await meshWith('    connectionPool: { tcp: { maxConnections: 1 } }', '  - route: [{ destination: { host: web } }]', [webEndpoint(a.port)]);
    for (let i = 0; i < 5; i++) expect((await get('http://web/')).body).toBe('a');
    expect(connections.a).toBe(1);
    const all = await Promise.all(Array.from({ length: 6 }, () => get('http://web/')));
    expect(all.every((r) => r.body === 'a')).toBe(true);
    expect(connections.a).toBe(1);
  });

  it('closes a connection after maxRequestsPerConnection requests', async () => {
    await meshWith('    connectionPool: { http: { maxRequestsPerConnection: 2 } }', '  - route: [{ destination: { host: web } }]', [webEndpoint(a.port)]);
    for (let i = 0; i < 6; i++) await get('http://web/');
    expect(connections.a).toBe(3);
  });

  it('ends a request the caller destroys while it waits (a fault delay), as Node does, and frees every counter', async () => {
    await meshWith('    loadBalancer: { simple: ROUND_ROBIN }', `  - fault: { delay: { fixedDelay: 200ms, percentage: { value: 100 } } }
    route: [{ destination: { host: web } }]`, [webEndpoint(a.port)]);
    const hits = a.hits;
    const events: string[] = [];
    await new Promise<void>((resolve) => {
      const req = http.get('http://web/', { agent });
      req.on('error', (e: NodeJS.ErrnoException) => events.push(`error ${e.code}`));
      req.on('close', () => { events.push('close'); resolve(); });
      setTimeout(() => req.destroy(), 50);
    });
    expect(events).toEqual(['error ECONNRESET', 'close']);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.hits).toBe(hits);
    const s = stats(`outbound|80||${WEB_FQDN}`);
    expect([s.upstream_rq_active, s.upstream_rq_pending_active]).toEqual([0, 0]);
  });

  it('hands an upgraded (101) connection to the caller and ends the request', async () => {
    const upgrader = http.createServer();
    upgrader.on('upgrade', (_req, socket) => { socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n'); });
    await new Promise<void>((r) => upgrader.listen(0, '127.0.0.1', r));
    try {
      await meshWith('    loadBalancer: { simple: ROUND_ROBIN }', '  - route: [{ destination: { host: web } }]', [webEndpoint((upgrader.address() as AddressInfo).port)]);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request('http://web/', { agent, headers: { connection: 'Upgrade', upgrade: 'test' } });
        req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode ?? 0); });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(101);
      expect(stats(`outbound|80||${WEB_FQDN}`).upstream_rq_active).toBe(0);
    } finally {
      upgrader.close();
    }
  });

  it('returns every counter to zero when traffic stops (timeouts, faults, resets and successes mixed)', async () => {
    await meshWith(`    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool: { http: { http2MaxRequests: 4 } }`, `  - match: [{ uri: { prefix: /slow } }]
    timeout: 100ms
    route: [{ destination: { host: web } }]
  - fault: { abort: { httpStatus: 503, percentage: { value: 30 } } }
    route: [{ destination: { host: web } }]`, [webEndpoint(a.port), webEndpoint(slow.port)]);
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => get(i % 3 === 0 ? 'http://web/slow' : 'http://web/')));
    expect(results.some((r) => r.status === 'rejected')).toBe(true);
    expect(results.some((r) => r.status === 'fulfilled' && r.value.status === 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    const s = stats(`outbound|80||${WEB_FQDN}`);
    expect([s.upstream_rq_active, s.upstream_rq_pending_active]).toEqual([0, 0]);
    for (const e of mesh!.snapshot.clusters.get(`outbound|80||${WEB_FQDN}`)!.endpoints) expect(e.active).toBe(0);
  });

  it('sends hosts outside the mesh through its own pooling, unchanged', async () => {
    await meshWith(SUBSETS, '  - route: [{ destination: { host: web, subset: b } }]');
    expect((await get(`http://127.0.0.1:${a.port}/x`)).body).toBe('a');
  });

  it('is what `agent: false` builds once installed as the global agent', async () => {
    const dir = webMesh([webEndpoint(b.port)], '    loadBalancer: { simple: ROUND_ROBIN }', '  - route: [{ destination: { host: web } }]');
    mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
    const restore = installGlobalAgents(mesh);
    try {
      expect((await get('http://web/', { agent: false })).body).toBe('b');
      expect((await get('http://web/', { agent: undefined })).body).toBe('b');
    } finally {
      await restore();
    }
    expect(http.globalAgent).not.toBeInstanceOf(MeshHttpAgent);
    expect(() => new MeshHttpAgent()).toThrow(/needs \{ mesh \}/);
  });
});

describe('MeshHttpsAgent', () => {
  let pki: Pki;
  let tlsServer: https.Server;
  let tlsPort = 0;
  beforeAll(async () => {
    pki = createPki();
    const dir = pki.issue('web', 'web');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    tlsServer = https.createServer({ key: read('key.pem'), cert: read('cert-chain.pem') }, (_req, res) => res.end('tls'));
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsPort = (tlsServer.address() as AddressInfo).port;
  });
  afterAll(() => { tlsServer.closeAllConnections(); tlsServer.close(); pki.cleanup(); });

  it("routes an https:// request to a mesh host with the caller's own TLS, and passes other hosts through", async () => {
    const dir = webMesh([webEndpoint(tlsPort)], '    loadBalancer: { simple: ROUND_ROBIN }', '  - route: [{ destination: { host: web } }]');
    mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
    // The ServiceEntry's port is 80: an https:// URL to web:80 is routed to the TLS endpoint.
    const tlsAgent = new MeshHttpsAgent({ mesh, rejectUnauthorized: false });
    const fetchOne = (url: string) => new Promise<string>((resolve, reject) => {
      https.get(url, { agent: tlsAgent }, (res) => { let s = ''; res.on('data', (d: Buffer) => { s += d; }); res.on('end', () => resolve(s)); }).on('error', reject);
    });
    try {
      expect(await fetchOne('https://web:80/')).toBe('tls');
      expect(await fetchOne(`https://127.0.0.1:${tlsPort}/`)).toBe('tls');
      expect(stats(`outbound|80||${WEB_FQDN}`).upstream_rq_total).toBe(1);
    } finally {
      await tlsAgent.close();
    }
  });
});
