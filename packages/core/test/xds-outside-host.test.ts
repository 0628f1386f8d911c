// A host outside the mesh is reached without waiting, in both xDS profiles. The proxyless
// protocol never says a listener does not exist, so a first request to such a host waited for
// the 15 s does-not-exist timer; the listener directory (a wildcard LDS stream) knows at once.
// The sidecar profile holds every listener, so it knows too. Against `meshlet xds`, state of the
// world (where the wait was), with a real HTTP server outside the mesh on 127.0.0.1.

import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { MeshAgent } from '../../http/src/index.ts';
import { REVIEWS, routesYaml, servicesYaml, startBackend, tempDir, writeBootstrap, writeConfig, type Backend } from './xds-helpers.ts';

let backends: Backend[];
let dir: string;
let bootstraps: string;
let server: XdsServer;
const meshes: Mesh[] = [];

beforeAll(async () => {
  backends = await Promise.all(['v1', 'v2', 'v3', 'outside'].map((n) => startBackend(n)));
  dir = tempDir('xds-outside');
  bootstraps = tempDir('xds-outside-bs');
  writeConfig(dir, { 'services.yaml': servicesYaml({ v1: backends[0]!.port, v2: backends[1]!.port, v3: backends[2]!.port }), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
  server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
}, 30_000);

afterAll(async () => {
  await Promise.all(meshes.map((m) => m.close()));
  server?.close();
  await Promise.all((backends ?? []).map((b) => b.close()));
  for (const d of [dir, bootstraps]) if (d) rmSync(d, { recursive: true, force: true });
});

/** Time to the answer of one request to the server outside the mesh, through a MeshAgent. */
async function reachOutside(mesh: Mesh): Promise<{ ms: number; body: string }> {
  const agent = new MeshAgent({ mesh });
  try {
    const outside = backends[3]!;
    const start = performance.now();
    const res = await agent.request({ origin: `http://127.0.0.1:${outside.port}`, path: '/', method: 'GET' });
    const body = await res.body.text();
    return { ms: performance.now() - start, body };
  } finally {
    await agent.close();
  }
}

describe('a host outside the mesh', () => {
  // Long enough that waiting for it is unmistakable, short enough for the control case below.
  const doesNotExistMs = 6000;

  it('is reached at once by the proxyless profile (listener directory), while mesh hosts still route', async () => {
    const mesh = await createMesh({ bootstrap: writeBootstrap(bootstraps, server.address), logger: silentLogger, xds: { doesNotExistMs } });
    meshes.push(mesh);
    const { ms, body } = await reachOutside(mesh);
    expect(body).toBe('outside');
    expect(ms).toBeLessThan(3000);
    expect(await mesh.ensureService('reviews', 9080)).toBe(true);
    expect(mesh.configDump().xds?.resources.find((r) => r.name === `127.0.0.1:${backends[3]!.port}`)?.status).toBe('DOES_NOT_EXIST');
    expect(mesh.snapshot.services.has(REVIEWS)).toBe(true);
  });

  it('is reached at once by the sidecar profile', async () => {
    const mesh = await createMesh({ bootstrap: writeBootstrap(bootstraps, server.address), logger: silentLogger, xds: { generator: 'sidecar', doesNotExistMs } });
    meshes.push(mesh);
    const { ms, body } = await reachOutside(mesh);
    expect(body).toBe('outside');
    expect(ms).toBeLessThan(3000);
  });

  it('waits for the does-not-exist timer without the directory (what the directory saves)', async () => {
    const mesh = await createMesh({ bootstrap: writeBootstrap(bootstraps, server.address), logger: silentLogger, xds: { doesNotExistMs, listenerDirectory: false } });
    meshes.push(mesh);
    const { ms, body } = await reachOutside(mesh);
    expect(body).toBe('outside');
    expect(ms).toBeGreaterThan(doesNotExistMs - 500);
  }, 20_000);
});
