// Meshlet's ADS client against `meshlet xds`, both real, over gRPC on 127.0.0.1: routing from
// served CRDs, pushes taking effect, a NACKed push keeping the old version, listeners the
// server does not have, the does-not-exist timer, and bootstrap errors — in state-of-the-world
// and delta.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { createMesh, requestView, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { MeshAgent } from '../../http/src/index.ts';
import { parseBootstrap } from '../src/config/xds/bootstrap.ts';
import { AdsClient } from '../src/config/xds/ads-client.ts';
import { TYPE_URL } from '../src/xds/resources.ts';
import { fixturePath } from './istio-fixtures.ts';
import { encodeMessage } from '../src/xds/codec/index.ts';
import { cluster, REVIEWS, routesYaml, servicesYaml, startBackend, tempDir, waitFor, writeBootstrap, writeConfig, type Backend } from './xds-helpers.ts';

function target(mesh: Mesh, headers: Record<string, string> = {}): string | undefined {
  const d = mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', headers), 'reviews', 9080);
  return d.kind === 'forward' ? d.target.name : d.kind;
}

let backends: Record<'v1' | 'v2' | 'v3', Backend>;
beforeAll(async () => {
  const [v1, v2, v3] = await Promise.all([startBackend('v1'), startBackend('v2'), startBackend('v3')]);
  backends = { v1: v1!, v2: v2!, v3: v3! };
});
afterAll(async () => {
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const ports = (): { v1: number; v2: number; v3: number } => ({ v1: backends.v1.port, v2: backends.v2.port, v3: backends.v3.port });

describe.each([['state-of-the-world', false], ['delta', true]] as const)('Meshlet ADS client against meshlet xds (%s)', (_label, delta) => {
  let dir: string;
  let server: XdsServer;
  let serveBrokenRoute = false;
  const meshes: Mesh[] = [];
  const open = async (listeners: string[], doesNotExistMs = 15_000, features: string[] = []): Promise<Mesh> => {
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('xds-bootstrap'), server.address, { delta, features }), listeners, logger: silentLogger, xds: { initialFetchTimeoutMs: 5000, doesNotExistMs } });
    meshes.push(mesh);
    return mesh;
  };

  beforeAll(async () => {
    dir = tempDir('xds-client');
    writeConfig(dir, { 'services.yaml': servicesYaml(ports()), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    server = await XdsServer.start({
      config: [dir],
      listen: '127.0.0.1:0',
      logger: silentLogger,
      // What a buggy control plane might send: a weighted route whose weights sum to zero,
      // which no Envoy-conformant client may accept.
      postCompile: (resources) => {
        if (!serveBrokenRoute) return;
        const rc = resources.routeConfigs.get(`outbound|9080||reviews.default.svc.cluster.local`)!;
        const route = rc.virtualHosts![0]!.routes!.find((r) => r.name === 'split')!;
        route.route!.weightedClusters = { clusters: [{ name: cluster('v3'), weight: 0 }] };
        delete route.route!.cluster;
      },
    });
  });
  afterEach(async () => {
    await Promise.all(meshes.splice(0).map((m) => m.close()));
    writeConfig(dir, { 'services.yaml': servicesYaml(ports()), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    await server.store.reload();
  });
  afterAll(() => server.close());

  it('routes as the served CRDs say, through a real MeshAgent, and a push changes routing', async () => {
    const mesh = await open([REVIEWS]);
    expect(mesh.configDump().xds?.protocol).toBe(delta ? 'delta' : 'sotw');
    expect(target(mesh)).toBe(cluster('v1'));
    expect(target(mesh, { 'end-user': 'jason' })).toBe(cluster('v2'));
    const agent = new MeshAgent({ mesh });
    try {
      const res = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET', headers: { 'end-user': 'jason' } });
      expect(await res.body.text()).toBe('v2');

      writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 0, v3: 100 }) });
      await waitFor(() => target(mesh) === cluster('v3'), 10_000, 'the push to route to v3');
      const after = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET' });
      expect(await after.body.text()).toBe('v3');
    } finally {
      await agent.close();
    }
    const xds = mesh.configDump().xds!;
    expect(xds.connected).toBe(true);
    for (const r of xds.resources) expect(r.status, `${r.type} ${r.name}`).toBe('ACKED');
    const rc = xds.resources.find((r) => r.type === 'RouteConfiguration')!;
    expect(rc.version).toBeTruthy();
    expect(rc.ageMs).toBeGreaterThanOrEqual(0);
  });

  it('a NACKed push leaves the last good version in force and shows the NACK in configDump', async () => {
    const mesh = await open([REVIEWS]);
    const rcName = 'outbound|9080||reviews.default.svc.cluster.local';
    const before = mesh.configDump().xds!.resources.find((r) => r.name === rcName)!;
    serveBrokenRoute = true;
    try {
      // The push also carries a good change (jason → v3) in the same RouteConfiguration: a
      // NACK rejects the resource whole, so that change must not apply either.
      writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 100, v3: 0 }).replace('subset: v2', 'subset: v3') });
      await waitFor(() => mesh.configDump().xds!.resources.some((r) => r.name === rcName && r.status === 'NACKED'), 10_000, 'the NACK');
    } finally {
      serveBrokenRoute = false;
    }
    const dump = mesh.configDump();
    const nacked = dump.xds!.resources.find((r) => r.name === rcName)!;
    expect(nacked.errorState?.details).toContain(`RouteConfiguration ${rcName}: virtualHosts[0].routes[1].route.weightedClusters: the weights sum to 0`);
    expect(nacked.errorState?.version).not.toBe(before.version);
    // The version in force is still the one accepted before, and so is the routing.
    expect(nacked.version).toBe(before.version);
    expect(dump.problems.some((p) => p.includes('NACKed') && p.includes(rcName))).toBe(true);
    // The same as CSDS: a ClientStatusResponse the Envoy schema accepts, the NACK in errorState.
    const csds = mesh.clientStatus();
    expect(encodeMessage('envoy.service.status.v3.ClientStatusResponse', csds).length).toBeGreaterThan(0);
    const entry = csds.config[0]!.genericXdsConfigs.find((g) => g.name === rcName)!;
    expect(entry).toMatchObject({ clientStatus: 'NACKED', configStatus: 'ERROR', versionInfo: before.version, errorState: { versionInfo: nacked.errorState!.version } });
    expect(entry.xdsConfig!['@type']).toBe(TYPE_URL.RouteConfiguration);
    expect(target(mesh)).toBe(cluster('v1'));
    expect(target(mesh, { 'end-user': 'jason' })).toBe(cluster('v2'));

    // The next good push clears the NACK and applies.
    await server.store.reload();
    await waitFor(() => target(mesh, { 'end-user': 'jason' }) === cluster('v3'), 10_000, 'the good push');
    const fixed = mesh.configDump().xds!.resources.find((r) => r.name === rcName)!;
    expect(fixed.status).toBe('ACKED');
    expect(fixed.errorState).toBeUndefined();
  });

  it('with fail_on_data_errors (gRFC A88) a NACKed resource is dropped instead of kept', async () => {
    const mesh = await open([REVIEWS], 15_000, ['fail_on_data_errors']);
    const rcName = 'outbound|9080||reviews.default.svc.cluster.local';
    expect(target(mesh)).toBe(cluster('v1'));
    serveBrokenRoute = true;
    try {
      await server.store.reload();
      await waitFor(() => mesh.configDump().xds!.resources.some((r) => r.name === rcName && r.status === 'NACKED'), 10_000, 'the NACK');
    } finally {
      serveBrokenRoute = false;
    }
    const rc = mesh.configDump().xds!.resources.find((r) => r.name === rcName)!;
    expect(rc.version).toBeUndefined();
    // The listener's routes are gone, so the listener cannot be served: requests pass through.
    await waitFor(() => target(mesh) === 'passthrough', 5000, 'the listener to go');
    await server.store.reload();
    await waitFor(() => target(mesh) === cluster('v1'), 10_000, 'the good push to restore it');
  });

  it("MeshAgent's first request to a service nobody asked for yet is routed, not sent out unchanged", async () => {
    const mesh = await open([]);
    expect(target(mesh)).toBe('passthrough');
    const agent = new MeshAgent({ mesh });
    try {
      const res = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET', headers: { 'end-user': 'jason' } });
      expect(await res.body.text()).toBe('v2');
    } finally {
      await agent.close();
    }
  });

  it('a listener the server does not have becomes DOES_NOT_EXIST; others are fetched on first use', async () => {
    const t0 = performance.now();
    const mesh = await open(['nope.default.svc.cluster.local:80'], 400);
    // Delta: `meshlet xds` reports absent names at once. SotW: a name never received is only
    // declared absent by the does-not-exist timer (here 400 ms instead of 15 s).
    expect(performance.now() - t0).toBeLessThan(delta ? 300 : 3000);
    expect(mesh.configDump().xds!.resources).toEqual([expect.objectContaining({ type: 'Listener', name: 'nope.default.svc.cluster.local:80', status: 'DOES_NOT_EXIST' })]);
    expect(target(mesh)).toBe('passthrough');
    expect(await mesh.ensureService('reviews', 9080)).toBe(true);
    expect(target(mesh)).toBe(cluster('v1'));
    expect(await mesh.ensureService('ghost', 9080)).toBe(false);
  });
});

describe('does-not-exist timer', () => {
  it('declares a requested resource absent when the server never sends it', async () => {
    const dir = tempDir('xds-dne');
    writeConfig(dir, { 'services.yaml': servicesYaml({ v1: 1, v2: 2, v3: 3 }) });
    const server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    const b = parseBootstrap(readFileSync(writeBootstrap(dir, server.address), 'utf8'), 'test');
    if (!b.ok) throw new Error(b.error);
    const client = AdsClient.create(b.value, { logger: silentLogger, onChange: () => {}, doesNotExistMs: 300 });
    if (!client.ok) throw new Error(client.error);
    try {
      client.value.start();
      // SotW RDS responses are not complete-state: only the timer can say this one is absent.
      client.value.setSubscription(TYPE_URL.RouteConfiguration, ['outbound|1||missing.default.svc.cluster.local']);
      const w = client.value.state.get(TYPE_URL.RouteConfiguration, 'outbound|1||missing.default.svc.cluster.local')!;
      expect(w.status).toBe('REQUESTED');
      const ms = await waitFor(() => w.status === 'DOES_NOT_EXIST', 5000, 'DOES_NOT_EXIST');
      expect(ms).toBeGreaterThanOrEqual(250);
    } finally {
      client.value.close();
      server.close();
    }
  });
});

describe('bootstrap', () => {
  const fixture = fixturePath('grpc-bootstrap-istio-agent.json');

  it("reads istio-agent's bootstrap: unix socket, node id, certificate providers, listener template", () => {
    const b = parseBootstrap(readFileSync(fixture, 'utf8'), fixture);
    if (!b.ok) throw new Error(b.error);
    expect(b.value.xdsServers[0]).toMatchObject({ serverUri: 'unix:///var/run/meshlet-agent/xds.sock', channelCreds: { type: 'insecure' }, delta: false, ignoreResourceDeletion: false });
    expect(b.value.node.id).toBe('sidecar~10.50.0.7~checkout-6c9f8d7b5-x2lpq.shop~shop.svc.cluster.local');
    expect(b.value.node.metadata['GENERATOR']).toBe('grpc');
    // No NAMESPACE in the metadata: the namespace comes from the node id, as istiod reads it.
    expect(b.value.namespace).toBe('shop');
    expect(b.value.certificateProviders['default']).toEqual({
      pluginName: 'file_watcher',
      config: {
        certificate_file: '/var/run/meshlet-agent/certs/cert-chain.pem',
        private_key_file: '/var/run/meshlet-agent/certs/key.pem',
        ca_certificate_file: '/var/run/meshlet-agent/certs/root-cert.pem',
        refresh_interval: '600s',
      },
    });
    expect(b.value.serverListenerResourceNameTemplate).toBe('xds.istio.io/grpc/lds/inbound/%s');
  });

  it('reads a TCP bootstrap: the first supported channel creds, delta and ignore_resource_deletion, NAMESPACE and LABELS, locality', () => {
    const file = fixturePath('grpc-bootstrap-tcp-delta.json');
    const b = parseBootstrap(readFileSync(file, 'utf8'), file);
    if (!b.ok) throw new Error(b.error);
    expect(b.value.xdsServers[0]).toMatchObject({ serverUri: 'istiod.istio-system.svc:15010', channelCreds: { type: 'insecure' }, delta: true, ignoreResourceDeletion: true });
    expect(b.value.namespace).toBe('warehouse');
    expect(b.value.labels).toEqual({ app: 'warehouse', track: 'green' });
    expect(b.value.node.locality).toEqual({ region: 'eu-west', zone: 'zone-2' });
  });

  it.each([
    ['grpc-bootstrap-invalid-no-node-id.json', 'node.id: required'],
    ['grpc-bootstrap-invalid-server-scheme.json', 'xds_servers[0].server_uri: "https://istiod.istio-system.svc:15012": the scheme must be unix:, dns:, ipv4: or ipv6:'],
    ['grpc-bootstrap-invalid-creds.json', 'xds_servers[0].channel_creds: none of ["google_default","alts"] is supported'],
    ['grpc-bootstrap-invalid-labels.json', 'node.metadata.LABELS: must be an object of string values'],
    ['grpc-bootstrap-invalid-mtls-half.json', 'certificate_file and private_key_file go together'],
  ])('rejects the fixture %s, naming the file and what to fix', (file, message) => {
    const b = parseBootstrap(readFileSync(fixturePath(file), 'utf8'), file);
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.error.startsWith(`xDS bootstrap ${file}: `), b.error).toBe(true);
    if (!b.ok) expect(b.error).toContain(message);
  });

  it('takes NAMESPACE and LABELS from node metadata, TLS creds, and server features', () => {
    const b = parseBootstrap(JSON.stringify({
      xds_servers: [{ server_uri: 'istiod.istio-system.svc:15012', channel_creds: [{ type: 'google_default' }, { type: 'tls', config: { ca_certificate_file: '/ca.pem' } }], server_features: ['xds_v3', 'delta', 'ignore_resource_deletion'] }],
      node: { id: 'n1', metadata: { NAMESPACE: 'prod', LABELS: { app: 'web', version: 'v2' } } },
    }), 'inline');
    if (!b.ok) throw new Error(b.error);
    expect(b.value.xdsServers[0]).toMatchObject({ channelCreds: { type: 'tls', caCertificateFile: '/ca.pem' }, delta: true, ignoreResourceDeletion: true });
    expect(b.value.namespace).toBe('prod');
    expect(b.value.labels).toEqual({ app: 'web', version: 'v2' });
  });

  it.each([
    ['{ not json', 'not valid JSON'],
    ['{}', 'xds_servers: required'],
    ['{"xds_servers":[{"channel_creds":[{"type":"insecure"}]}],"node":{"id":"x"}}', 'xds_servers[0].server_uri: required'],
    ['{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"google_default"}]}],"node":{"id":"x"}}', 'none of ["google_default"] is supported'],
    ['{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}]}', 'node.id: required'],
    ['{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"node":{"id":"x","metadata":{"LABELS":["a"]}}}', 'node.metadata.LABELS'],
  ])('rejects %s with a message saying what to fix', (text, message) => {
    const b = parseBootstrap(text, 'b.json');
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.error).toContain(message);
  });

  it('createMesh fails with a message naming the problem for a missing or wrong bootstrap', async () => {
    await expect(createMesh({ bootstrap: '/nonexistent/bootstrap.json', logger: silentLogger })).rejects.toThrow(/bootstrap \/nonexistent\/bootstrap.json: cannot read it \(no such file\).*GRPC_XDS_BOOTSTRAP/);
    const dir = tempDir('xds-bad');
    const bad = join(dir, 'b.json');
    writeConfig(dir, { 'b.json': '{"xds_servers":[{"server_uri":"x:1","channel_creds":[{"type":"tls","config":{"ca_certificate_file":"/nope/ca.pem"}}]}],"node":{"id":"n"}}' });
    await expect(createMesh({ bootstrap: bad, logger: silentLogger })).rejects.toThrow(/channel_creds.config.ca_certificate_file: cannot read \/nope\/ca.pem/);
  });
});

describe('on-demand listeners', () => {
  it('keeps at most 256 absent ones subscribed (hosts outside the mesh ask too)', async () => {
    const dir = tempDir('xds-demand');
    writeConfig(dir, { 'services.yaml': servicesYaml({ v1: 1, v2: 2, v3: 3 }) });
    const server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    // Delta: `meshlet xds` reports absent names at once, so each ask settles immediately.
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('bs'), server.address, { delta: true }), listeners: [REVIEWS], logger: silentLogger });
    try {
      for (let i = 0; i < 300; i++) expect(await mesh.ensureService(`ext-${i}.example.com`, 80)).toBe(false);
      expect(await mesh.ensureService('reviews', 9080)).toBe(true);
      const listeners = mesh.configDump().xds!.resources.filter((r) => r.type === 'Listener');
      expect(listeners.length).toBeLessThanOrEqual(257 + 1);
      expect(listeners.find((l) => l.name === REVIEWS)?.status).toBe('ACKED');
      expect(listeners.some((l) => l.name === 'ext-0.example.com:80')).toBe(false);
      expect(listeners.some((l) => l.name === 'ext-299.example.com:80')).toBe(true);
    } finally {
      await mesh.close();
      server.close();
    }
  });
});
