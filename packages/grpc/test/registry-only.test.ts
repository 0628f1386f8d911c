// REGISTRY_ONLY for grpc-js clients through mesh:///: a target outside the registry ends at once
// with UNAVAILABLE (what Envoy's 502 from BlackHoleCluster becomes for gRPC) and the
// MESHLET_OUTBOUND_BLOCKED code in the `meshlet-error` trailer, without reaching the server; a
// ServiceEntry target is served. And the server side of a Sidecar: bindMesh's inbound request
// limit. Real grpc-js servers on 127.0.0.1.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server, status } from '@grpc/grpc-js';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { bindMesh, register } from '@meshlet/grpc';
import { EchoClient, EchoService, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary, unaryError } from './helpers/calls.ts';

let known: EchoServer, outside: EchoServer;
let dir: string;
let mesh: Mesh;

beforeAll(async () => {
  known = await startEchoServer('known');
  outside = await startEchoServer('outside');
  dir = await mkdtemp(join(tmpdir(), 'meshlet-grpc-registry-only-'));
  await writeFile(join(dir, 'mesh.yaml'), 'outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');
  await writeFile(join(dir, 'echo.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${known.port} } }]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: server, namespace: default }
spec:
  workloadSelector: { labels: { app: echo } }
  inboundConnectionPool: { http: { http2MaxRequests: 1 } }
`);
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, labels: { app: 'echo' } });
  register(mesh);
});
afterAll(async () => {
  await mesh.close();
  await Promise.all([known, outside].map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('REGISTRY_ONLY through mesh:///', () => {
  it('ends a call to a target outside the registry with UNAVAILABLE and MESHLET_OUTBOUND_BLOCKED', async () => {
    const c = new EchoClient(`mesh:///127.0.0.1:${outside.port}`, credentials.createInsecure());
    try {
      const err = await unaryError(c);
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toMatch(/^meshlet: 127\.0\.0\.1:\d+ is not a service of the mesh and the outbound traffic policy is REGISTRY_ONLY \(set by MeshConfig .*mesh\.yaml:1\)/);
      expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_OUTBOUND_BLOCKED']);
      expect(outside.calls).toHaveLength(0);
    } finally {
      c.close();
    }
  });

  it('serves a ServiceEntry target', async () => {
    const c = new EchoClient('mesh:///echo.default.svc.cluster.local:9000', credentials.createInsecure());
    try {
      expect((await unary(c)).reply.server).toBe('known');
    } finally {
      c.close();
    }
  });
});

describe('bindMesh under a Sidecar\'s inboundConnectionPool', () => {
  it('ends a call over http2MaxRequests with UNAVAILABLE before the handler, and serves the next one', async () => {
    const server = new Server();
    let release: (() => void) | undefined;
    let handled = 0;
    server.addService(EchoService, {
      unary: (_call: unknown, cb: (err: null, reply: { server: string }) => void) => {
        handled++;
        // The first call stays in progress until the test lets it go.
        if (handled === 1) release = () => cb(null, { server: 'slow' });
        else cb(null, { server: 'fast' });
      },
    } as never);
    const binding = await bindMesh(server, { mesh, authorization: false });
    const c = new EchoClient(`127.0.0.1:${binding.port}`, credentials.createInsecure());
    try {
      const first = unary(c);
      const deadline = Date.now() + 5000;
      while (!release && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const err = await unaryError(c);
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toContain('http2MaxRequests=1 (Sidecar default/server inboundConnectionPool)');
      expect(handled).toBe(1);
      release!();
      expect((await first).reply.server).toBe('slow');
      expect((await unary(c)).reply.server).toBe('fast');
    } finally {
      c.close();
      await binding.close();
      server.forceShutdown();
    }
  });
});
