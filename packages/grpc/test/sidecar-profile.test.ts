// gRPC through the sidecar profile: mesh:/// calls routed from what `meshlet xds` serves an Envoy
// sidecar (per-port route table, every cluster), the header match and the subset followed, the
// DestinationRule's max_requests enforced, and a gRPC server outside the mesh reached at once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { createMesh, silentLogger, XdsServer, type Mesh } from '@meshlet/core';
import { meshCredentials, register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary } from './helpers/calls.ts';

let v1: EchoServer, v2: EchoServer, outside: EchoServer;
let dir: string;
let server: XdsServer;
let mesh: Mesh;
const clients: { close(): void }[] = [];

beforeAll(async () => {
  [v1, v2, outside] = await Promise.all([startEchoServer('v1'), startEchoServer('v2'), startEchoServer('outside')]);
  dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-sidecar-'));
  writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${v1.port} }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { grpc: ${v2.port} }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo
  trafficPolicy: { connectionPool: { http: { http2MaxRequests: 1 } } }
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo]
  http:
    - match: [{ headers: { x-version: { exact: v2 } } }]
      route: [{ destination: { host: echo, subset: v2 } }]
    - route: [{ destination: { host: echo, subset: v1 } }]
`);
  server = await XdsServer.start({ config: [join(dir, 'mesh.yaml')], listen: '127.0.0.1:0', logger: silentLogger });
  const bootstrap = join(dir, 'bootstrap.json');
  writeFileSync(bootstrap, JSON.stringify({
    xds_servers: [{ server_uri: server.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local', locality: {}, metadata: { NAMESPACE: 'default' } },
  }));
  mesh = await createMesh({ bootstrap, xds: { generator: 'sidecar' }, logger: silentLogger });
  register(mesh);
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await mesh?.close();
  server?.close();
  await Promise.all([v1, v2, outside].map((s) => s?.close()));
  rmSync(dir, { recursive: true, force: true });
});

const client = (target: string) => {
  const c = new EchoClient(target, meshCredentials(credentials.createInsecure()));
  clients.push(c);
  return c;
};

describe('gRPC through the sidecar profile', () => {
  it('routes by the per-port route table, short names included', async () => {
    const c = client('mesh:///echo:9000');
    expect((await unary(c, {}, { deadlineMs: 5000 })).reply.server).toBe('v1');
    expect((await unary(c, {}, { deadlineMs: 5000, headers: { 'x-version': 'v2' } })).reply.server).toBe('v2');
    expect(mesh.configDump().routeConfigs.map((r) => (r as { name: string }).name)).toEqual(['9000']);
  });

  it('enforces the DestinationRule\'s max_requests', async () => {
    v1.behaviour = { delayMs: 300 };
    try {
      const c = client('mesh:///echo.default.svc.cluster.local:9000');
      // Two at once against a limit of one: one is served, the other fails at once.
      const results = await Promise.all([0, 1].map(() => unary(c, {}, { deadlineMs: 5000 }).then(() => 'ok', (e: { code: number }) => e.code)));
      expect(results.sort()).toEqual([status.UNAVAILABLE, 'ok'].sort());
    } finally {
      v1.behaviour = {};
    }
  });

  it('reaches a gRPC server outside the mesh at once', async () => {
    const start = performance.now();
    const c = client(`mesh:///127.0.0.1:${outside.port}`);
    expect((await unary(c, {}, { deadlineMs: 5000 })).reply.server).toBe('outside');
    expect(performance.now() - start).toBeLessThan(3000);
  });
});
