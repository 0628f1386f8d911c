// Istio's outbound traffic policy with real requests: REGISTRY_ONLY (MeshConfig, or a Sidecar)
// refuses a host outside the registry at once with a typed error naming the policy — what an
// Envoy sidecar's BlackHoleCluster answers with 502 — through MeshAgent (undici, fetch) and
// MeshHttpAgent (node:http), while a ServiceEntry host is served; a Sidecar scoped to `./*`
// hides another namespace's service; ALLOW_ANY with an egressProxy sends hosts outside the
// registry to the proxy. Real servers on 127.0.0.1.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { request } from 'undici';
import { createMesh, OutboundBlockedError, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent, MeshHttpAgent, installGlobalDispatcher } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';

let known: TestServer, outside: TestServer, books: TestServer, proxy: TestServer;
const dirs: string[] = [];

beforeAll(async () => {
  known = await startServer('known');
  outside = await startServer('outside');
  books = await startServer('books');
  proxy = await startServer('egress-proxy', (req, res) => res.end(`proxied ${req.headers.host}${req.url}`));
});
afterAll(async () => {
  await Promise.all([known, outside, books, proxy].map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function meshFolder(extra: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-registry-only-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'services.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: shop }
spec:
  hosts: [api.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${known.port} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: books }
spec:
  hosts: [reviews.books.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${books.port} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: egress, namespace: istio-system }
spec:
  hosts: [egress.istio-system.svc.cluster.local]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${proxy.port} } }]
`);
  if (extra) writeFileSync(join(dir, 'policy.yaml'), extra);
  return dir;
}

let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
let nodeAgent: MeshHttpAgent | undefined;
afterEach(async () => {
  nodeAgent?.destroy();
  await agent?.close();
  await mesh?.close();
  mesh = undefined; agent = undefined; nodeAgent = undefined;
});

async function start(extra: string, meshConfig?: Parameters<typeof createMesh>[0] extends infer O ? O extends { meshConfig?: infer M } ? M : never : never): Promise<Mesh> {
  mesh = await createMesh({ config: meshFolder(extra), namespace: 'shop', watch: false, logger: silentLogger, ...(meshConfig && { meshConfig }) });
  agent = new MeshAgent({ mesh });
  nodeAgent = new MeshHttpAgent({ mesh });
  return mesh;
}

async function viaUndici(url: string): Promise<string> {
  const res = await request(url, { dispatcher: agent! });
  return res.body.text();
}

function viaNodeHttp(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: nodeAgent! }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

const MESH_CONFIG_FILE = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n';

describe('REGISTRY_ONLY', () => {
  it('blocks an unknown host and serves a ServiceEntry host, through undici, fetch and node:http', async () => {
    await start(MESH_CONFIG_FILE);
    const unknown = `http://127.0.0.1:${outside.port}/x`;
    const before = outside.hits;

    await expect(viaUndici(unknown)).rejects.toSatisfy((e: unknown) => e instanceof OutboundBlockedError && /outbound traffic policy is REGISTRY_ONLY \(set by MeshConfig .*policy\.yaml:1\)/.test(e.message));
    await expect(viaNodeHttp(unknown)).rejects.toMatchObject({ code: 'MESHLET_OUTBOUND_BLOCKED' });
    const restore = installGlobalDispatcher(mesh!);
    try {
      await expect(fetch(unknown)).rejects.toMatchObject({ cause: { code: 'MESHLET_OUTBOUND_BLOCKED' } });
    } finally {
      await restore();
    }
    // https:// is not routed by MeshAgent, but the policy still holds for a host outside the registry.
    await expect(viaUndici(`https://127.0.0.1:${outside.port}/`)).rejects.toBeInstanceOf(OutboundBlockedError);
    expect(outside.hits).toBe(before);

    expect(await viaUndici('http://api.example.com/ok')).toBe('known');
    expect(await viaNodeHttp('http://api.example.com/ok')).toBe('known');
    expect(mesh!.explain({ url: unknown })).toMatchObject({ action: 'blocked' });
  });

  it('ALLOW_ANY (the default) lets the same host through', async () => {
    await start('');
    const before = outside.hits;
    expect(await viaUndici(`http://127.0.0.1:${outside.port}/x`)).toBe('outside');
    expect(await viaNodeHttp(`http://127.0.0.1:${outside.port}/x`)).toBe('outside');
    expect(outside.hits).toBe(before + 2);
  });

  it('a Sidecar scoped to ./* hides another namespace\'s service, and its REGISTRY_ONLY blocks it naming the Sidecar', async () => {
    await start(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec:
  egress: [{ hosts: ["./*"] }]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`);
    const before = books.hits;
    const err = await viaUndici('http://reviews.books.svc.cluster.local:9080/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundBlockedError);
    expect((err as Error).message).toContain('(set by Sidecar shop/default)');
    expect((err as Error).message).toContain('reviews.books.svc.cluster.local (namespace books) is out of this client\'s scope: Sidecar shop/default does not import it (egress hosts ./*)');
    await expect(viaNodeHttp('http://reviews.books.svc.cluster.local:9080/')).rejects.toMatchObject({ code: 'MESHLET_OUTBOUND_BLOCKED' });
    expect(books.hits).toBe(before);
    expect(await viaUndici('http://api.example.com/')).toBe('known');
    expect(mesh!.configDump().sidecarScope?.outOfScope).toEqual({ 'reviews.books.svc.cluster.local': 'books', 'egress.istio-system.svc.cluster.local': 'istio-system' });
  });

  it('ALLOW_ANY with an egressProxy sends hosts outside the registry to the proxy, keeping their Host', async () => {
    await start(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec:
  egress: [{ hosts: ["./*", "istio-system/*"] }]
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: { host: egress.istio-system.svc.cluster.local, port: { number: 80 } }
`);
    expect(await viaUndici('http://unknown.example.org/path?q=1')).toBe('proxied unknown.example.org/path?q=1');
    expect(await viaNodeHttp('http://unknown.example.org:8080/p')).toBe('proxied unknown.example.org:8080/p');
    expect(await viaUndici('http://api.example.com/')).toBe('known');
    expect(mesh!.explain({ url: 'http://unknown.example.org/' })).toMatchObject({ action: 'forward', routeConfig: 'allow_any', clusters: [{ name: 'outbound|80||egress.istio-system.svc.cluster.local' }] });
  });

  it('a live edit of the mesh config switches the policy', async () => {
    const m = await start('');
    const dir = m.configDump().source.replace(/^files:/, '');
    const version = m.snapshot.version;
    await agent!.close();
    await m.close();
    mesh = await createMesh({ config: dir, namespace: 'shop', logger: silentLogger });
    agent = new MeshAgent({ mesh });
    expect(await viaUndici(`http://127.0.0.1:${outside.port}/`)).toBe('outside');
    writeFileSync(join(dir, 'policy.yaml'), MESH_CONFIG_FILE);
    const deadline = Date.now() + 5000;
    while (mesh.meshConfig.outboundTrafficPolicy !== 'REGISTRY_ONLY' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(mesh.snapshot.version).toBeGreaterThan(version);
    await expect(viaUndici(`http://127.0.0.1:${outside.port}/`)).rejects.toBeInstanceOf(OutboundBlockedError);
  });
});
