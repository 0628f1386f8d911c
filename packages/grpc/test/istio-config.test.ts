// The same Istio CRDs a sidecar would get, read by createMesh({ config }), driving grpc-js
// clients: through mesh:///, through xds:/// registered on the same mesh, and through the
// @meshlet/grpc/xds drop-in that replaces @grpc/grpc-js-xds with one changed import.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary, unaryError } from './helpers/calls.ts';

const HOST = 'echo.default.svc.cluster.local:9000';

let v1: EchoServer, v2: EchoServer, bad: EchoServer;
let dir: string;
let mesh: Mesh;

function yaml(): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: 9000, name: grpc, protocol: GRPC }
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${v1.port} }, labels: { version: v1, pool: a } }
    - { address: 127.0.0.1, ports: { grpc: ${v2.port} }, labels: { version: v2 } }
    - { address: 127.0.0.1, ports: { grpc: ${bad.port} }, labels: { version: v3, pool: a } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
    - { name: pool-a, labels: { pool: a } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo]
  http:
    - name: other-to-v2
      match:
        - uri: { exact: /test.Echo/Other }
      route:
        - destination: { host: echo, subset: v2 }
    - name: jason
      match:
        - headers: { end-user: { exact: jason } }
      route:
        - destination: { host: echo, subset: v2 }
    - name: flaky-pool
      match:
        - headers: { x-pool: { exact: a } }
      route:
        - destination: { host: echo, subset: pool-a }
    - name: throttled
      match:
        - headers: { x-throttle: { exact: "1" } }
      fault:
        abort:
          grpcStatus: RESOURCE_EXHAUSTED
          percentage: { value: 100 }
      route:
        - destination: { host: echo, subset: v1 }
    - name: default
      timeout: 2s
      route:
        - destination: { host: echo, subset: v1 }
`;
}

beforeAll(async () => {
  v1 = await startEchoServer('v1');
  v2 = await startEchoServer('v2');
  bad = await startEchoServer('bad', { failWith: { code: status.UNAVAILABLE, details: 'bad is down' } });
  dir = await mkdtemp(join(tmpdir(), 'meshlet-grpc-'));
  await writeFile(join(dir, 'mesh.yaml'), yaml());
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
  register(mesh, { xds: true });
});
afterAll(async () => {
  await mesh.close();
  await Promise.all([v1, v2, bad].map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

describe.each(['mesh', 'xds'])('Istio CRDs through %s:///', (scheme) => {
  it('route by method and by metadata as the VirtualService says', async () => {
    const c = new EchoClient(`${scheme}:///${HOST}`, credentials.createInsecure());
    try {
      expect((await unary(c)).reply.server).toBe('v1');
      expect((await unary(c, {}, {}, 'other')).reply.server).toBe('v2');
      expect((await unary(c, {}, { headers: { 'end-user': 'jason' } })).reply.server).toBe('v2');
    } finally {
      c.close();
    }
  });

  it("ride over a failing endpoint with Istio's default retry policy", async () => {
    const c = new EchoClient(`${scheme}:///${HOST}`, credentials.createInsecure());
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => unary(c, {}, { headers: { 'x-pool': 'a' } })));
      expect(results.every((r) => r.reply.server === 'v1')).toBe(true);
      expect(bad.calls.length).toBeGreaterThan(0);
    } finally {
      c.close();
    }
  });

  it('abort with the grpcStatus of a VirtualService fault', async () => {
    const c = new EchoClient(`${scheme}:///${HOST}`, credentials.createInsecure());
    try {
      const err = await unaryError(c, {}, { headers: { 'x-throttle': '1' } });
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(err.details).toContain('throttled');
    } finally {
      c.close();
    }
  });
});

describe('decisions', () => {
  it('match what mesh.explain() says for the same request', async () => {
    const c = new EchoClient(`mesh:///${HOST}`, credentials.createInsecure());
    try {
      for (const [path, headers, server] of [['/test.Echo/Other', {}, 'v2'], ['/test.Echo/Unary', { 'end-user': 'jason' }, 'v2'], ['/test.Echo/Unary', {}, 'v1']] as const) {
        const e = mesh.explain({ method: 'POST', url: `http://${HOST}${path}`, headers: { ...headers, 'content-type': 'application/grpc' } });
        expect(JSON.stringify(e)).toContain(`outbound|9000|${server}|echo.default.svc.cluster.local`);
        const r = await unary(c, {}, { headers }, path.endsWith('Other') ? 'other' : 'unary');
        expect(r.reply.server).toBe(server);
      }
    } finally {
      c.close();
    }
  });
});

describe('@meshlet/grpc/xds, the drop-in for @grpc/grpc-js-xds', () => {
  it('serves xds:/// targets from the mesh config the environment names', async () => {
    process.env['MESHLET_CONFIG'] = dir;
    const xds = await import('@meshlet/grpc/xds');
    xds.register();
    const c = new EchoClient(`xds:///${HOST}`, new xds.XdsChannelCredentials(credentials.createInsecure()));
    try {
      expect((await unary(c, {}, {}, 'other')).reply.server).toBe('v2');
    } finally {
      c.close();
      await (await xds.mesh())?.close();
      delete process.env['MESHLET_CONFIG'];
      // Give xds:/// back to the mesh the other tests registered.
      register(mesh, { xds: true });
    }
  });
});
