// Observe mode (createMesh({ mode: 'observe' })): every decision is computed, and the call goes
// where the caller pointed, as if the mesh were absent — the way to switch Meshlet on in front
// of live traffic before it steers anything.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { createMesh, silentLogger } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary } from './helpers/calls.ts';

let direct: EchoServer, routed: EchoServer;
let dir: string;

beforeAll(async () => {
  direct = await startEchoServer('direct');
  routed = await startEchoServer('routed');
  dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-observe-'));
  // `localhost:<direct>` is a mesh service whose VirtualService sends everything to `routed`.
  writeFileSync(join(dir, 'mesh.yaml'), `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: local, namespace: default }
spec:
  hosts: [localhost]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: ${direct.port}, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${routed.port} } }
`);
});
afterAll(async () => {
  await Promise.all([direct.close(), routed.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('observe mode', () => {
  it.each([['enforce', 'routed'], ['observe', 'direct']] as const)('in %s mode the call goes to %s', async (mode, expected) => {
    const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, mode, telemetry: false });
    register(mesh);
    const c = new EchoClient(`mesh:///localhost:${direct.port}`, credentials.createInsecure());
    try {
      expect((await unary(c)).reply.server).toBe(expected);
    } finally {
      c.close();
      await mesh.close();
    }
  });
});
