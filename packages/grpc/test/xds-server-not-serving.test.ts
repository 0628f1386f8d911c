// gRFC A36 for the @meshlet/grpc/xds XdsServer, as @grpc/grpc-js-xds does it: while the control
// plane is unreachable the port is not opened and bindAsync does not report it bound; once the
// control plane comes up and serves the inbound listener, the port opens and calls are served.
// And a server whose inbound listener is plaintext needs no workload certificate: it says
// nothing about one, while a STRICT port without one is reported.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { createMesh, silentLogger, XdsServer as ControlPlane, type Logger } from '@meshlet/core';
import { bindMesh } from '@meshlet/grpc';
import * as meshletXds from '@meshlet/grpc/xds';
import { EchoClient, EchoService, type EchoReply, type EchoRequest } from './helpers/echo-server.ts';
import { unary } from './helpers/calls.ts';

const TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';
const reply = (call: ServerUnaryCall<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => cb(null, { server: 'echo', path: call.getPath(), text: 'plaintext' });

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)));
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function bootstrap(dir: string, controlPort: number): string {
  const file = join(dir, `bootstrap-${controlPort}.json`);
  writeFileSync(file, JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${controlPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~echo-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'echo' } } },
    server_listener_resource_name_template: TEMPLATE,
  }));
  return file;
}

let dir: string;
const cleanup: (() => unknown)[] = [];

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-a36-')); });
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  delete process.env['GRPC_XDS_BOOTSTRAP'];
  rmSync(dir, { recursive: true, force: true });
});

describe("the drop-in's XdsServer with a control plane that is not there yet", () => {
  it('does not listen or report bound until its listener arrives, then serves', async () => {
    const controlPort = await freePort();
    process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap(dir, controlPort);
    const server = new meshletXds.XdsServer();
    server.addService(EchoService, { unary: reply, other: reply });
    cleanup.push(async () => { server.forceShutdown(); await (await meshletXds.mesh())?.close(); });
    const port = await freePort();
    let bound: number | Error | undefined;
    server.bindAsync(`127.0.0.1:${port}`, new meshletXds.XdsServerCredentials(ServerCredentials.createInsecure()), (err, p) => { bound = err ?? p; });
    // The client is retrying an unreachable server meanwhile (back-off from 1 s).
    await new Promise((r) => setTimeout(r, 2500));
    expect(bound).toBeUndefined();
    expect(await listening(port)).toBe(false);

    // The control plane comes up where the bootstrap says; the client reconnects and is served.
    writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: PERMISSIVE } }\n');
    const control = await ControlPlane.start({ config: [join(dir, 'mesh.yaml')], listen: `127.0.0.1:${controlPort}`, logger: silentLogger });
    cleanup.push(() => control.close());
    const deadline = Date.now() + 15_000;
    while (bound === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(bound).toBe(port);
    const client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanup.push(() => client.close());
    expect((await unary(client, {}, { deadlineMs: 5000 })).reply.server).toBe('echo');
  }, 30_000);

  it('gives up a bind still waiting when the server shuts down, without calling back', async () => {
    const server = new meshletXds.XdsServer();
    const port = await freePort();
    let called = false;
    // Shut down at once, before the (shared) mesh has even answered for this address.
    server.bindAsync(`127.0.0.1:${port}`, new meshletXds.XdsServerCredentials(ServerCredentials.createInsecure()), () => { called = true; });
    server.forceShutdown();
    await new Promise((r) => setTimeout(r, 500));
    expect(called).toBe(false);
    expect(await listening(port)).toBe(false);
  });
});

describe('a server without a workload certificate', () => {
  async function bindWith(policy: string): Promise<{ warnings: string[]; port: number }> {
    const sub = mkdtempSync(join(dir, 'cert-'));
    writeFileSync(join(sub, 'mesh.yaml'), policy);
    const control = await ControlPlane.start({ config: [sub], listen: '127.0.0.1:0', logger: silentLogger });
    cleanup.push(() => control.close());
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push(typeof obj === 'string' ? obj : msg ?? '') };
    const mesh = await createMesh({ bootstrap: bootstrap(sub, control.port), logger });
    const server = new Server();
    server.addService(EchoService, { unary: reply, other: reply });
    const binding = await bindMesh(server, { mesh, listenPort: await freePort(), listenWhenServing: true });
    cleanup.push(async () => { await binding.close(); server.forceShutdown(); await mesh.close(); });
    return { warnings, port: binding.port };
  }

  it('says nothing about it when its inbound listener is plaintext, and serves plaintext', async () => {
    const { warnings, port } = await bindWith('apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: PERMISSIVE } }\n');
    const client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanup.push(() => client.close());
    expect((await unary(client, {}, { deadlineMs: 5000 })).reply.text).toBe('plaintext');
    expect(warnings.filter((w) => /certificate/.test(w))).toEqual([]);
  });

  it('warns once when its port requires mTLS', async () => {
    const { warnings } = await bindWith('apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: STRICT } }\n');
    expect(warnings.filter((w) => /certificate/.test(w))).toEqual(['gRPC server has no workload certificate and its port requires mTLS: every connection will be refused']);
  });
});
