// Server policy from the control plane, for gRPC. In xDS mode bindMesh subscribes to the
// server's own inbound listener (gRFC A36 name from the bootstrap template) and enforces its
// mTLS mode and RBAC filters. `meshlet xds` serves that listener from PeerAuthentication and
// AuthorizationPolicy files as istiod's grpc generator does — and @grpc/grpc-js-xds's own
// XdsServer, an independent implementation, must accept it and enforce the same decisions; so
// must the XdsServer of Meshlet's drop-in for it (@meshlet/grpc/xds).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { createMesh, silentLogger, XdsServer, type Logger, type Mesh } from '@meshlet/core';
import { bindMesh, meshCredentials, peerIdentityOfCall, register } from '@meshlet/grpc';
import * as meshletXds from '@meshlet/grpc/xds';
import { EchoClient, EchoService, type EchoReply, type EchoRequest } from './helpers/echo-server.ts';
import { unary, unaryError } from './helpers/calls.ts';
import { createPki, id, type Pki } from '../../http/test/helpers/mtls.ts';

const FQDN = 'echo.default.svc.cluster.local';
const TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';
const grpcJsXds = () => createRequire(new URL('../../core/package.json', import.meta.url))('@grpc/grpc-js-xds') as {
  register(): void;
  XdsServer: new () => Server;
  XdsServerCredentials: new (fallback: ServerCredentials) => ServerCredentials;
};

const POLICIES = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
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

let pki: Pki;
let control: XdsServer;
const cleanup: (() => Promise<void> | void)[] = [];

function write(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** A bootstrap for the echo workload (labels app=echo) with istio-agent's server listener template and file_watcher certificates. */
function bootstrap(name: string): string {
  const certs = pki.dir('echo');
  return write(join(pki.root, name), 'bootstrap.json', JSON.stringify({
    xds_servers: [{ server_uri: control.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~echo-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'echo' } } },
    server_listener_resource_name_template: TEMPLATE,
    certificate_providers: { default: { plugin_name: 'file_watcher', config: { certificate_file: join(certs, 'cert-chain.pem'), private_key_file: join(certs, 'key.pem'), ca_certificate_file: join(certs, 'root-cert.pem'), refresh_interval: '60s' } } },
  }));
}

/** A Meshlet mesh:/// client of echo on 127.0.0.1:port with the given workload identity (embedded config, ISTIO_MUTUAL). */
async function meshClient(port: number, sa: string): Promise<EchoClient> {
  const dir = join(pki.root, `client-${sa}-${port}`);
  write(dir, 'echo.yaml', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [${FQDN}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${port} }, serviceAccount: echo }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec: { host: ${FQDN}, trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }
`);
  const mesh = await createMesh({ config: dir, certs: pki.dir(sa), watch: false, logger: silentLogger });
  register(mesh);
  const c = new EchoClient(`mesh:///${FQDN}:9000`, meshCredentials());
  cleanup.push(async () => { c.close(); await mesh.close(); });
  return c as EchoClient;
}

const reply = (call: ServerUnaryCall<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => cb(null, { server: 'echo', path: call.getPath(), text: peerIdentityOfCall(call) ?? 'plaintext' });

beforeAll(async () => {
  pki = createPki();
  pki.issue('echo', 'echo');
  pki.issue('frontend', 'frontend');
  pki.issue('intruder', 'intruder');
  const dir = join(pki.root, 'control');
  write(dir, 'policies.yaml', POLICIES);
  control = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
}, 30_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  control?.close();
  pki?.cleanup();
});

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)));
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function expectDecisions(port: number): Promise<void> {
  const frontend = await meshClient(port, 'frontend');
  expect((await unary(frontend)).reply).toMatchObject({ path: '/test.Echo/Unary', text: id('frontend') });
  expect(await unary(frontend, {}, {}, 'other').then(() => 'allowed', (e: { code: number }) => e.code)).toBe(status.PERMISSION_DENIED);
  const intruder = await meshClient(port, 'intruder');
  expect((await unaryError(intruder)).code).toBe(status.PERMISSION_DENIED);
  const plain = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure());
  cleanup.push(() => plain.close());
  expect((await unaryError(plain, {}, { deadlineMs: 5000 })).code).toBe(status.UNAVAILABLE);
}

describe('bindMesh in xDS mode', () => {
  it('enforces the mTLS mode and RBAC of its inbound listener from meshlet xds', async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push(typeof obj === 'string' ? obj : msg ?? '') };
    const mesh = await createMesh({ bootstrap: bootstrap('bind-mesh'), logger });
    const server = new Server();
    server.addService(EchoService, { unary: reply, other: reply });
    const binding = await bindMesh(server, { mesh });
    cleanup.push(async () => { await binding.close(); server.forceShutdown(); await mesh.close(); });
    expect(binding.inboundListener).toBe(`xds.istio.io/grpc/lds/inbound/127.0.0.1:${binding.port}`);
    expect(binding.mtlsMode(binding.port)).toBe('STRICT');
    await expectDecisions(binding.port);
    expect(warnings).toContain(`plaintext connection refused: port ${binding.port} requires mTLS (xDS inbound listener ${binding.inboundListener})`);
  });
});

describe('@grpc/grpc-js-xds XdsServer (gRFC A36) reading the inbound listener meshlet xds serves', () => {
  it('accepts it and enforces the same mTLS and RBAC decisions', async () => {
    // XdsServer names its listener after the address it is given, so pick a free port first.
    const port = await freePort();
    process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap('grpc-js-xds');
    // grpc-js-xds 1.14 registers its RBAC filter only behind this switch (read when it loads).
    process.env['GRPC_XDS_EXPERIMENTAL_RBAC'] = 'true';
    const xds = grpcJsXds();
    // Registers its HTTP filters (RBAC, router) as well as its resolver.
    xds.register();
    const server = new xds.XdsServer();
    server.addService(EchoService, { unary: reply, other: reply });
    cleanup.push(() => { server.forceShutdown(); delete process.env['GRPC_XDS_BOOTSTRAP']; delete process.env['GRPC_XDS_EXPERIMENTAL_RBAC']; });
    await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, new xds.XdsServerCredentials(ServerCredentials.createInsecure()), (err) => (err ? reject(err) : resolve())));
    await expectDecisions(port);
  }, 30_000);
});

describe("the @meshlet/grpc/xds drop-in's XdsServer", () => {
  it('serves a port bound with XdsServerCredentials through its inbound listener', async () => {
    process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap('meshlet-xds-server');
    const server = new meshletXds.XdsServer();
    server.addService(EchoService, { unary: reply, other: reply });
    cleanup.push(async () => {
      server.forceShutdown();
      await (await meshletXds.mesh())?.close();
      delete process.env['GRPC_XDS_BOOTSTRAP'];
    });
    // Like grpc-js-xds's, it names its listener after the address it is given: port 0 is refused.
    expect(() => server.bindAsync('127.0.0.1:0', new meshletXds.XdsServerCredentials(ServerCredentials.createInsecure()), () => {})).toThrow(/non-zero port/);
    const free = await freePort();
    const port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${free}`, new meshletXds.XdsServerCredentials(ServerCredentials.createInsecure()), (err, p) => (err ? reject(err) : resolve(p))));
    expect(port).toBe(free);
    await expectDecisions(port);
  });
});
