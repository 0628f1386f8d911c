// The drop-in claim, end to end: a service written for @grpc/grpc-js-xds (GRPC_XDS_BOOTSTRAP
// pointing at a control plane, xds.register(), xds:/// targets, XdsChannelCredentials) changes
// only its import to '@meshlet/grpc/xds' and keeps working against the same control plane
// (here `meshlet xds` serving Istio CRDs), with services fetched on first use.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { silentLogger, XdsServer } from '@meshlet/core';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary, unaryError } from './helpers/calls.ts';

let v1: EchoServer, v2: EchoServer;
let dir: string;
let server: XdsServer;

beforeAll(async () => {
  [v1, v2] = await Promise.all([startEchoServer('v1'), startEchoServer('v2')]);
  dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-dropin-'));
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
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo]
  http:
    - match: [{ uri: { exact: /test.Echo/Other } }]
      route: [{ destination: { host: echo, subset: v2 } }]
    - route: [{ destination: { host: echo, subset: v1 } }]
`);
  server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
  const bootstrap = join(dir, 'bootstrap.json');
  writeFileSync(bootstrap, JSON.stringify({
    xds_servers: [{ server_uri: server.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
  }));
  process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap;
}, 30_000);

afterAll(async () => {
  const xds = await import('@meshlet/grpc/xds');
  await (await xds.mesh())?.close();
  server?.close();
  delete process.env['GRPC_XDS_BOOTSTRAP'];
  await Promise.all([v1, v2].map((s) => s?.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe("@meshlet/grpc/xds with grpc-js-xds's setup", () => {
  it('routes xds:/// calls as the control plane says, fetching the service on first use', async () => {
    const xds = await import('@meshlet/grpc/xds');
    xds.register();
    const client = new EchoClient('xds:///echo.default.svc.cluster.local:9000', new xds.XdsChannelCredentials(credentials.createInsecure()));
    try {
      expect((await unary(client, {}, { deadlineMs: 10_000 })).reply.server).toBe('v1');
      expect((await unary(client, {}, { deadlineMs: 10_000 }, 'other')).reply.server).toBe('v2');
      expect((await xds.mesh())!.configDump().listeners.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('fails a service the control plane does not have with UNAVAILABLE once xDS says it is absent (15 s), not a hang', async () => {
    const xds = await import('@meshlet/grpc/xds');
    xds.register();
    const client = new EchoClient('xds:///missing.default.svc.cluster.local:9000', new xds.XdsChannelCredentials(credentials.createInsecure()));
    try {
      const err = await unaryError(client, {}, { deadlineMs: 20_000 });
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toContain('the control plane has no service missing.default.svc.cluster.local:9000');
      expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_NO_SERVICE']);
    } finally {
      client.close();
    }
  }, 30_000);
});
