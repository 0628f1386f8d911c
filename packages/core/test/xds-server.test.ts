// `meshlet xds` as a server: it compiles per client identity (node metadata NAMESPACE and
// LABELS), and the client honours `ignore_resource_deletion` when the server stops sending a
// listener. Real gRPC on 127.0.0.1; SotW and delta.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, requestView, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { bootstrapJson, cluster, REVIEWS, routesYaml, servicesYaml, tempDir, waitFor, writeBootstrap, writeConfig } from './xds-helpers.ts';

// By FQDN: for a client in `qa`, `reviews` would mean reviews.qa.svc.cluster.local.
function target(mesh: Mesh): string | undefined {
  const host = 'reviews.default.svc.cluster.local';
  const d = mesh.decide(requestView('GET', 'http', `${host}:9080`, '/', {}), host, 9080);
  return d.kind === 'forward' ? d.target.name : d.kind;
}

const PORTS = { v1: 18101, v2: 18102, v3: 18103 };

// Canary workloads (label track: canary) and clients in namespace `qa` see v3; everyone else v1.
const IDENTITY_ROUTES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
    - name: canary-clients
      match: [{ sourceLabels: { track: canary } }]
      route: [{ destination: { host: reviews, subset: v3 } }]
    - name: qa-clients
      match: [{ sourceNamespace: qa }]
      route: [{ destination: { host: reviews, subset: v3 } }]
    - name: everyone
      route: [{ destination: { host: reviews, subset: v1 } }]
`;

describe.each([['state-of-the-world', false], ['delta', true]] as const)('meshlet xds (%s)', (_label, delta) => {
  let dir: string;
  let server: XdsServer;
  const meshes: Mesh[] = [];
  const open = async (opts: Parameters<typeof writeBootstrap>[2] = {}): Promise<Mesh> => {
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('xds-bs'), server.address, { delta, ...opts }), listeners: [REVIEWS], logger: silentLogger });
    meshes.push(mesh);
    return mesh;
  };
  beforeAll(async () => {
    dir = tempDir('xds-server');
    writeConfig(dir, { 'services.yaml': servicesYaml(PORTS), 'routes.yaml': IDENTITY_ROUTES });
    server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
  });
  afterAll(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    server.close();
  });

  it('is found through GRPC_XDS_BOOTSTRAP_CONFIG when createMesh gets no config option', async () => {
    const saved = { config: process.env['GRPC_XDS_BOOTSTRAP_CONFIG'], file: process.env['GRPC_XDS_BOOTSTRAP'], meshlet: process.env['MESHLET_CONFIG'] };
    delete process.env['GRPC_XDS_BOOTSTRAP'];
    delete process.env['MESHLET_CONFIG'];
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = bootstrapJson(server.address, { delta });
    try {
      const mesh = await createMesh({ listeners: [REVIEWS], logger: silentLogger });
      meshes.push(mesh);
      expect(mesh.configDump().xds?.server).toBe(server.address);
      expect(target(mesh)).toBe(cluster('v1'));
    } finally {
      for (const [k, v] of [['GRPC_XDS_BOOTSTRAP_CONFIG', saved.config], ['GRPC_XDS_BOOTSTRAP', saved.file], ['MESHLET_CONFIG', saved.meshlet]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("compiles for each client's identity: sourceLabels from LABELS, sourceNamespace from NAMESPACE", async () => {
    const [plain, canary, qa] = await Promise.all([
      open({ labels: { app: 'web' } }),
      open({ labels: { app: 'web', track: 'canary' } }),
      open({ namespace: 'qa' }),
    ]);
    expect(target(plain)).toBe(cluster('v1'));
    expect(target(canary)).toBe(cluster('v3'));
    expect(target(qa)).toBe(cluster('v3'));
    // The client's own identity comes from the same bootstrap.
    expect(qa.identity.namespace).toBe('qa');
    expect(canary.identity.labels).toEqual({ app: 'web', track: 'canary' });
  });

  it('keeps a deleted listener with ignore_resource_deletion, drops it without', async () => {
    writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    await server.store.reload();
    const keeping = await open({ features: ['ignore_resource_deletion'] });
    const dropping = await open();
    expect(target(keeping)).toBe(cluster('v1'));
    expect(target(dropping)).toBe(cluster('v1'));

    // The service disappears from the control plane.
    writeConfig(dir, { 'services.yaml': '' });
    await server.store.reload();
    await waitFor(() => target(dropping) === 'passthrough', 5000, 'the listener to be dropped');
    expect(dropping.configDump().xds!.resources.find((r) => r.type === 'Listener')?.status).toBe('DOES_NOT_EXIST');
    // gRFC A53: the last good listener (and what it routes to) stays in force.
    await new Promise((r) => setTimeout(r, 200));
    expect(target(keeping)).toBe(cluster('v1'));
    expect(keeping.configDump().xds!.resources.find((r) => r.type === 'Listener')?.status).toBe('ACKED');

    writeConfig(dir, { 'services.yaml': servicesYaml(PORTS), 'routes.yaml': IDENTITY_ROUTES });
    await server.store.reload();
  });
});
