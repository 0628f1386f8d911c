// One endpoint moves in a mesh served by a real `meshlet xds` (in-process, gRPC on 127.0.0.1).
// Over SotW as over delta the server sends only the changed ClusterLoadAssignment (a SotW EDS
// response need not list the rest, and the client keeps what it leaves out); the client
// decodes and applies it and publishes on the EDS fast path: the last set with that one
// assignment replaced (an OverlayMap over it), the one cluster that reads it rebuilt, every
// other cluster the very same object. A new stream (the server restarted) does resend every
// assignment: the client recognises the ones it holds byte for byte without decoding them.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMesh, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER, ROUTE_CONFIGURATION } from '../src/config/xds/resource-types.ts';
import type { ClusterLoadAssignment } from '../src/xds/resources.ts';
import { OverlayMap } from '../src/snapshot/overlay-map.ts';
import { staticServicesYaml, svcCluster as clusterOf, svcHost as host, tempDir, waitFor, writeBootstrap, writeConfig } from './xds-helpers.ts';

const SERVICES = 12;
/** SERVICES services, two endpoints each; `moved` gives one service's first endpoint another port. */
const meshYaml = (moved?: { service: number; port: number }): string =>
  staticServicesYaml(SERVICES, (i) => [moved?.service === i ? moved.port : 20_000 + 2 * i, 20_001 + 2 * i]);

const open: { mesh: Mesh; server: { close(): void } }[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const { mesh, server } of open.splice(0)) {
    await mesh.close();
    server.close();
  }
});

describe.each([['state-of-the-world', false], ['delta', true]] as const)('one endpoint change over %s', (_label, delta) => {
  it('decodes and applies only the changed assignment, on the EDS fast path, and rebuilds only its cluster', async () => {
    const dir = tempDir('xds-eds-resend');
    writeConfig(dir, { 'mesh.yaml': meshYaml() });
    const server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false });
    const listeners = Array.from({ length: SERVICES }, (_, i) => `${host(i)}:8080`);
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('xds-eds-resend-bs'), server.address, { delta }), listeners, logger: silentLogger, xds: { initialFetchTimeoutMs: 5000 } });
    open.push({ mesh, server });
    const before = mesh.snapshot;
    expect(before.clusters.size).toBe(SERVICES);
    const versionsBefore = new Map(mesh.configDump().xds!.resources.filter((r) => r.type === 'ClusterLoadAssignment').map((r) => [r.name, r]));
    expect(versionsBefore.size).toBe(SERVICES);

    // Every assignment the client validates from here on (a decoded one is validated).
    const validated = vi.spyOn(CLUSTER_LOAD_ASSIGNMENT, 'validate');
    writeConfig(dir, { 'mesh.yaml': meshYaml({ service: 3, port: 29_999 }) });
    await server.store.reload();
    await waitFor(() => mesh.snapshot.clusters.get(clusterOf(3))!.endpoints.some((e) => e.port === 29_999), 10_000, 'the moved endpoint');
    const after = mesh.snapshot;

    // Decoded: the changed assignment only.
    expect(validated.mock.calls.map(([v]) => (v as ClusterLoadAssignment).clusterName)).toEqual([clusterOf(3)]);
    const status = mesh.configDump().xds!.resources.filter((r) => r.type === 'ClusterLoadAssignment');
    for (const r of status) {
      const old = versionsBefore.get(r.name)!;
      expect(r.status).toBe('ACKED');
      // Only the changed one was sent: the rest keep the version they came with.
      if (r.name === clusterOf(3)) expect(r.lastUpdated! >= old.lastUpdated!).toBe(true);
      else {
        expect(r.version).toBe(old.version);
        expect(r.lastUpdated).toBe(old.lastUpdated);
      }
    }

    // The fast path: one publish, of the last set with that assignment replaced.
    expect(after.version).toBe(before.version + 1);
    expect(after.resources.endpoints).toBeInstanceOf(OverlayMap);
    expect(OverlayMap.changedKeys(before.resources.endpoints, after.resources.endpoints)).toEqual([clusterOf(3)]);
    expect(after.resources.listeners).toBe(before.resources.listeners);
    expect(after.resources.routeConfigs).toBe(before.resources.routeConfigs);
    expect(after.resources.clusters).toBe(before.resources.clusters);
    for (let i = 0; i < SERVICES; i++) {
      if (i === 3) {
        expect(after.clusters.get(clusterOf(i))).not.toBe(before.clusters.get(clusterOf(i)));
        expect(after.clusters.get(clusterOf(i))!.endpoints.map((e) => e.port).sort()).toEqual([20_007, 29_999]);
      } else {
        expect(after.clusters.get(clusterOf(i))).toBe(before.clusters.get(clusterOf(i)));
        expect(after.resources.endpoints.get(clusterOf(i))).toBe(before.resources.endpoints.get(clusterOf(i)));
      }
    }
  });
});

describe('a new stream (the server restarted, one endpoint moved meanwhile)', () => {
  it('decodes nothing of the SotW resend but the changed assignment, and applies it on the EDS fast path', async () => {
    const dir = tempDir('xds-eds-resend-restart');
    writeConfig(dir, { 'mesh.yaml': meshYaml() });
    let server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false });
    const address = server.address;
    const listeners = Array.from({ length: SERVICES }, (_, i) => `${host(i)}:8080`);
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('xds-eds-resend-bs'), address, {}), listeners, logger: silentLogger, xds: { initialFetchTimeoutMs: 5000, backoff: { initialMs: 20, maxMs: 100 } } });
    const servers = { close: () => server.close() };
    open.push({ mesh, server: servers });
    const before = mesh.snapshot;

    const validated = [LISTENER, ROUTE_CONFIGURATION, CLUSTER, CLUSTER_LOAD_ASSIGNMENT].map((t) => vi.spyOn(t, 'validate'));
    server.close();
    await waitFor(() => mesh.configDump().xds!.connected === false, 5000, 'the client to see the stream drop');
    writeConfig(dir, { 'mesh.yaml': meshYaml({ service: 5, port: 29_998 }) });
    server = await XdsServer.start({ config: [dir], listen: address, logger: silentLogger, watch: false });
    await waitFor(() => mesh.snapshot.clusters.get(clusterOf(5))!.endpoints.some((e) => e.port === 29_998), 10_000, 'the moved endpoint');
    const after = mesh.snapshot;

    // Every resource was resent on the new stream; only the changed assignment was decoded.
    expect(validated.flatMap((v) => v.mock.calls).map(([v]) => (v as ClusterLoadAssignment).clusterName)).toEqual([clusterOf(5)]);
    expect(after.version).toBe(before.version + 1);
    expect(after.resources.endpoints).toBeInstanceOf(OverlayMap);
    expect(OverlayMap.changedKeys(before.resources.endpoints, after.resources.endpoints)).toEqual([clusterOf(5)]);
    for (let i = 0; i < SERVICES; i++) {
      if (i !== 5) expect(after.clusters.get(clusterOf(i))).toBe(before.clusters.get(clusterOf(i)));
    }
  });
});
