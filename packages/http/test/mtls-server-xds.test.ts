// Server policy from the control plane: in xDS mode createMeshServer subscribes to its own
// inbound listener (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`, the bootstrap's
// server_listener_resource_name_template) and enforces the mTLS mode and RBAC filters it carries
// — here served by `meshlet xds` from PeerAuthentication and AuthorizationPolicy files, over
// SotW and delta. Edits to the files reach the running server; a control plane that never
// answers leaves it refusing connections rather than guessing a policy.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request, Agent } from 'undici';
import { join } from 'node:path';
import { createMesh, silentLogger, XdsServer, type Mesh } from '@meshlet/core';
import { MeshAgent, createMeshServer, peerIdentity, type MeshServer, type RefusedConnection } from '@meshlet/http';
import { FQDN, clientConfig, createPki, id, type Pki } from './helpers/mtls.ts';
import { tempDir, waitFor, writeBootstrap, writeConfig } from '../../core/test/xds-helpers.ts';

const TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

let pki: Pki;
beforeAll(() => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('sleep', 'sleep');
  pki.issue('intruder', 'intruder', { ns: 'other' });
});
afterAll(() => pki.cleanup());

const closers: (() => Promise<void>)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
`;
const allow = (paths: string[]) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-allow, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }]
    to: [{ operation: { paths: ${JSON.stringify(paths)} } }]
`;

interface Running { port: number; server: MeshServer; mesh: Mesh; refused: RefusedConnection[] }

async function xdsServer(bootstrap: string, initialFetchTimeoutMs?: number): Promise<Running> {
  const mesh = await createMesh({ bootstrap, logger: silentLogger, certs: pki.dir('reviews'), ...(initialFetchTimeoutMs !== undefined && { xds: { initialFetchTimeoutMs } }) });
  const server = createMeshServer({ mesh }, (req, res) => res.end(JSON.stringify({ peer: peerIdentity(req) ?? null, path: req.url })));
  const refused: RefusedConnection[] = [];
  server.on('refused', (r: RefusedConnection) => refused.push(r));
  closers.push(async () => { await server.close(); await mesh.close(); });
  const port = await server.listen();
  return { port, server, mesh, refused };
}

async function meshClient(port: number, certs: string): Promise<MeshAgent> {
  const mesh = await createMesh({ config: clientConfig(join(pki.root, `cli-${Math.random().toString(36).slice(2)}`), { port }), watch: false, logger: silentLogger, certs });
  const agent = new MeshAgent({ mesh });
  closers.push(async () => { await agent.close(); await mesh.close(); });
  return agent;
}

async function get(dispatcher: MeshAgent | Agent, url: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher });
  return { status: res.statusCode, body: await res.body.text() };
}

async function refusedPlaintext(port: number): Promise<void> {
  const a = new Agent();
  try {
    await expect(request(`http://127.0.0.1:${port}/`, { dispatcher: a })).rejects.toThrow(/other side closed|ECONNRESET|socket/i);
  } finally {
    await a.close();
  }
}

describe.each([['state-of-the-world', false], ['delta', true]] as const)('createMeshServer in xDS mode (%s)', (_label, delta) => {
  let configDir: string;
  let control: XdsServer;
  beforeAll(async () => {
    configDir = tempDir('server-xds');
    writeConfig(configDir, { 'peer.yaml': STRICT, 'authz.yaml': allow(['/api/*']) });
    control = await XdsServer.start({ config: [configDir], listen: '127.0.0.1:0', logger: silentLogger, watch: true });
  });
  afterAll(() => control.close());
  const bootstrap = () => writeBootstrap(tempDir('server-xds-bs'), control.address, { delta, labels: { app: 'reviews' }, serverListenerTemplate: TEMPLATE });

  it('follows its inbound listener: STRICT refuses plaintext, RBAC decides per path and identity, edits apply live', async () => {
    const s = await xdsServer(bootstrap());
    expect(s.server.inboundListener).toBe(`xds.istio.io/grpc/lds/inbound/127.0.0.1:${s.port}`);
    expect(s.server.mtlsMode(s.port)).toEqual({ mode: 'STRICT', source: `xDS inbound listener ${s.server.inboundListener}` });

    await refusedPlaintext(s.port);
    expect(s.refused[0]!.reason).toMatch(/plaintext connection refused: port \d+ requires mTLS \(xDS inbound listener xds\.istio\.io\/grpc\/lds\/inbound\/127\.0\.0\.1:\d+\)/);

    const sleep = await meshClient(s.port, pki.dir('sleep'));
    expect(JSON.parse((await get(sleep, `http://${FQDN}:9080/api/x`)).body)).toEqual({ peer: id('sleep'), path: '/api/x' });
    expect(await get(sleep, `http://${FQDN}:9080/admin`)).toEqual({ status: 403, body: 'RBAC: access denied' });
    const intruder = await meshClient(s.port, pki.dir('intruder'));
    expect((await get(intruder, `http://${FQDN}:9080/api/x`)).status).toBe(403);

    // The control plane's files change under the running server: /admin becomes allowed, then
    // the mesh-wide policy goes, leaving istiod's PERMISSIVE form (a plaintext chain).
    writeConfig(configDir, { 'authz.yaml': allow(['/api/*', '/admin']) });
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = (await get(sleep, `http://${FQDN}:9080/admin`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(200);
    writeConfig(configDir, { 'peer.yaml': '' });
    await waitFor(() => s.server.mtlsMode(s.port).mode === 'PERMISSIVE', 5_000, 'the PERMISSIVE listener');
    const plain = new Agent();
    closers.push(() => plain.close());
    // RBAC still applies to plaintext callers: they have no principal.
    expect(await get(plain, `http://127.0.0.1:${s.port}/api/x`)).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect((await get(sleep, `http://${FQDN}:9080/api/x`)).status).toBe(200);
  });
});

describe('createMeshServer in xDS mode without an answer', () => {
  it('refuses connections while the control plane has not sent its listener', async () => {
    const s = await xdsServer(writeBootstrap(tempDir('server-xds-dead'), '127.0.0.1:1', { serverListenerTemplate: TEMPLATE }), 200);
    const sleep = await meshClient(s.port, pki.dir('sleep'));
    await expect(get(sleep, `http://${FQDN}:9080/api/x`)).rejects.toThrow();
    await refusedPlaintext(s.port);
    expect(s.refused.length).toBeGreaterThanOrEqual(2);
    for (const r of s.refused) expect(r.reason).toBe(`not serving: waiting for Listener xds.istio.io/grpc/lds/inbound/127.0.0.1:${s.port} from 127.0.0.1:1`);
  });

  it('fails to listen when the bootstrap has no server listener template, naming the file', async () => {
    const file = writeBootstrap(tempDir('server-xds-notemplate'), '127.0.0.1:1');
    const mesh = await createMesh({ bootstrap: file, logger: silentLogger, certs: pki.dir('reviews'), xds: { initialFetchTimeoutMs: 50 } });
    closers.push(() => mesh.close());
    const server = createMeshServer({ mesh }, (_req, res) => res.end());
    await expect(server.listen()).rejects.toThrow(new RegExp(`xDS bootstrap ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: server_listener_resource_name_template is not set`));
    expect(server.server.listening).toBe(false);
  });
});
