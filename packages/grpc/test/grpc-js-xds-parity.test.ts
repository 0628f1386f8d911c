// The same decisions as @grpc/grpc-js-xds, gRPC's own proxyless client, for the features both
// support: one `meshlet xds` server serving one set of Istio CRDs, a Meshlet mesh (xDS mode,
// mesh:///) and grpc-js-xds (xds:///) as two independent clients of it, the same calls through
// both, compared answer by answer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type Client } from '@grpc/grpc-js';
import { createMesh, silentLogger, XdsServer, type Mesh } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary } from './helpers/calls.ts';

const HOST = 'echo.default.svc.cluster.local:9000';
// grpc-js-xds is a dev dependency of core; it registers on the same @grpc/grpc-js instance. It
// reads GRPC_XDS_BOOTSTRAP when first loaded, so it is loaded after the bootstrap is written.
const loadGrpcJsXds = () => createRequire(new URL('../../core/package.json', import.meta.url))('@grpc/grpc-js-xds') as { register(): void };

let v1: EchoServer, v2: EchoServer, v3: EchoServer, bad: EchoServer;
let dir: string;
let server: XdsServer;
let mesh: Mesh;
let ours: Client, theirs: Client;

beforeAll(async () => {
  [v1, v2, v3] = await Promise.all([startEchoServer('v1'), startEchoServer('v2'), startEchoServer('v3')]);
  bad = await startEchoServer('bad', { failWith: { code: status.UNAVAILABLE, details: 'bad is down' } });
  dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-parity-'));
  writeFileSync(join(dir, 'mesh.yaml'), `
apiVersion: networking.istio.io/v1
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
    - { address: 127.0.0.1, ports: { grpc: ${v3.port} }, labels: { version: v3, pool: flaky } }
    - { address: 127.0.0.1, ports: { grpc: ${bad.port} }, labels: { version: bad, pool: flaky } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
    - { name: v3, labels: { version: v3 } }
    - { name: flaky, labels: { pool: flaky } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo]
  http:
    - name: other
      match: [{ uri: { exact: /test.Echo/Other } }]
      route: [{ destination: { host: echo, subset: v2 } }]
    - name: jason
      match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: echo, subset: v3 } }]
    - name: regex-user
      match: [{ headers: { end-user: { regex: "ad.*" } } }]
      route: [{ destination: { host: echo, subset: v2 } }]
    - name: throttled
      match: [{ headers: { x-throttle: { exact: "1" } } }]
      fault: { abort: { grpcStatus: RESOURCE_EXHAUSTED, percentage: { value: 100 } } }
      route: [{ destination: { host: echo, subset: v1 } }]
    - name: flaky
      match: [{ headers: { x-flaky: { exact: "1" } } }]
      retries: { attempts: 2, retryOn: unavailable }
      route: [{ destination: { host: echo, subset: flaky } }]
    - name: split
      match: [{ headers: { x-split: { exact: "1" } } }]
      route:
        - { destination: { host: echo, subset: v1 }, weight: 50 }
        - { destination: { host: echo, subset: v3 }, weight: 50 }
    - name: default
      route: [{ destination: { host: echo, subset: v1 } }]
`);
  server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
  const bootstrap = join(dir, 'bootstrap.json');
  writeFileSync(bootstrap, JSON.stringify({
    xds_servers: [{ server_uri: server.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    // grpc-js-xds rejects a node without `locality` (and then fails calls with "Cannot read properties of null").
    node: { id: 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
  }));
  mesh = await createMesh({ bootstrap, logger: silentLogger });
  register(mesh);
  process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap;
  loadGrpcJsXds().register();
  ours = new EchoClient(`mesh:///${HOST}`, credentials.createInsecure());
  theirs = new EchoClient(`xds:///${HOST}`, credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  ours?.close();
  theirs?.close();
  await mesh?.close();
  server?.close();
  delete process.env['GRPC_XDS_BOOTSTRAP'];
  await Promise.all([v1, v2, v3, bad].map((s) => s?.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function answer(client: Client, method: 'unary' | 'other', headers: Record<string, string>): Promise<string> {
  try {
    return (await unary(client, {}, { headers, deadlineMs: 10_000 }, method)).reply.server;
  } catch (err) {
    return `status ${(err as { code: number }).code}`;
  }
}

describe('Meshlet and @grpc/grpc-js-xds on the same xDS server', () => {
  it.each([
    ['unary', {}, 'v1'],
    ['other', {}, 'v2'],
    ['unary', { 'end-user': 'jason' }, 'v3'],
    ['other', { 'end-user': 'jason' }, 'v2'],
    ['unary', { 'end-user': 'adam' }, 'v2'],
    ['unary', { 'end-user': 'xadam' }, 'v1'],
    ['unary', { 'x-throttle': '1' }, `status ${status.RESOURCE_EXHAUSTED}`],
  ] as const)('%s with %j goes to %s through both', async (method, headers, expected) => {
    const [a, b] = await Promise.all([answer(ours, method, headers), answer(theirs, method, headers)]);
    expect(b).toBe(expected);
    expect(a).toBe(b);
  });

  it('split a weighted route the same way (400 calls each, within a tolerance that cannot flake)', async () => {
    for (const client of [ours, theirs]) {
      const counts: Record<string, number> = {};
      for (let i = 0; i < 4; i++) {
        const batch = await Promise.all(Array.from({ length: 100 }, () => answer(client, 'unary', { 'x-split': '1' })));
        for (const s of batch) counts[s] = (counts[s] ?? 0) + 1;
      }
      expect(Object.keys(counts).sort()).toEqual(['v1', 'v3']);
      // Binomial(400, 0.5): sd = 10; ±8 sd.
      expect(Math.abs(counts['v1']! - 200)).toBeLessThan(80);
    }
  });

  it("ride over a failing endpoint with the route's retry policy (unavailable); Meshlet also avoids the host it just tried", async () => {
    const run = async (client: Client) => {
      const before = bad.calls.length;
      const answers = await Promise.all(Array.from({ length: 20 }, () => answer(client, 'unary', { 'x-flaky': '1' })));
      return { answers, badTries: bad.calls.length - before };
    };
    const mine = await run(ours);
    const theirsResult = await run(theirs);
    // Both retry UNAVAILABLE on the same policy, and both really met the failing endpoint.
    expect(mine.badTries).toBeGreaterThan(0);
    expect(theirsResult.badTries).toBeGreaterThan(0);
    // Meshlet applies Istio's previous-hosts predicate, so a retry never returns to the endpoint
    // that just failed and every call succeeds. gRFC A44 has no such predicate: grpc-js-xds's
    // retry may land on the failing endpoint again and exhaust its attempts.
    expect(mine.answers).toEqual(Array.from({ length: 20 }, () => 'v3'));
    for (const a of theirsResult.answers) expect(['v3', `status ${status.UNAVAILABLE}`]).toContain(a);
  });
});
