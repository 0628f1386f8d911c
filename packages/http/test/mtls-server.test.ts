// Server side: createMeshServer terminates mesh mTLS with the workload certificate, follows
// PeerAuthentication per port, exposes the caller's SPIFFE ID and enforces AuthorizationPolicy.
// Callers are a Meshlet client (ISTIO_MUTUAL), plain undici (plaintext) and node:https/http2
// clients with chosen certificates.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request, Agent } from 'undici';
import { readFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { compileRbacFilters, createMesh, silentLogger, translateRbacFilter, type Mesh, type RbacFilter } from '@meshlet/core';
import { MeshAgent, createMeshServer, peerIdentity, type MeshServer, type RefusedConnection } from '@meshlet/http';
import { FQDN, clientConfig, createPki, id, serverConfig, type Pki } from './helpers/mtls.ts';

let pki: Pki;
beforeAll(() => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('sleep', 'sleep');
  pki.issue('intruder', 'intruder', { ns: 'other' });
  pki.expired('sleep-expired', 'sleep');
  pki.untrusted('sleep-untrusted', 'sleep');
});
afterAll(() => pki.cleanup());

const closers: (() => Promise<void>)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

const peerAuth = (name: string, ns: string, mtls: string, extra = '') => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${ns}, creationTimestamp: "2024-01-01T00:00:00Z" }
spec:
  mtls: { mode: ${mtls} }${extra}`;

/** A reviews server in namespace default (labels app=reviews) with the given policies. */
async function server(docs: string[], opts: { protocol?: 'http1' | 'http2'; port?: number; rbac?: () => readonly RbacFilter[] | undefined; mtls?: (port: number) => 'STRICT' | 'PERMISSIVE' | 'DISABLE' | undefined } = {}): Promise<{ port: number; server: MeshServer; mesh: Mesh; refused: RefusedConnection[] }> {
  const config = serverConfig(join(pki.root, `srv-${Math.random().toString(36).slice(2)}`), docs);
  const mesh = await createMesh({ config, watch: false, logger: silentLogger, namespace: 'default', labels: { app: 'reviews' }, certs: pki.dir('reviews') });
  const s = createMeshServer({ mesh, ...(opts.protocol && { protocol: opts.protocol }), ...(opts.port !== undefined && { port: opts.port }), ...(opts.rbac && { rbac: opts.rbac }), ...(opts.mtls && { mtls: opts.mtls }) }, (req, res) => {
    res.end(JSON.stringify({ peer: peerIdentity(req) ?? null, path: req.url }));
  });
  const refused: RefusedConnection[] = [];
  s.on('refused', (r: RefusedConnection) => refused.push(r));
  const port = await s.listen();
  closers.push(async () => { await s.close(); await mesh.close(); });
  return { port, server: s, mesh, refused };
}

async function meshClient(port: number, certs = pki.dir('sleep')): Promise<MeshAgent> {
  const config = clientConfig(join(pki.root, `cli-${Math.random().toString(36).slice(2)}`), { port });
  const mesh = await createMesh({ config, watch: false, logger: silentLogger, certs });
  const agent = new MeshAgent({ mesh });
  closers.push(async () => { await agent.close(); await mesh.close(); });
  return agent;
}

async function get(dispatcher: MeshAgent | Agent, url: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher });
  return { status: res.statusCode, body: await res.body.text() };
}

function plainAgent(): Agent {
  const a = new Agent();
  closers.push(() => a.close());
  return a;
}

/** A TLS client with a chosen workload folder (or none), bypassing the mesh. */
function tlsAgent(certDir: string | undefined): Agent {
  const ca = readFileSync(join(pki.dir('reviews'), 'root-cert.pem'), 'utf8');
  const a = new Agent({
    connect: {
      ca,
      ...(certDir && { cert: readFileSync(join(certDir, 'cert-chain.pem'), 'utf8'), key: readFileSync(join(certDir, 'key.pem'), 'utf8') }),
      checkServerIdentity: () => undefined,
    },
  });
  closers.push(() => a.close());
  return a;
}

async function fails(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (err) { return err as Error; }
  throw new Error('expected a failure');
}

describe('PeerAuthentication', () => {
  it('STRICT: a mesh client gets in with its identity visible; plaintext is refused', async () => {
    const s = await server([peerAuth('default', 'istio-system', 'STRICT')]);
    const ok = await get(await meshClient(s.port), `http://${FQDN}:9080/hello`);
    expect(JSON.parse(ok.body)).toEqual({ peer: id('sleep'), path: '/hello' });
    await fails(get(plainAgent(), `http://127.0.0.1:${s.port}/`));
    expect(s.refused).toHaveLength(1);
    expect(s.refused[0]!.reason).toMatch(/plaintext connection refused: port \d+ requires mTLS \(PeerAuthentication istio-system\/default\)/);
  });

  it('STRICT: a client without a certificate, with an expired one or from another root fails the handshake', async () => {
    const s = await server([peerAuth('default', 'default', 'STRICT')]);
    const client: string[] = [];
    for (const certs of [undefined, pki.dir('sleep-expired'), pki.dir('sleep-untrusted')]) {
      client.push((await fails(get(tlsAgent(certs), `https://127.0.0.1:${s.port}/`))).message);
    }
    // The handshake itself succeeds in TLS 1.3 from the client's side; the server then closes.
    expect(client).toEqual(['other side closed', 'other side closed', 'other side closed']);
    expect(s.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/mTLS client certificate rejected: .*(certificate|UNABLE|peer did not return)/i),
      'mTLS client certificate rejected: CERT_HAS_EXPIRED',
      expect.stringMatching(/mTLS client certificate rejected: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/),
    ]);
  });

  it('no policy means PERMISSIVE: plaintext and mTLS both work, only mTLS callers have an identity', async () => {
    const s = await server([]);
    expect(JSON.parse((await get(plainAgent(), `http://127.0.0.1:${s.port}/p`)).body)).toEqual({ peer: null, path: '/p' });
    expect(JSON.parse((await get(tlsAgent(pki.dir('sleep')), `https://127.0.0.1:${s.port}/t`)).body)).toEqual({ peer: id('sleep'), path: '/t' });
  });

  it('workload policy beats namespace and mesh; port-level beats the workload mode; DISABLE refuses TLS', async () => {
    const docs = [
      peerAuth('mesh', 'istio-system', 'STRICT'),
      peerAuth('ns', 'default', 'DISABLE'),
      peerAuth('reviews', 'default', 'STRICT', `
  selector: { matchLabels: { app: reviews } }
  portLevelMtls: { "8080": { mode: PERMISSIVE }, "8081": { mode: UNSET } }`),
    ];
    const strict = await server(docs, { port: 9080 });
    expect(strict.server.mtlsMode(9080)).toEqual({ mode: 'STRICT', source: 'PeerAuthentication istio-system/mesh > default/ns > default/reviews' });
    expect(strict.server.mtlsMode(8081).mode).toBe('STRICT');
    await fails(get(plainAgent(), `http://127.0.0.1:${strict.port}/`));
    const permissive = await server(docs, { port: 8080 });
    expect((await get(plainAgent(), `http://127.0.0.1:${permissive.port}/`)).status).toBe(200);
    const disabled = await server([peerAuth('mesh', 'istio-system', 'STRICT'), peerAuth('ns', 'default', 'DISABLE')]);
    expect((await get(plainAgent(), `http://127.0.0.1:${disabled.port}/`)).status).toBe(200);
    await fails(get(tlsAgent(pki.dir('sleep')), `https://127.0.0.1:${disabled.port}/`));
    expect(disabled.refused[0]!.reason).toMatch(/TLS connection refused: mTLS is disabled/);
  });

  it('oldest policy wins within a scope', async () => {
    const newer = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: a-newer, namespace: default, creationTimestamp: "2025-01-01T00:00:00Z" }
spec: { mtls: { mode: DISABLE } }`;
    const s = await server([newer, peerAuth('z-older', 'default', 'STRICT')]);
    expect(s.server.mtlsMode(1).mode).toBe('STRICT');
  });

  // The server policy is loaded by listen() (so importing @meshlet/http does not load it): asked
  // before, the server says so instead of answering from a policy it does not have yet.
  it('answers mtlsMode() once listening, and says to call listen() first before', async () => {
    const config = serverConfig(join(pki.root, `srv-${Math.random().toString(36).slice(2)}`), [peerAuth('default', 'default', 'STRICT')]);
    const mesh = await createMesh({ config, watch: false, logger: silentLogger, namespace: 'default', labels: { app: 'reviews' }, certs: pki.dir('reviews') });
    const s = createMeshServer({ mesh }, (_req, res) => res.end());
    closers.push(async () => { await s.close(); await mesh.close(); });
    expect(() => s.mtlsMode(9080)).toThrow('MeshServer: call listen() first (it loads the server policy)');
    expect(s.inboundListener).toBeUndefined();
    await s.listen();
    expect(s.mtlsMode(9080).mode).toBe('STRICT');
  });

  it('refuses connections, and says why, when its net server was started without listen()', async () => {
    const config = serverConfig(join(pki.root, `srv-${Math.random().toString(36).slice(2)}`), [peerAuth('default', 'default', 'PERMISSIVE')]);
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (_obj: object | string, msg?: string) => { errors.push(msg ?? ''); } };
    const mesh = await createMesh({ config, watch: false, logger, namespace: 'default', labels: { app: 'reviews' }, certs: pki.dir('reviews') });
    const s = createMeshServer({ mesh }, (_req, res) => res.end('served'));
    closers.push(async () => { await s.close(); await mesh.close(); });
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    const { port } = s.server.address() as AddressInfo;
    await expect(request(`http://127.0.0.1:${port}/`)).rejects.toThrow(/closed|socket|ECONNRESET/i);
    expect(errors).toEqual(['MeshServer: connection refused: the server was started without MeshServer.listen(), which loads its policy']);
  });

  it('serves HTTP/2 over mTLS and h2c in plaintext (PERMISSIVE)', async () => {
    const s = await server([], { protocol: 'http2' });
    const read = (f: string) => readFileSync(join(pki.dir('sleep'), f), 'utf8');
    const h2 = async (url: string, tls: boolean) => {
      const session = h2connect(url, tls ? { ca: read('root-cert.pem'), cert: read('cert-chain.pem'), key: read('key.pem'), checkServerIdentity: () => undefined } : {});
      try {
        return await new Promise<string>((resolve, reject) => {
          const req = session.request({ ':path': '/h2' });
          let body = '';
          req.setEncoding('utf8');
          req.on('data', (d: string) => { body += d; });
          req.on('end', () => resolve(body));
          req.on('error', reject);
          req.end();
        });
      } finally {
        session.close();
      }
    };
    expect(JSON.parse(await h2(`http://127.0.0.1:${s.port}`, false))).toEqual({ peer: null, path: '/h2' });
    expect(JSON.parse(await h2(`https://127.0.0.1:${s.port}`, true))).toEqual({ peer: id('sleep'), path: '/h2' });
    expect((await get(plainAgent(), `http://127.0.0.1:${s.port}/h1`)).status).toBe(200);
  });
});

describe('Envoy sidecar clients', () => {
  // A sidecar offers only Istio's ALPN names (istio.alpn filter): "istio-http/1.1" and "istio"
  // for HTTP/1.1, "istio-h2" and "istio" for HTTP/2. Node's own TLS servers refuse such a
  // handshake ("no application protocol"); mesh servers must not.
  const read = (f: string) => readFileSync(join(pki.dir('sleep'), f), 'utf8');
  const tlsOpts = (alpn: string[]) => ({ ca: read('root-cert.pem'), cert: read('cert-chain.pem'), key: read('key.pem'), ALPNProtocols: alpn, checkServerIdentity: () => undefined });

  it('accepts HTTP/1.1 under istio-http/1.1', async () => {
    const s = await server([]);
    const { connect } = await import('node:tls');
    const reply = await new Promise<string>((resolve, reject) => {
      const t = connect({ host: '127.0.0.1', port: s.port, ...tlsOpts(['istio-http/1.1', 'istio']) }, () => {
        expect(t.alpnProtocol).toBe('istio-http/1.1');
        t.write('GET /sidecar HTTP/1.1\r\nhost: reviews\r\nconnection: close\r\n\r\n');
      });
      let out = '';
      t.on('data', (d: Buffer) => { out += d.toString(); });
      t.on('end', () => resolve(out));
      t.on('error', reject);
    });
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(reply).toContain(JSON.stringify({ peer: id('sleep'), path: '/sidecar' }));
  });

  it('accepts HTTP/2 under istio-h2', async () => {
    const s = await server([], { protocol: 'http2' });
    const { connect: tlsConnect } = await import('node:tls');
    const session = h2connect(`https://127.0.0.1:${s.port}`, { createConnection: () => tlsConnect({ host: '127.0.0.1', port: s.port, ...tlsOpts(['istio-h2', 'istio']) }) });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/h2-sidecar' });
        let b = '';
        req.setEncoding('utf8');
        req.on('data', (d: string) => { b += d; });
        req.on('end', () => resolve(b));
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toEqual({ peer: id('sleep'), path: '/h2-sidecar' });
    } finally {
      session.close();
    }
  });
});

describe('AuthorizationPolicy', () => {
  const policies = [
    peerAuth('default', 'istio-system', 'PERMISSIVE'),
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/admin*"] } }]`,
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-sleep, namespace: default }
spec:
  action: ALLOW
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }]
    to: [{ operation: { methods: ["GET"], paths: ["/public*", "/admin*"] } }]
  - from: [{ source: { namespaces: ["other"] } }]
    when: [{ key: "request.headers[x-token]", values: ["let-me-in"] }]`,
  ];

  it('denies one path and allows another for the same caller', async () => {
    const s = await server(policies);
    const denied: unknown[] = [];
    s.server.on('denied', (d) => denied.push(d));
    const agent = await meshClient(s.port);
    expect(await get(agent, `http://${FQDN}:9080/public/page`)).toEqual({ status: 200, body: JSON.stringify({ peer: id('sleep'), path: '/public/page' }) });
    expect(await get(agent, `http://${FQDN}:9080/admin/users`)).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await get(agent, `http://${FQDN}:9080/elsewhere`)).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(denied).toHaveLength(2);
  });

  it('principals and namespaces need an mTLS peer; when conditions read request headers', async () => {
    const s = await server(policies);
    expect((await get(plainAgent(), `http://127.0.0.1:${s.port}/public`)).status).toBe(403);
    const intruder = tlsAgent(pki.dir('intruder'));
    expect((await get(intruder, `https://127.0.0.1:${s.port}/public`)).status).toBe(403);
    const res = await request(`https://127.0.0.1:${s.port}/anything`, { dispatcher: intruder, headers: { 'x-token': 'let-me-in' } });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await res.body.text()).peer).toBe(id('intruder', 'other'));
  });
});

describe('RBAC filters (the xDS form of AuthorizationPolicy)', () => {
  it('replace the CRD policies when given', async () => {
    const denyHealth = compileRbacFilters([{
      apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', source: { file: 'x', line: 1, lineOf: () => 1 },
      metadata: { name: 'no-health', namespace: 'default' }, spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/healthz'] } }] }] },
    }]).map((c) => { const r = translateRbacFilter(c, 'rbac'); if (!r.ok) throw new Error(r.error); return r.value!; });
    let fromXds: readonly RbacFilter[] | undefined = denyHealth;
    // The CRDs deny everything; the RBAC filters, while present, decide instead.
    const s = await server([`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: nothing, namespace: default }
spec: {}`], { rbac: () => fromXds });
    const agent = plainAgent();
    expect((await get(agent, `http://127.0.0.1:${s.port}/ok`)).status).toBe(200);
    expect(await get(agent, `http://127.0.0.1:${s.port}/healthz`)).toEqual({ status: 403, body: 'RBAC: access denied' });
    fromXds = undefined;
    expect((await get(agent, `http://127.0.0.1:${s.port}/ok`)).status).toBe(403);
  });
});

describe('mTLS mode from the mtls option', () => {
  it('overrides PeerAuthentication while given', async () => {
    let fromXds: 'STRICT' | undefined = 'STRICT';
    const s = await server([], { mtls: () => fromXds });
    await fails(get(plainAgent(), `http://127.0.0.1:${s.port}/`));
    expect(s.refused[0]!.reason).toMatch(/requires mTLS \(the mtls option\)/);
    fromXds = undefined;
    expect((await get(plainAgent(), `http://127.0.0.1:${s.port}/`)).status).toBe(200);
  });
});
