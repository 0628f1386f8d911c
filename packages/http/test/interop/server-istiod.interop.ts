// End to end with istiod: a Meshlet HTTP server in xDS mode asks istiod's DiscoveryServer for
// its own inbound listener (the bootstrap's server_listener_resource_name_template, as
// istio-agent writes it) and enforces what istiod put there — STRICT mTLS from a mesh-wide
// PeerAuthentication and the RBAC filters of the AuthorizationPolicies selecting it — over real
// sockets, against callers with real workload certificates.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request, Agent } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent, createMeshServer, peerIdentity, type MeshServer, type RefusedConnection } from '../../src/index.ts';
import { FQDN, clientConfig, createPki, id, type Pki } from '../helpers/mtls.ts';
import { buildGo, HAS_GO, startGoServer, type GoServer } from '../../../core/test/interop/go-build.ts';
import { tempDir, writeConfig } from '../../../core/test/xds-helpers.ts';

const crds = (port: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP, targetPort: ${port} }]
  endpoints:
  - { address: 127.0.0.1, serviceAccount: reviews, labels: { app: reviews } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }]
    to: [{ operation: { methods: ["GET"], paths: ["/api/*"] } }]
  - to: [{ operation: { paths: ["/health"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-admin, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/api/admin"] } }] }]
`;

describe.skipIf(!HAS_GO)('a Meshlet HTTP server following its inbound listener from istiod', () => {
  let pki: Pki;
  let istiod: GoServer;
  let mesh: Mesh;
  let server: MeshServer;
  let port: number;
  const refused: RefusedConnection[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    pki = createPki();
    pki.issue('reviews', 'reviews');
    pki.issue('sleep', 'sleep');
    pki.issue('intruder', 'intruder');
    // istiod answers only for a port of a Service selecting the workload: take a free port first.
    const probe = createServer();
    port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)));
    await new Promise((resolve) => probe.close(resolve));
    const dir = tempDir('istiod-server');
    writeConfig(dir, { 'crds.yaml': crds(port) });
    istiod = await startGoServer(await buildGo('istiod'), ['-config', dir]);
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify({
      xds_servers: [{ server_uri: istiod.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~reviews-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'reviews' } } },
      server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
    }));
    mesh = await createMesh({ bootstrap, logger: silentLogger, certs: pki.dir('reviews') });
    server = createMeshServer({ mesh }, (req, res) => res.end(JSON.stringify({ peer: peerIdentity(req) ?? null, path: req.url })));
    server.on('refused', (r: RefusedConnection) => refused.push(r));
    await server.listen(port);
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    await server?.close();
    await mesh?.close();
    await istiod?.stop();
    pki?.cleanup();
  });

  async function get(sa: string, path: string): Promise<{ status: number; body: string }> {
    const client = await createMesh({ config: clientConfig(join(pki.root, `cli-${sa}-${Math.random().toString(36).slice(2)}`), { port }), watch: false, logger: silentLogger, certs: pki.dir(sa) });
    const agent = new MeshAgent({ mesh: client });
    closers.push(async () => { await agent.close(); await client.close(); });
    const res = await request(`http://${FQDN}:9080${path}`, { dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  }

  it('takes STRICT from istiod: plaintext is refused, naming the listener', async () => {
    expect(server.mtlsMode(port)).toEqual({ mode: 'STRICT', source: `xDS inbound listener xds.istio.io/grpc/lds/inbound/127.0.0.1:${port}` });
    const plain = new Agent();
    closers.push(() => plain.close());
    await expect(request(`http://127.0.0.1:${port}/health`, { dispatcher: plain })).rejects.toThrow();
    expect(refused.at(-1)!.reason).toBe(`plaintext connection refused: port ${port} requires mTLS (xDS inbound listener xds.istio.io/grpc/lds/inbound/127.0.0.1:${port})`);
  });

  it("decides requests with istiod's RBAC filters", async () => {
    expect(JSON.parse((await get('sleep', '/api/books')).body)).toEqual({ peer: id('sleep'), path: '/api/books' });
    expect(await get('sleep', '/api/admin')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect((await get('intruder', '/api/books')).status).toBe(403);
    expect((await get('intruder', '/health')).status).toBe(200);
  });
});
