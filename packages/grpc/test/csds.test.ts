// CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) for Meshlet, as @grpc/grpc-js-xds
// serves it for its own client: through grpc-js's addAdminServicesToServer once the drop-in's
// register() ran, and through addMeshAdminServices on any grpc-js server. The answers are read
// with protobufjs over the reference .proto files (an independent decoder), and list the
// resources a real `meshlet xds` served, with their versions and ACK state.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAdminServicesToServer, Client, credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { createMesh, silentLogger, XdsServer, type Mesh } from '@meshlet/core';
import { addMeshAdminServices } from '@meshlet/grpc';
import { loadReferenceRoot } from '../../core/scripts/reference-protos.ts';
import { startEchoServer, type EchoServer } from './helpers/echo-server.ts';

const SERVICE = '/envoy.service.status.v3.ClientStatusDiscoveryService';
const root = loadReferenceRoot();
const Request = root.lookupType('envoy.service.status.v3.ClientStatusRequest');
const Response = root.lookupType('envoy.service.status.v3.ClientStatusResponse');

interface Decoded {
  config: { node: { id: string }; generic_xds_configs: { type_url: string; name: string; version_info: string; client_status: string; xds_config?: { type_url: string } }[] }[];
}

const decode = (b: Buffer): Decoded => Response.toObject(Response.decode(b), { enums: String, longs: String, defaults: true }) as Decoded;
const encode = (req: object): Buffer => Buffer.from(Request.encode(Request.fromObject(req)).finish());

function fetchStatus(address: string, req: object = {}): Promise<Decoded> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise<Decoded>((resolve, reject) => {
    client.makeUnaryRequest(`${SERVICE}/FetchClientStatus`, (r: Buffer) => r, (b: Buffer) => b, encode(req), new Metadata(), { deadline: Date.now() + 5000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(decode(res!));
    });
  });
}

async function serve(add: (s: Server) => void): Promise<{ address: string; server: Server }> {
  const server = new Server();
  add(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, server };
}

let echo: EchoServer;
let dir: string;
let control: XdsServer;
const cleanup: (() => unknown)[] = [];
const ECHO = 'echo.default.svc.cluster.local:9000';

beforeAll(async () => {
  echo = await startEchoServer('v1');
  dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-csds-'));
  writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${echo.port} } }]
`);
  control = await XdsServer.start({ config: [join(dir, 'mesh.yaml')], listen: '127.0.0.1:0', logger: silentLogger });
  const bootstrap = join(dir, 'bootstrap.json');
  writeFileSync(bootstrap, JSON.stringify({
    xds_servers: [{ server_uri: control.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~csds-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
  }));
  process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap;
}, 30_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  control?.close();
  delete process.env['GRPC_XDS_BOOTSTRAP'];
  await echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CSDS', () => {
  it("is served by grpc-js's addAdminServicesToServer after @meshlet/grpc/xds's register(), with every resource and its state", async () => {
    const xds = await import('@meshlet/grpc/xds');
    xds.register();
    const mesh = (await xds.mesh())!;
    cleanup.push(() => mesh.close());
    expect(await mesh.ensureService('echo', 9000)).toBe(true);
    const { address, server } = await serve((s) => addAdminServicesToServer(s));
    cleanup.push(() => server.forceShutdown());
    const res = await fetchStatus(address);
    expect(res.config).toHaveLength(1);
    expect(res.config[0]!.node.id).toBe('sidecar~127.0.0.1~csds-1.default~default.svc.cluster.local');
    const byName = new Map(res.config[0]!.generic_xds_configs.map((c) => [c.name, c]));
    const listener = byName.get(ECHO)!;
    expect(listener).toMatchObject({ type_url: 'type.googleapis.com/envoy.config.listener.v3.Listener', client_status: 'ACKED', version_info: '1' });
    expect(listener.xds_config?.type_url).toBe('type.googleapis.com/envoy.config.listener.v3.Listener');
    expect(byName.get('outbound|9000||echo.default.svc.cluster.local')?.client_status).toBe('ACKED');
    expect(res.config[0]!.generic_xds_configs.map((c) => c.type_url)).toContain('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment');
  });

  it('is served by addMeshAdminServices on any grpc-js server, over StreamClientStatus too', async () => {
    const mesh: Mesh = await createMesh({ config: join(dir, 'mesh.yaml'), watch: false, logger: silentLogger });
    cleanup.push(() => mesh.close());
    const { address, server } = await serve((s) => addMeshAdminServices(s, mesh));
    cleanup.push(() => server.forceShutdown());
    const client = new Client(address, credentials.createInsecure());
    cleanup.push(() => client.close());
    const call = client.makeBidiStreamRequest(`${SERVICE}/StreamClientStatus`, (r: Buffer) => r, (b: Buffer) => b);
    const answers: Decoded[] = [];
    const two = new Promise<void>((resolve, reject) => {
      call.on('data', (b: Buffer) => { answers.push(decode(b)); if (answers.length === 2) resolve(); });
      call.on('error', reject);
    });
    call.write(encode({}));
    call.write(encode({}));
    await two;
    call.end();
    for (const a of answers) {
      expect(a.config[0]!.node.id).toBe('meshlet~embedded~default');
      expect(a.config[0]!.generic_xds_configs.find((c) => c.name === ECHO)?.client_status).toBe('ACKED');
    }
  });

  it('refuses node matchers, as grpc-js-xds does', async () => {
    const mesh: Mesh = await createMesh({ config: join(dir, 'mesh.yaml'), watch: false, logger: silentLogger });
    cleanup.push(() => mesh.close());
    const { address, server } = await serve((s) => addMeshAdminServices(s, mesh));
    cleanup.push(() => server.forceShutdown());
    const err = await fetchStatus(address, { node_matchers: [{ node_id: { exact: 'x' } }] }).then(() => undefined, (e: ServiceError) => e);
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
  });
});
