// gRPC over mesh mTLS with real certificates: a Meshlet gRPC server (bindMesh: PeerAuthentication
// modes, AuthorizationPolicy interceptor, the caller's SPIFFE ID), Meshlet mesh:/// clients
// (meshCredentials(), per-cluster TLS; its own cases are in mtls.test.ts), and @grpc/grpc-js-xds — gRPC's own A29 implementation, reading the
// bootstrap's file_watcher certificate provider and the transport socket our xDS server sends —
// calling the Meshlet server over mTLS.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, Server, status, type Client, type ServerUnaryCall, type sendUnaryData, type ServiceError } from '@grpc/grpc-js';
import { createMesh, silentLogger, XdsServer, type Mesh } from '@meshlet/core';
import { meshCredentials, register } from '../src/index.ts';
import { bindMesh, peerIdentityOfCall, type MeshBinding } from '../src/server-credentials.ts';
import { EchoClient, EchoService } from './helpers/echo-server.ts';
import { createPki, id, type Pki } from '../../http/test/helpers/mtls.ts';

const FQDN = 'echo.default.svc.cluster.local';
const loadGrpcJsXds = () => createRequire(new URL('../../core/package.json', import.meta.url))('@grpc/grpc-js-xds') as { register(): void; XdsChannelCredentials: new (fallback: unknown) => import('@grpc/grpc-js').ChannelCredentials };

let pki: Pki;
let serverMesh: Mesh;
let server: Server;
let binding: MeshBinding;
const cleanup: (() => Promise<void> | void)[] = [];

const echo = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, { server: 'meshlet', peer: peerIdentityOfCall(call) ?? null, path: call.getPath() });

function writeYaml(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
  return dir;
}

function call(client: Client, method: 'unary' | 'other', deadlineMs = 5000): Promise<{ server: string; peer: string | null; path: string }> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (r: object, md: Metadata, o: object, cb: (e: ServiceError | null, v?: unknown) => void) => void>)[method]!({}, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, v) => (err ? reject(err) : resolve(v as { server: string; peer: string | null; path: string })));
  });
}

beforeAll(async () => {
  pki = createPki();
  pki.issue('echo', 'echo');
  pki.issue('sleep', 'sleep');
  pki.issue('xds-client', 'grpc-js-xds');
  serverMesh = await createMesh({
    config: writeYaml(join(pki.root, 'srv'), 'security.yaml', `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-other, namespace: default }
spec:
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/test.Echo/Other"] } }] }]
`),
    watch: false, logger: silentLogger, namespace: 'default', certs: pki.dir('echo'),
  });
  server = new Server();
  server.addService(EchoService, { unary: echo, other: echo, clientStream: () => {}, serverStream: () => {}, bidi: () => {} });
  binding = await bindMesh(server, { mesh: serverMesh });
}, 30_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await binding?.close();
  server?.forceShutdown();
  await serverMesh?.close();
  pki?.cleanup();
});

function clientMeshConfig(dir: string, sa: string): string {
  return writeYaml(dir, 'echo.yaml', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [${FQDN}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${binding.port} }, serviceAccount: ${sa} }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: ${FQDN}
  # grpc-js-xds balances with ROUND_ROBIN or ring hash only; Istio's default is LEAST_REQUEST.
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL }, loadBalancer: { simple: ROUND_ROBIN } }
`);
}

async function meshletClient(sa = 'echo', certs: string | null = pki.dir('sleep')): Promise<Client> {
  const mesh = await createMesh({ config: clientMeshConfig(join(pki.root, `cli-${sa}-${Math.random().toString(36).slice(2)}`), sa), watch: false, logger: silentLogger, ...(certs && { certs }) });
  register(mesh);
  const client = new EchoClient(`mesh:///${FQDN}:9000`, meshCredentials());
  cleanup.push(async () => { client.close(); await mesh.close(); });
  return client;
}

describe('Meshlet gRPC client and server over mTLS', () => {
  it('calls with ISTIO_MUTUAL; the server sees the caller\'s SPIFFE ID', async () => {
    const reply = await call(await meshletClient(), 'unary');
    expect(reply).toEqual({ server: 'meshlet', peer: id('sleep'), path: '/test.Echo/Unary' });
  });

  it('AuthorizationPolicy denies one method and allows another', async () => {
    const client = await meshletClient();
    await expect(call(client, 'other')).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: 'RBAC: access denied' });
    expect((await call(client, 'unary')).peer).toBe(id('sleep'));
  });

  it('refuses a server with another identity, naming both', async () => {
    const err = await call(await meshletClient('ratings'), 'unary', 3000).then(() => undefined, (e: ServiceError) => e);
    expect(err?.code).toBe(status.UNAVAILABLE);
    expect(err?.details).toContain(`expected one of [${id('ratings')}], the server presented [${id('echo')}]`);
  });

  it('a missing client certificate fails the call; it is never sent in plaintext', async () => {
    const err = await call(await meshletClient('echo', null), 'unary', 3000).then(() => undefined, (e: ServiceError) => e);
    expect(err?.code).toBe(status.UNAVAILABLE);
    expect(err?.details).toContain('certificate provider instance "default" is not configured');
  });

  it('STRICT refuses a plaintext client', async () => {
    const client = new EchoClient(`127.0.0.1:${binding.port}`, credentials.createInsecure());
    cleanup.push(() => client.close());
    await expect(call(client, 'unary', 3000)).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});

describe('an Envoy sidecar client', () => {
  it('is served under ALPN istio-h2 (a sidecar offers only Istio\'s names) with its identity', async () => {
    const { connect: h2connect } = await import('node:http2');
    const { connect: tlsConnect } = await import('node:tls');
    const { readFileSync } = await import('node:fs');
    const read = (f: string) => readFileSync(join(pki.dir('sleep'), f), 'utf8');
    const session = h2connect(`https://127.0.0.1:${binding.port}`, {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port: binding.port, ca: read('root-cert.pem'), cert: read('cert-chain.pem'), key: read('key.pem'), ALPNProtocols: ['istio-h2', 'istio'], checkServerIdentity: () => undefined }),
    });
    try {
      const { body, status: grpcStatus } = await new Promise<{ body: Buffer; status: string | undefined }>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers' });
        const chunks: Buffer[] = [];
        let trailers: Record<string, unknown> = {};
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('trailers', (t) => { trailers = t; });
        req.on('end', () => resolve({ body: Buffer.concat(chunks), status: trailers['grpc-status'] as string | undefined }));
        req.on('error', reject);
        const msg = Buffer.from('{}');
        const frame = Buffer.alloc(5 + msg.length);
        frame.writeUInt32BE(msg.length, 1);
        msg.copy(frame, 5);
        req.end(frame);
      });
      expect(grpcStatus).toBe('0');
      expect(JSON.parse(body.subarray(5).toString())).toEqual({ server: 'meshlet', peer: id('sleep'), path: '/test.Echo/Unary' });
    } finally {
      session.close();
    }
  });
});

describe('@grpc/grpc-js-xds (gRFC A29, file_watcher) calling a Meshlet gRPC server', () => {
  it('reads our transport socket and certificate provider, and is accepted with its own identity', async () => {
    const dir = join(pki.root, 'xds');
    clientMeshConfig(dir, 'echo');
    const xds = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    cleanup.push(() => xds.close());
    const certs = pki.dir('xds-client');
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify({
      xds_servers: [{ server_uri: xds.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
      certificate_providers: { default: { plugin_name: 'file_watcher', config: { certificate_file: join(certs, 'cert-chain.pem'), private_key_file: join(certs, 'key.pem'), ca_certificate_file: join(certs, 'root-cert.pem'), refresh_interval: '60s' } } },
    }));
    process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap;
    const grpcJsXds = loadGrpcJsXds();
    grpcJsXds.register();
    const client = new EchoClient(`xds:///${FQDN}:9000`, new grpcJsXds.XdsChannelCredentials(credentials.createInsecure()));
    cleanup.push(() => { client.close(); delete process.env['GRPC_XDS_BOOTSTRAP']; });
    const reply = await call(client, 'unary', 10_000);
    expect(reply).toEqual({ server: 'meshlet', peer: id('grpc-js-xds'), path: '/test.Echo/Unary' });
  });
});
