// Bounded work per xDS response: a response over xds.maxResourcesPerResponse or
// xds.maxResponseBytes is NACKed with a message naming the limit, before any resource in it is
// decoded, and the client keeps routing on its last good config. Driven against a real
// `meshlet xds` server (SotW and delta) whose log records the NACK the client sent.

import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { createMesh, requestView, silentLogger, XdsServer, type Logger, type Mesh } from '../src/index.ts';
import { responseLimits } from '../src/config/xds/response-limits.ts';
import { REVIEWS, routesYaml, servicesYaml, tempDir, waitFor, writeBootstrap, writeConfig } from './xds-helpers.ts';

/** `n` more services beside reviews, so the listener and cluster responses grow. */
function extraServices(n: number): string {
  return Array.from({ length: n }, (_, i) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: extra${i}, namespace: default }
spec:
  hosts: [extra${i}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.1.0.${i + 1} }]
`).join('---\n');
}

function nackLog(): Logger & { nacks: string[] } {
  const nacks: string[] = [];
  const warn = (o: object | string, msg?: string) => {
    if (msg === 'client NACKed' && typeof o === 'object') nacks.push(String((o as { error?: string }).error));
  };
  return { nacks, debug() {}, info() {}, warn, error() {} };
}

const ports = { v1: 1, v2: 2, v3: 3 };
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });

describe.each([['state-of-the-world', false], ['delta', true]] as const)('xDS response limits (%s)', (_label, delta) => {
  async function setup(xds: { maxResourcesPerResponse?: number; maxResponseBytes?: number }): Promise<{ dir: string; server: XdsServer; mesh: Mesh; log: ReturnType<typeof nackLog> }> {
    const dir = tempDir('xds-limits');
    writeConfig(dir, { 'services.yaml': servicesYaml(ports), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }), 'extra.yaml': extraServices(1) });
    const log = nackLog();
    const server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: log });
    const boot = tempDir('xds-limits-boot');
    const mesh = await createMesh({ bootstrap: writeBootstrap(boot, server.address, { delta }), listeners: '*', logger: silentLogger, xds: { initialFetchTimeoutMs: 5000, ...xds } });
    cleanup.push(() => { rmSync(dir, { recursive: true, force: true }); rmSync(boot, { recursive: true, force: true }); }, () => server.close(), () => mesh.close());
    return { dir, server, mesh, log };
  }

  const routesReviews = (mesh: Mesh) => mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', {}), 'reviews.default.svc.cluster.local', 9080).kind === 'forward';

  it('NACKs a response with more resources than maxResourcesPerResponse and keeps the last good config', async () => {
    const { dir, server, mesh, log } = await setup({ maxResourcesPerResponse: 5 });
    expect(routesReviews(mesh)).toBe(true);
    expect(mesh.configDump().xds?.resources.filter((r) => r.name === REVIEWS).length).toBe(1);
    writeConfig(dir, { 'extra.yaml': extraServices(8) });
    await server.store.reload();
    await waitFor(() => log.nacks.some((m) => m.includes('maxResourcesPerResponse')), 10_000, 'a NACK naming the limit');
    expect(log.nacks.find((m) => m.includes('maxResourcesPerResponse'))).toMatch(/carries \d+ resources, over the limit of 5 \(createMesh xds.maxResourcesPerResponse\)/);
    // Nothing of the refused response applied: the eight new services are unknown, reviews still routes.
    expect(routesReviews(mesh)).toBe(true);
    expect(mesh.decide(requestView('GET', 'http', 'extra7', '/', {}), 'extra7.default.svc.cluster.local', 80).kind).toBe('passthrough');
  });

  it('NACKs a response larger than maxResponseBytes', async () => {
    const { dir, server, mesh, log } = await setup({ maxResponseBytes: 4096 });
    expect(routesReviews(mesh)).toBe(true);
    writeConfig(dir, { 'extra.yaml': extraServices(12) });
    await server.store.reload();
    await waitFor(() => log.nacks.some((m) => m.includes('maxResponseBytes')), 10_000, 'a NACK naming the limit');
    expect(log.nacks.find((m) => m.includes('maxResponseBytes'))).toMatch(/response of \d+ bytes is over the limit of 4096 bytes/);
    expect(routesReviews(mesh)).toBe(true);
  });

  it('refuses at the transport a response over twice maxResponseBytes, and says why', async () => {
    const { dir, server, mesh } = await setup({ maxResponseBytes: 4096 });
    writeConfig(dir, { 'extra.yaml': extraServices(60) });
    await server.store.reload();
    await waitFor(() => /RESOURCE_EXHAUSTED.*twice createMesh xds.maxResponseBytes/.test(mesh.configDump().xds?.lastError ?? ''), 10_000, 'the stream error naming the limit');
    expect(routesReviews(mesh)).toBe(true);
  });
});

describe('limit options', () => {
  it('defaults sit far above a real mesh and bad values name the option', () => {
    expect(responseLimits()).toEqual({ maxResponseBytes: 128 * 1024 * 1024, maxResourcesPerResponse: 100_000 });
    expect(() => responseLimits({ maxResourcesPerResponse: 0 })).toThrow(/xds.maxResourcesPerResponse must be a positive integer/);
    expect(() => responseLimits({ maxResponseBytes: 1.5 })).toThrow(/xds.maxResponseBytes/);
  });
});
