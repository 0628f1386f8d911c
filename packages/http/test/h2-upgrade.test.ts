// DestinationRule connectionPool.http.h2UpgradePolicy (and MeshConfig h2UpgradePolicy) on real
// sockets: MeshAgent speaks HTTP/2 to the upstream exactly when istiod would make the cluster
// HTTP/2 — over mesh mTLS by ALPN, in plaintext by prior knowledge (h2c), as Envoy does — and
// HTTP/1.1 otherwise. Each server reports the protocol the request arrived on.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer, createServer as createH2cServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { createMesh, silentLogger, spiffeIdOf, type Mesh, type MeshConfigSpec } from '@meshlet/core';
type Logger = typeof silentLogger;
import { MeshAgent, MeshHttpAgent } from '@meshlet/http';
import { get as httpGet } from 'node:http';
import { FQDN, clientConfig, createPki, failure, id, type Pki } from './helpers/mtls.ts';

let pki: Pki;
beforeAll(() => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('sleep', 'sleep');
});
afterAll(() => pki.cleanup());

interface Upstream {
  port: number;
  connections: number;
  /** Requests served, per connection (an HTTP/2 session, or an HTTP/1.1 socket), in the order the connections came. */
  streams: Map<object, number>;
  close(): Promise<void>;
}
const upstreams: Upstream[] = [];
let mesh: Mesh | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await mesh?.close();
  mesh = undefined;
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

type Answer = { version: string; alpn: string | null; peer: string | null };
function answer(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const h2 = req.httpVersion === '2.0';
  const socket = (h2 ? (req as Http2ServerRequest).stream.session!.socket : req.socket) as TLSSocket;
  const tls = typeof socket.getPeerCertificate === 'function';
  const body: Answer = { version: req.httpVersion, alpn: tls ? (socket.alpnProtocol || null) : null, peer: tls ? spiffeIdOf(socket.getPeerCertificate().subjectaltname) ?? null : null };
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function listen(server: Server): Promise<Upstream> {
  const sockets = new Set<import('node:net').Socket>();
  const u: Upstream = {
    port: 0,
    connections: 0,
    streams: new Map(),
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
  server.on('connection', (s: import('node:net').Socket) => { u.connections++; sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('request', (req: IncomingMessage | Http2ServerRequest) => {
    const connection = req.httpVersion === '2.0' ? (req as Http2ServerRequest).stream.session! : req.socket;
    u.streams.set(connection, (u.streams.get(connection) ?? 0) + 1);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.port = (server.address() as AddressInfo).port;
  upstreams.push(u);
  return u;
}

const tlsOf = () => {
  const d = pki.dir('reviews');
  return { key: readFileSync(join(d, 'key.pem')), cert: readFileSync(join(d, 'cert-chain.pem')), ca: readFileSync(join(d, 'root-cert.pem')), requestCert: true, rejectUnauthorized: true };
};
/** mTLS, HTTP/2 and HTTP/1.1 both (ALPN picks). */
const h2Tls = () => listen(createSecureServer({ ...tlsOf(), allowHTTP1: true }, answer) as unknown as Server);
/** mTLS, HTTP/1.1 only. */
const h1Tls = () => listen(createHttpsServer(tlsOf(), answer));
/** Plaintext HTTP/2 by prior knowledge only. */
const h2c = () => listen(createH2cServer(answer) as unknown as Server);
/** Plaintext HTTP/1.1 only. */
const h1 = () => listen(createHttpServer(answer));

interface Setup {
  port: number;
  tls: boolean;
  http?: Record<string, unknown>;
  tcp?: Record<string, unknown>;
  meshConfig?: MeshConfigSpec;
  /** The ServiceEntry port's protocol; undefined: none (sniffed). */
  protocol?: string | undefined;
  logger?: Logger;
}

async function meshFor(s: Setup): Promise<Mesh> {
  const dir = clientConfig(join(pki.root, `cfg-${Math.random().toString(36).slice(2)}`), {
    port: s.port,
    tls: { mode: s.tls ? 'ISTIO_MUTUAL' : 'DISABLE' },
    protocol: 'protocol' in s ? s.protocol ?? null : 'HTTP',
    ...((s.http || s.tcp) && { trafficPolicy: { connectionPool: { ...(s.http && { http: s.http }), ...(s.tcp && { tcp: s.tcp }) } } }),
  });
  mesh = await createMesh({ config: dir, watch: false, logger: s.logger ?? silentLogger, certs: pki.dir('sleep'), ...(s.meshConfig && { meshConfig: s.meshConfig }) });
  return mesh;
}

async function agentFor(s: Setup): Promise<MeshAgent> {
  const agent = new MeshAgent({ mesh: await meshFor(s) });
  closers.push(() => agent.close());
  return agent;
}

async function get(agent: MeshAgent): Promise<Answer> {
  const res = await request(`http://${FQDN}:9080/`, { dispatcher: agent });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Answer;
}

describe('h2UpgradePolicy over mesh mTLS', () => {
  it('UPGRADE: HTTP/2 by ALPN h2, the workload identity presented, concurrent requests multiplexed on one connection', async () => {
    const u = await h2Tls();
    const agent = await agentFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'UPGRADE' } });
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(agent)));
    for (const a of answers) expect(a).toEqual({ version: '2.0', alpn: 'h2', peer: id('sleep') });
    expect(u.connections).toBe(1);
  });

  it('under load a second connection takes the streams past HTTP2_STREAMS_BEFORE_SPREAD (8) on the first, as a sidecar\'s second worker would', async () => {
    const u = await h2Tls();
    const agent = await agentFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'UPGRADE' } });
    const answers = await Promise.all(Array.from({ length: 16 }, () => get(agent)));
    expect(answers.every((a) => a.version === '2.0' && a.alpn === 'h2')).toBe(true);
    expect(u.connections).toBe(2);
    expect([...u.streams.values()]).toEqual([8, 8]);
  });

  it('tcp.maxConnections 1 keeps HTTP/2 to one connection per endpoint, every stream on it', async () => {
    const u = await h2Tls();
    const agent = await agentFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'UPGRADE' }, tcp: { maxConnections: 1 } });
    const answers = await Promise.all(Array.from({ length: 16 }, () => get(agent)));
    expect(answers.every((a) => a.version === '2.0')).toBe(true);
    expect(u.connections).toBe(1);
    expect([...u.streams.values()]).toEqual([16]);
  });

  it('a caller\'s connection header and a request body larger than a frame still go over HTTP/2', async () => {
    const u = await h2Tls();
    const agent = await agentFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'UPGRADE' } });
    const res = await request(`http://${FQDN}:9080/`, { dispatcher: agent, method: 'POST', body: 'x'.repeat(20000), headers: { connection: 'keep-alive', 'x-app': 'a' } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ version: '2.0' });
  });

  it('no policy (MeshConfig default DO_NOT_UPGRADE) and DEFAULT: HTTP/1.1 to the same server, with Istio\'s ALPN', async () => {
    const u = await h2Tls();
    expect(await get(await agentFor({ port: u.port, tls: true }))).toEqual({ version: '1.1', alpn: 'http/1.1', peer: id('sleep') });
    await mesh!.close();
    expect(await get(await agentFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'DEFAULT' } }))).toMatchObject({ version: '1.1' });
  });

  it('MeshConfig UPGRADE upgrades DEFAULT rules on HTTP ports; DO_NOT_UPGRADE and a sniffed port stay on HTTP/1.1', async () => {
    const u = await h2Tls();
    const meshConfig: MeshConfigSpec = { h2UpgradePolicy: 'UPGRADE' };
    expect(await get(await agentFor({ port: u.port, tls: true, meshConfig }))).toMatchObject({ version: '2.0', alpn: 'h2' });
    await mesh!.close();
    expect(await get(await agentFor({ port: u.port, tls: true, meshConfig, http: { h2UpgradePolicy: 'DO_NOT_UPGRADE' } }))).toMatchObject({ version: '1.1' });
    await mesh!.close();
    expect(await get(await agentFor({ port: u.port, tls: true, meshConfig, protocol: undefined }))).toMatchObject({ version: '1.1' });
  });

  it('useClientProtocol keeps HTTP/1.1: an undici dispatch carries no wire protocol to follow', async () => {
    const u = await h2Tls();
    expect(await get(await agentFor({ port: u.port, tls: true, http: { useClientProtocol: true } }))).toMatchObject({ version: '1.1' });
  });

  it('UPGRADE to a TLS server that speaks only HTTP/1.1: the server\'s ALPN choice stands, requests are served over HTTP/1.1', async () => {
    const u = await h1Tls();
    const agent = await agentFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'UPGRADE' } });
    expect(await get(agent)).toEqual({ version: '1.1', alpn: 'http/1.1', peer: id('sleep') });
  });

  it('maxConcurrentStreams bounds the streams of one connection: more requests open more connections', async () => {
    const u = await h2Tls();
    const agent = await agentFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'UPGRADE', maxConcurrentStreams: 2 } });
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(agent)));
    expect(answers.every((a) => a.version === '2.0')).toBe(true);
    expect(u.connections).toBeGreaterThan(1);
  });
});

describe('h2UpgradePolicy in plaintext', () => {
  it('UPGRADE: HTTP/2 with prior knowledge (h2c), as Envoy speaks to an HTTP/2 cluster', async () => {
    const u = await h2c();
    const agent = await agentFor({ port: u.port, tls: false, http: { h2UpgradePolicy: 'UPGRADE' } });
    const answers = await Promise.all(Array.from({ length: 12 }, () => get(agent)));
    for (const a of answers) expect(a).toEqual({ version: '2.0', alpn: null, peer: null });
    expect(u.connections).toBe(2);
    expect([...u.streams.values()]).toEqual([8, 4]);
  });

  it('a port declared HTTP2 is HTTP/2 with no policy, as istiod makes its cluster; DO_NOT_UPGRADE does not undo that', async () => {
    const u = await h2c();
    expect(await get(await agentFor({ port: u.port, tls: false, protocol: 'HTTP2' }))).toMatchObject({ version: '2.0' });
    await mesh!.close();
    expect(await get(await agentFor({ port: u.port, tls: false, protocol: 'HTTP2', http: { h2UpgradePolicy: 'DO_NOT_UPGRADE' } }))).toMatchObject({ version: '2.0' });
  });

  it('no upgrade: HTTP/1.1', async () => {
    const u = await h1();
    expect(await get(await agentFor({ port: u.port, tls: false }))).toEqual({ version: '1.1', alpn: null, peer: null });
  });

  it('UPGRADE to a server that speaks only HTTP/1.1 fails the request, as it does behind a sidecar', async () => {
    const u = await h1();
    const agent = await agentFor({ port: u.port, tls: false, http: { h2UpgradePolicy: 'UPGRADE' } });
    const err = await failure(get(agent));
    expect(u.connections).toBeGreaterThan(0);
    // The HTTP/1.1 server answers the HTTP/2 preface with a 400 and closes: a protocol error,
    // which Envoy too reports as a reset before headers.
    expect(err.message).toMatch(/upstream connect error or disconnect\/reset before headers .*Protocol error/);
  });
});

describe('MeshHttpAgent (node:http)', () => {
  it('stays on HTTP/1.1 for an upgraded cluster, and says so once', async () => {
    const u = await h2Tls();
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_o: unknown, msg?: string) => { warnings.push(String(msg)); } };
    const m = await meshFor({ port: u.port, tls: true, http: { h2UpgradePolicy: 'UPGRADE' }, logger });
    const agent = new MeshHttpAgent({ mesh: m });
    closers.push(() => agent.close());
    for (let i = 0; i < 2; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        httpGet(`http://${FQDN}:9080/`, { agent }, (res) => {
          let b = '';
          res.setEncoding('utf8').on('data', (c: string) => (b += c)).on('end', () => resolve(b));
        }).on('error', reject);
      });
      expect(JSON.parse(body)).toMatchObject({ version: '1.1', alpn: 'http/1.1' });
    }
    expect(warnings.filter((w) => w.includes('h2UpgradePolicy'))).toHaveLength(1);
  });
});

describe('bad values', () => {
  it('a typo in the DestinationRule\'s h2UpgradePolicy is refused at start, naming file and field', async () => {
    const u = await h1();
    const err = await failure(meshFor({ port: u.port, tls: false, http: { h2UpgradePolicy: 'UPGRAED' } }));
    expect(err.message).toMatch(/reviews\.yaml:\d+.*connectionPool\.http\.h2UpgradePolicy/s);
    expect(err.message).toContain('UPGRAED');
  });

  it('UPGRADE with useClientProtocol is refused, as istiod refuses it', async () => {
    const u = await h1();
    const err = await failure(meshFor({ port: u.port, tls: false, http: { h2UpgradePolicy: 'UPGRADE', useClientProtocol: true } }));
    expect(err.message).toContain('useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE');
  });

  it('MeshConfig h2UpgradePolicy DEFAULT (a DestinationRule value, not a MeshConfig one) is refused', async () => {
    const u = await h1();
    const err = await failure(meshFor({ port: u.port, tls: false, meshConfig: { h2UpgradePolicy: 'DEFAULT' as 'UPGRADE' } }));
    expect(err.message).toContain('h2UpgradePolicy "DEFAULT" must be one of DO_NOT_UPGRADE, UPGRADE');
  });
});
