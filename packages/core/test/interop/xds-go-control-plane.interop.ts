// Meshlet's ADS client against go-control-plane: a small Go server on its snapshot cache
// (go-control-plane/main.go), built with `go build` in setup. SotW and delta: the client takes
// the Envoy resources go-control-plane serves, routes by them through a real MeshAgent, and
// follows a new snapshot version.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, requestView, silentLogger, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { cluster, REVIEWS, startBackend, tempDir, waitFor, writeBootstrap, type Backend } from '../xds-helpers.ts';
import { buildGo, HAS_GO, startGoServer, type GoServer } from './go-build.ts';

const NODE = 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local';

function target(mesh: Mesh, headers: Record<string, string> = {}): string | undefined {
  const d = mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', headers), 'reviews', 9080);
  return d.kind === 'forward' ? d.target.name : d.kind;
}

describe.skipIf(!HAS_GO)('Meshlet ADS client against go-control-plane', () => {
  let binary: string;
  let backends: Backend[];
  beforeAll(async () => {
    [binary, backends] = await Promise.all([buildGo('go-control-plane'), Promise.all(['v1', 'v2', 'v3'].map((n) => startBackend(n)))]);
  });
  afterAll(async () => {
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  describe.each([['state-of-the-world', false], ['delta', true]] as const)('%s', (_label, delta) => {
    let server: GoServer;
    let mesh: Mesh;
    beforeAll(async () => {
      server = await startGoServer(binary, ['-node', NODE, '-ports', backends.map((b) => b.port).join(',')]);
      mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('gcp'), server.address, { delta }), listeners: [REVIEWS], logger: silentLogger, xds: { initialFetchTimeoutMs: 10_000 } });
    });
    afterAll(async () => {
      await mesh?.close();
      await server?.stop();
    });

    it('ACKs every resource and routes by them through MeshAgent', async () => {
      const xds = mesh.configDump().xds!;
      expect([...new Set(xds.resources.map((r) => `${r.type} ${r.status}`))].sort()).toEqual([
        'Cluster ACKED', 'ClusterLoadAssignment ACKED', 'Listener ACKED', 'RouteConfiguration ACKED',
      ]);
      expect(target(mesh)).toBe(cluster('v1'));
      expect(target(mesh, { 'end-user': 'jason' })).toBe(cluster('v2'));
      const agent = new MeshAgent({ mesh });
      try {
        const res = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET', headers: { 'end-user': 'jason' } });
        expect(await res.body.text()).toBe('v2');
      } finally {
        await agent.close();
      }
    });

    it('follows a new snapshot version', async () => {
      server.send('split 0 100');
      const ms = await waitFor(() => target(mesh) === cluster('v3'), 10_000, 'the new snapshot');
      expect(ms).toBeLessThan(10_000);
      const rc = mesh.configDump().xds!.resources.find((r) => r.type === 'RouteConfiguration')!;
      expect(rc.status).toBe('ACKED');
      if (!delta) expect(rc.version).toBe('2');
    });
  });
});
