// The server helper (createMeshServer) as a workload and its inbound sidecar in one: a Sidecar's
// ingress listener (listening at its defaultEndpoint means listening at its port), its inbound
// connection pool (connections, requests in progress, requests per connection, idle time), and
// the mesh's trust domains (a caller outside them is refused; AuthorizationPolicy principals
// stand for every alias). Real servers, real certificates, on 127.0.0.1.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request, Agent } from 'undici';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { createMeshServer, peerIdentity, type MeshServer, type OverflowedRequest, type RefusedConnection } from '@meshlet/http';
import { issueDevCertificates } from '../../core/src/security/dev-certs.ts';
import { createPki, serverConfig, type Pki } from './helpers/mtls.ts';

let pki: Pki;
beforeAll(() => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('sleep', 'sleep');
  // Same root, another trust domain: a workload of a mesh that migrated, or of another mesh.
  issueDevCertificates({ out: pki.dir('old-sleep'), caDir: join(pki.root, 'ca'), namespace: 'default', serviceAccount: 'sleep', trustDomain: 'old.example' });
});
afterAll(() => pki.cleanup());

const closers: (() => Promise<void>)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

async function server(docs: string[], handler: (req: Parameters<Parameters<typeof createMeshServer>[1]>[0], res: Parameters<Parameters<typeof createMeshServer>[1]>[1]) => void, listen: { port?: number; host?: string } = {}): Promise<{ port: number; server: MeshServer; mesh: Mesh; refused: RefusedConnection[]; overflows: OverflowedRequest[] }> {
  const config = serverConfig(join(pki.root, `srv-${Math.random().toString(36).slice(2)}`), docs);
  const mesh = await createMesh({ config, watch: false, logger: silentLogger, namespace: 'default', labels: { app: 'reviews' }, certs: pki.dir('reviews') });
  const s = createMeshServer({ mesh }, handler);
  const refused: RefusedConnection[] = [];
  const overflows: OverflowedRequest[] = [];
  s.on('refused', (r: RefusedConnection) => refused.push(r));
  s.on('overflow', (o: OverflowedRequest) => overflows.push(o));
  const port = await s.listen(listen.port, listen.host);
  closers.push(async () => { await s.close(); await mesh.close(); });
  return { port, server: s, mesh, refused, overflows };
}

function agent(opts: ConstructorParameters<typeof Agent>[0] = {}): Agent {
  const a = new Agent(opts);
  closers.push(() => a.close());
  return a;
}

function tlsAgent(certDir: string): Agent {
  return agent({
    connect: {
      ca: readFileSync(join(pki.dir('reviews'), 'root-cert.pem'), 'utf8'),
      cert: readFileSync(join(certDir, 'cert-chain.pem'), 'utf8'),
      key: readFileSync(join(certDir, 'key.pem'), 'utf8'),
      checkServerIdentity: () => undefined,
    },
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sidecar = (spec: string) => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: reviews, namespace: default }
spec:
  workloadSelector: { labels: { app: reviews } }
${spec}`;

const meshConfig = (yaml: string) => `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |-
${yaml.split('\n').map((l) => `    ${l}`).join('\n')}`;

describe('Sidecar ingress', () => {
  it('listening at a defaultEndpoint listens at the ingress port, on its bind address', async () => {
    const ingressPort = await freePort();
    const s = await server([sidecar(`  ingress:
  - port: { number: ${ingressPort}, protocol: HTTP, name: http }
    bind: 127.0.0.1
    defaultEndpoint: 127.0.0.1:8080`)], (_req, res) => res.end('app'), { port: 8080, host: '127.0.0.1' });
    expect(s.port).toBe(ingressPort);
    const res = await request(`http://127.0.0.1:${ingressPort}/`, { dispatcher: agent() });
    expect(await res.body.text()).toBe('app');
  });
});

describe('Sidecar inbound connection pool', () => {
  it('answers a request over http2MaxRequests with Envoy\'s 503 overflow, before the handler', async () => {
    let release: (() => void) | undefined;
    let handled = 0;
    const s = await server([sidecar('  inboundConnectionPool: { http: { http2MaxRequests: 1 } }')], (_req, res) => {
      handled++;
      if (handled === 1) release = () => res.end('slow');
      else res.end('fast');
    });
    const a = agent({ connections: 4 });
    const first = request(`http://127.0.0.1:${s.port}/`, { dispatcher: a });
    const deadline = Date.now() + 5000;
    while (!release && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const over = await request(`http://127.0.0.1:${s.port}/`, { dispatcher: a });
    expect(over.statusCode).toBe(503);
    expect(over.headers['x-envoy-overloaded']).toBe('true');
    expect(await over.body.text()).toBe('upstream connect error or disconnect/reset before headers. reset reason: overflow');
    expect(s.overflows[0]!.reason).toBe('upstream overflow: 1 requests in progress, the limit is http.http2MaxRequests=1 (Sidecar default/reviews inboundConnectionPool)');
    expect(handled).toBe(1);
    release!();
    expect(await (await first).body.text()).toBe('slow');
    expect(await (await request(`http://127.0.0.1:${s.port}/`, { dispatcher: a })).body.text()).toBe('fast');
  });

  it('refuses a connection over tcp.maxConnections; a port\'s own ingress connectionPool replaces the top-level one', async () => {
    const port = await freePort();
    const s = await server([sidecar(`  inboundConnectionPool: { tcp: { maxConnections: 5 } }
  ingress:
  - port: { number: ${port}, protocol: HTTP, name: http }
    connectionPool: { tcp: { maxConnections: 1 } }`)], (_req, res) => res.end('ok'), { port });
    const open = async (): Promise<Socket> => {
      const sock = connect(s.port, '127.0.0.1');
      await new Promise<void>((r, j) => { sock.once('connect', () => r()); sock.once('error', j); });
      return sock;
    };
    const first = await open();
    const second = await open();
    await new Promise<void>((r) => second.once('close', () => r()));
    expect(s.refused.map((x) => x.reason)).toEqual([`connection refused: 1 connections are open, the limit is tcp.maxConnections=1 (Sidecar default/reviews ingress port ${port} connectionPool)`]);
    first.destroy();
    await new Promise<void>((r) => first.once('close', () => r()));
    await new Promise((r) => setTimeout(r, 50));
    expect(await (await request(`http://127.0.0.1:${s.port}/`, { dispatcher: agent() })).body.text()).toBe('ok');
  });

  it('closes a connection after maxRequestsPerConnection requests, and after http.idleTimeout', async () => {
    const s = await server([sidecar('  inboundConnectionPool: { http: { maxRequestsPerConnection: 2, idleTimeout: 200ms } }')], (req, res) => res.end(`${req.socket.remotePort}`));
    const a = agent({ connections: 1, pipelining: 1 });
    const get = async () => {
      const res = await request(`http://127.0.0.1:${s.port}/`, { dispatcher: a });
      return { port: await res.body.text(), connection: res.headers['connection'] };
    };
    const r1 = await get();
    const r2 = await get();
    const r3 = await get();
    expect(r1.port).toBe(r2.port);
    expect(r2.connection).toBe('close');
    expect(r3.port).not.toBe(r2.port);
    // Idle: the server closes the connection the third request opened.
    const sock = connect(s.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.resume();
    sock.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const started = Date.now();
    await new Promise<void>((r) => sock.once('close', () => r()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});

describe('MeshConfig pathNormalization', () => {
  it('is the server helpers\' normalization unless createMesh sets one', async () => {
    const url = (port: number) => `http://127.0.0.1:${port}//a//b/../c`;
    const merged = await server([meshConfig('pathNormalization: { normalization: MERGE_SLASHES }')], (req, res) => res.end(req.url));
    expect(merged.mesh.pathNormalization).toBe('MERGE_SLASHES');
    expect(await (await request(url(merged.port), { dispatcher: agent() })).body.text()).toBe('/a/c');
    // BASE (the default) removes dot segments only.
    const base = await server([], (req, res) => res.end(req.url));
    expect(await (await request(url(base.port), { dispatcher: agent() })).body.text()).toBe('//a//c');
    const dir = serverConfig(join(pki.root, `pn-${Math.random().toString(36).slice(2)}`), [meshConfig('pathNormalization: { normalization: MERGE_SLASHES }')]);
    const explicit = await createMesh({ config: dir, watch: false, logger: silentLogger, pathNormalization: 'NONE' });
    expect(explicit.pathNormalization).toBe('NONE');
    await explicit.close();
  });
});

describe('trust domains', () => {
  it('refuses a caller outside the mesh\'s trust domains; an alias lets it in and AuthorizationPolicy principals cover it', async () => {
    const authz = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-sleep, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  rules: [{ from: [{ source: { principals: [cluster.local/ns/default/sa/sleep] } }] }]`;
    const strict = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: strict, namespace: default }
spec: { mtls: { mode: STRICT } }`;
    const handler = (req: Parameters<Parameters<typeof createMeshServer>[1]>[0], res: Parameters<Parameters<typeof createMeshServer>[1]>[1]) => res.end(peerIdentity(req) ?? '');

    const without = await server([authz, strict], handler);
    const ok = await request(`https://127.0.0.1:${without.port}/`, { dispatcher: tlsAgent(pki.dir('sleep')) });
    expect(await ok.body.text()).toBe('spiffe://cluster.local/ns/default/sa/sleep');
    await expect(request(`https://127.0.0.1:${without.port}/`, { dispatcher: tlsAgent(pki.dir('old-sleep')) })).rejects.toThrow();
    expect(without.refused.at(-1)!.reason).toBe('mTLS client certificate rejected: peer identity spiffe://old.example/ns/default/sa/sleep is in trust domain old.example, not the mesh\'s (cluster.local; MeshConfig trustDomain, trustDomainAliases)');

    const withAlias = await server([authz, strict, meshConfig('trustDomain: cluster.local\ntrustDomainAliases: [old.example]')], handler);
    const old = await request(`https://127.0.0.1:${withAlias.port}/`, { dispatcher: tlsAgent(pki.dir('old-sleep')) });
    expect(old.statusCode).toBe(200);
    expect(await old.body.text()).toBe('spiffe://old.example/ns/default/sa/sleep');
    // The new trust domain with the old as an alias: `cluster.local/...` principals still match both.
    const migrated = await server([authz, strict, meshConfig('trustDomain: new.example\ntrustDomainAliases: [old.example, cluster.local]')], handler);
    expect((await request(`https://127.0.0.1:${migrated.port}/`, { dispatcher: tlsAgent(pki.dir('old-sleep')) })).statusCode).toBe(200);
    expect((await request(`https://127.0.0.1:${migrated.port}/`, { dispatcher: tlsAgent(pki.dir('sleep')) })).statusCode).toBe(200);
  });
});
