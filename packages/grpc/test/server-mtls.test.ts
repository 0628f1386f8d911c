// The inbound side for grpc-js servers through the package entry: bindMesh() terminates mesh
// mTLS as PeerAuthentication says (STRICT refuses plaintext, PERMISSIVE takes both on one port),
// handlers learn the caller's SPIFFE identity, and AuthorizationPolicy denies with
// PERMISSION_DENIED "RBAC: access denied". Clients are Meshlet mesh:/// channels with their own
// workload certificates, and a plain grpc-js channel. (mtls-grpc.test.ts covers the rest,
// with @grpc/grpc-js-xds as a client.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server, status, type ServerUnaryCall, type sendUnaryData, type Client } from '@grpc/grpc-js';
import { createMesh, issueDevCertificates, silentLogger, type Logger, type Mesh } from '@meshlet/core';
import { bindMesh, meshCredentials, peerIdentityOfCall, register, type MeshBinding } from '@meshlet/grpc';
import { EchoClient, EchoService, type EchoReply, type EchoRequest } from './helpers/echo-server.ts';
import { unary, unaryError } from './helpers/calls.ts';

const id = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;
let root: string;

const issue = (name: string, sa: string) => issueDevCertificates({ out: join(root, name), caDir: join(root, 'ca'), namespace: 'default', serviceAccount: sa }).dir;

function yamlDir(name: string, text: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mesh.yaml'), text);
  return dir;
}

const serverPolicies = (mode: string) => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec: { mtls: { mode: ${mode} } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: echo, namespace: default }
spec:
  selector: { matchLabels: { app: echo } }
  action: ALLOW
  rules:
    - from: [{ source: { principals: [cluster.local/ns/default/sa/frontend] } }]
      to: [{ operation: { paths: [/test.Echo/Unary] } }]
`;

const clientConfig = (port: number) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${port} }, serviceAccount: echo }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo.default.svc.cluster.local
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
`;

interface Running { server: Server; binding: MeshBinding; mesh: Mesh; port: number; warnings: string[] }

async function startServer(mode: 'STRICT' | 'PERMISSIVE'): Promise<Running> {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push(typeof obj === 'string' ? obj : msg ?? '') };
  const mesh = await createMesh({ config: yamlDir(`server-${mode}`, serverPolicies(mode)), certs: join(root, 'echo'), watch: false, logger, labels: { app: 'echo' } });
  const server = new Server();
  const reply = (path: string) => (call: ServerUnaryCall<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => cb(null, { server: 'mesh-server', path, text: peerIdentityOfCall(call) ?? 'plaintext' });
  server.addService(EchoService, { unary: reply('/test.Echo/Unary'), other: reply('/test.Echo/Other') });
  const binding = await bindMesh(server, { mesh });
  return { server, binding, mesh, port: binding.port, warnings };
}

async function meshClient(port: number, sa: string, fn: (c: Client) => Promise<void>): Promise<void> {
  const mesh = await createMesh({ config: yamlDir(`client-${sa}-${port}`, clientConfig(port)), certs: join(root, sa), watch: false, logger: silentLogger });
  register(mesh);
  const c = new EchoClient('mesh:///echo.default.svc.cluster.local:9000', meshCredentials());
  try {
    await fn(c);
  } finally {
    c.close();
    await mesh.close();
  }
}

let strict: Running, permissive: Running;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'meshlet-grpc-server-'));
  issue('echo', 'echo');
  issue('frontend', 'frontend');
  issue('intruder', 'intruder');
  strict = await startServer('STRICT');
  permissive = await startServer('PERMISSIVE');
});
afterAll(async () => {
  for (const r of [strict, permissive]) {
    await r?.binding.close();
    r?.server.forceShutdown();
    await r?.mesh.close();
  }
  rmSync(root, { recursive: true, force: true });
});

describe('bindMesh', () => {
  it("terminates mesh mTLS and tells the handler the caller's SPIFFE identity", async () => {
    await meshClient(strict.port, 'frontend', async (c) => {
      const { reply } = await unary(c);
      expect(reply).toMatchObject({ server: 'mesh-server', text: id('frontend') });
    });
  });

  it('refuses plaintext on a STRICT port and says why', async () => {
    const plain = new EchoClient(`127.0.0.1:${strict.port}`, credentials.createInsecure());
    try {
      const err = await unaryError(plain, {}, { deadlineMs: 5000 });
      expect(err.code).toBe(status.UNAVAILABLE);
    } finally {
      plain.close();
    }
    expect(strict.warnings.some((w) => /^plaintext connection refused: port \d+ requires mTLS/.test(w))).toBe(true);
  });

  it('takes mTLS and plaintext on the same PERMISSIVE port', async () => {
    await meshClient(permissive.port, 'frontend', async (c) => {
      expect((await unary(c)).reply.text).toBe(id('frontend'));
    });
    const plain = new EchoClient(`127.0.0.1:${permissive.port}`, credentials.createInsecure());
    try {
      // Plaintext has no identity, so the ALLOW rule for frontend does not let it call.
      const err = await unaryError(plain);
      expect(err.code).toBe(status.PERMISSION_DENIED);
    } finally {
      plain.close();
    }
  });

  it('denies what AuthorizationPolicy does not allow with PERMISSION_DENIED "RBAC: access denied"', async () => {
    await meshClient(strict.port, 'frontend', async (c) => {
      const err = await unary(c, {}, {}, 'other').then(() => undefined, (e: { code: number; details: string }) => e);
      expect(err).toMatchObject({ code: status.PERMISSION_DENIED, details: 'RBAC: access denied' });
    });
    await meshClient(strict.port, 'intruder', async (c) => {
      expect((await unaryError(c)).code).toBe(status.PERMISSION_DENIED);
    });
  });
});
