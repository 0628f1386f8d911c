// The packed packages through ESM `import`, in a project outside the workspace: a real request
// over 127.0.0.1 through MeshAgent, routed by Istio YAML; every entry point loads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { register, unregister, meshCredentials } from '@meshlet/grpc';
import * as xds from '@meshlet/grpc/xds';

const server = createServer((_req, res) => res.end('from v2'));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const dir = mkdtempSync(join(tmpdir(), 'meshlet-pack-esm-'));
try {
  writeFileSync(join(dir, 'reviews.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${server.address().port} }, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets: [{ name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v2 } }] }]
`);
  const mesh = await createMesh({ config: dir, watch: false, namespace: 'default' });
  const agent = new MeshAgent({ mesh });
  const res = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET' });
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'from v2');
  assert.deepEqual(mesh.explain({ url: 'http://reviews:9080/' }).clusters.map((c) => c.name), ['outbound|9080|v2|reviews.default.svc.cluster.local']);
  register(mesh);
  unregister();
  assert.equal(typeof meshCredentials, 'function');
  assert.equal(typeof xds.register, 'function');
  await agent.close();
  await mesh.close();
  console.log('ESM import: a request routed to subset v2 through MeshAgent; @meshlet/grpc and @meshlet/grpc/xds load');
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
