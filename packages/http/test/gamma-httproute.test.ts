// An HTTPRoute attached to a Service (GAMMA) sending real traffic: a weighted split between two
// backends, a prefix rewrite with header changes, and a redirect answered by the client itself.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';
import { tempDir } from '../../core/test/temp-dir.ts';

let v1: TestServer, v2: TestServer, front: TestServer;
let mesh: Mesh;
let agent: MeshAgent;

const serviceEntry = (name: string, port: number) => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
`;

beforeAll(async () => {
  v1 = await startServer('v1');
  v2 = await startServer('v2');
  front = await startServer('front');
  const dir = tempDir('gamma');
  writeFileSync(join(dir, 'services.yaml'), serviceEntry('reviews', front.port) + serviceEntry('reviews-v1', v1.port) + serviceEntry('reviews-v2', v2.port));
  writeFileSync(join(dir, 'route.yaml'), `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews, namespace: default }
spec:
  parentRefs:
  - { group: "", kind: Service, name: reviews, port: 9080 }
  rules:
  - matches: [{ path: { type: PathPrefix, value: /api } }]
    filters:
    - type: URLRewrite
      urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } }
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: x-route, value: api }], remove: [x-drop] }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { add: [{ name: x-served-by, value: gamma }] }
    backendRefs: [{ name: reviews-v2, port: 9080 }]
  - matches: [{ path: { type: Exact, value: /old } }]
    filters:
    - type: RequestRedirect
      requestRedirect: { hostname: new.example.com, path: { type: ReplaceFullPath, replaceFullPath: /new } }
  - backendRefs:
    - { name: reviews-v1, port: 9080, weight: 3 }
    - { name: reviews-v2, port: 9080, weight: 1 }
    timeouts: { request: 5s }
`);
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, namespace: 'default' });
  expect(mesh.problems).toEqual([]);
  agent = new MeshAgent({ mesh });
});
afterAll(async () => {
  await agent?.close();
  await mesh?.close();
  await Promise.all([v1, v2, front].map((s) => s?.close()));
});

const URL_BASE = 'http://reviews.default.svc.cluster.local:9080';

describe('HTTPRoute for the mesh (GAMMA) with real traffic', () => {
  it('splits traffic 3:1 by backendRef weight', async () => {
    const n = 400;
    const before = { v1: v1.hits, v2: v2.hits, front: front.hits };
    for (let i = 0; i < n; i++) {
      const res = await request(`${URL_BASE}/reviews/${i}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    const share = (v1.hits - before.v1) / n;
    expect(v1.hits - before.v1 + v2.hits - before.v2).toBe(n);
    expect(front.hits).toBe(before.front); // the parent service itself gets nothing
    // Expected 0.75; ±0.10 is more than 11 standard deviations at n = 400.
    expect(share).toBeGreaterThan(0.65);
    expect(share).toBeLessThan(0.85);
  });

  it('rewrites a path prefix (segment-wise) and changes headers', async () => {
    const res = await request(`${URL_BASE}/api/users?id=7`, { dispatcher: agent, headers: { 'x-drop': 'secret' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-served-by']).toBe('gamma');
    expect(await res.body.text()).toBe('v2');
    const seen = v2.requests.at(-1)!;
    expect(seen.url).toBe('/users?id=7');
    expect(seen.headers['x-route']).toBe('api');
    expect(seen.headers['x-drop']).toBeUndefined();
    // /apis is not under the /api prefix: it takes the weighted catch-all, unrewritten.
    const other = await request(`${URL_BASE}/apis`, { dispatcher: agent });
    expect(other.headers['x-served-by']).toBeUndefined();
    await other.body.text();
  });

  it('answers a RequestRedirect itself with 302 and the new location', async () => {
    const hits = v1.hits + v2.hits + front.hits;
    const res = await request(`${URL_BASE}/old?q=1`, { dispatcher: agent });
    expect(res.statusCode).toBe(302);
    expect(res.headers['location']).toBe('http://new.example.com:9080/new?q=1');
    await res.body.text();
    expect(v1.hits + v2.hits + front.hits).toBe(hits);
  });

  it('explain names the HTTPRoute', () => {
    const e = mesh.explain({ url: `${URL_BASE}/api/x` }) as unknown as { route?: { origin?: string } };
    expect(JSON.stringify(e)).toContain('HTTPRoute default/reviews');
  });
});
