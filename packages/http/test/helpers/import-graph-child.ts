// Run in a fresh node by import-graph.test.ts: an HTTP-only user of the embedded mode (a folder of
// Istio YAML, MeshAgent for undici and MeshHttpAgent for node:http, one request each), recording
// every module file loaded through import or require. Prints JSON { statuses, loaded }.
// argv[2] adds what a user may configure on top: 'plain', 'breaker' (createMesh({ breaker })),
// 'xds' (a bootstrap instead of the folder), 'grpc' (also imports @meshlet/grpc).

import { registerHooks } from 'node:module';
import { createServer, get } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

const loaded = new Set<string>();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });

const mode = process.argv[2] ?? 'plain';
const server = createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
const dir = mkdtempSync(join(tmpdir(), 'meshlet-import-graph-'));
const config = join(dir, 'config');
try {
  mkdirSync(config);
  writeFileSync(join(config, 'web.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  http: [{ route: [{ destination: { host: web.default.svc.cluster.local } }], timeout: 5s, retries: { attempts: 2, retryOn: 5xx } }]
`);
  writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'sidecar~127.0.0.1~a.default~default.svc.cluster.local' } }));
  const { createMesh } = await import('@meshlet/core');
  const { MeshAgent, MeshHttpAgent } = await import('@meshlet/http');
  if (mode === 'grpc') await import('@meshlet/grpc');
  const mesh = mode === 'xds'
    ? await createMesh({ bootstrap: join(dir, 'bootstrap.json'), xds: { initialFetchTimeoutMs: 50 } })
    : await createMesh({ config, watch: false, ...(mode === 'breaker' && { breaker: {} }) });
  const statuses: number[] = [];
  if (mode !== 'xds') {
    const { request } = await import('undici');
    const agent = new MeshAgent({ mesh });
    const res = await request('http://web.default.svc.cluster.local/', { dispatcher: agent });
    await res.body.text();
    statuses.push(res.statusCode);
    await agent.close();
    const httpAgent = new MeshHttpAgent({ mesh });
    statuses.push(await new Promise<number>((resolve, reject) => {
      get('http://web.default.svc.cluster.local/', { agent: httpAgent }, (r) => { r.resume(); r.on('end', () => resolve(r.statusCode ?? 0)); }).on('error', reject);
    }));
    await httpAgent.close();
  }
  await mesh.close();
  process.stdout.write(JSON.stringify({ statuses, loaded: [...loaded] }));
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
