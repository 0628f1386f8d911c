// A mistake in the YAML never silently changes where traffic goes — measured with real requests
// through MeshAgent to two servers on 127.0.0.1 behind an 80/20 split: a typo'd `weigth` fails
// start-up (and with skipInvalidObjects the caller knowingly gets the default route), a typo'd
// edit or a vanished folder keeps the split. Counts use 1,000 requests: 20% is 200 ± 12.6, and the
// accepted band is ±8 standard deviations, so the assertions cannot flake — while the bug they
// guard against (100% to one side) is far outside it.

import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';

let servers: Server[] = [];
let ports: number[] = [];
beforeAll(async () => {
  for (const version of ['v1', 'v2']) {
    const server = createServer((_req, res) => res.end(version));
    ports.push(await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))));
    servers.push(server);
  }
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
  ports = [];
});

const services = (): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
  - { address: 127.0.0.1, ports: { http: ${ports[0]} }, labels: { version: v1 } }
  - { address: 127.0.0.1, ports: { http: ${ports[1]} }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: default }
spec:
  host: web
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;

const split = (v1: number, v2: number, weightKey = 'weight'): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web]
  http:
  - route:
    - destination: { host: web, subset: v1 }
      weight: ${v1}
    - destination: { host: web, subset: v2 }
      ${weightKey}: ${v2}
`;

let root: string;
let dir: string;
let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshlet-traffic-'));
  dir = join(root, 'mesh');
  mkdirSync(dir);
  writeFileSync(join(dir, 'services.yaml'), services());
  writeFileSync(join(dir, 'routes.yaml'), split(80, 20));
});
afterEach(async () => {
  await agent?.close();
  await mesh?.close();
  agent = undefined;
  mesh = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** Sends `n` requests (10 at a time) and counts the answers by body; anything else fails the test. */
async function send(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const res = await request('http://web/', { dispatcher: agent });
      const body = await res.body.text();
      expect(res.statusCode).toBe(200);
      counts[body] = (counts[body] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return counts;
}

/** v2's share of 1,000 requests is 20% (200 ± 8σ); v1 takes the rest. */
async function expectEightyTwenty(): Promise<void> {
  const counts = await send(1000);
  expect((counts['v1'] ?? 0) + (counts['v2'] ?? 0)).toBe(1000);
  expect(counts['v2']).toBeGreaterThanOrEqual(100);
  expect(counts['v2']).toBeLessThanOrEqual(300);
}

async function start(): Promise<Mesh> {
  mesh = await createMesh({ config: dir, logger: silentLogger });
  agent = new MeshAgent({ mesh });
  return mesh;
}

async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a mistake in the YAML never silently moves traffic', () => {
  it('the split as written: 80/20', async () => {
    await start();
    await expectEightyTwenty();
  });

  it('a typo\'d weight at start-up fails createMesh, naming file, line and the field meant', async () => {
    writeFileSync(join(dir, 'routes.yaml'), split(80, 20, 'weigth'));
    const err = await createMesh({ config: dir, logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      `${join(dir, 'routes.yaml')}:11: VirtualService default/web: spec.http[0].route[1].weigth: unknown field "weigth"; did you mean "weight"?`,
    ]);
  });

  it('a typo\'d weight in a live edit is reported, and the traffic keeps its 80/20 split', async () => {
    const m = await start();
    const version = m.snapshot.version;
    writeFileSync(join(dir, 'routes.yaml'), split(80, 20, 'weigth'));
    await waitFor(() => m.snapshot.version > version, 'the reload');
    expect(m.problems.some((p) => p.includes('routes.yaml:11') && p.includes('did you mean "weight"'))).toBe(true);
    await expectEightyTwenty();
  });

  it('a folder renamed away keeps routing 80/20; renamed back, its new content routes', async () => {
    const m = await start();
    let version = m.snapshot.version;
    renameSync(dir, join(root, 'away'));
    await waitFor(() => m.snapshot.version > version, 'the reload');
    expect(m.problems.some((p) => p.includes('no such file or folder'))).toBe(true);
    await expectEightyTwenty();

    writeFileSync(join(root, 'away', 'routes.yaml'), split(0, 100));
    version = m.snapshot.version;
    renameSync(join(root, 'away'), dir);
    await waitFor(() => m.snapshot.version > version && m.explain({ url: 'http://web/' }).clusters.length === 1, 'the new content');
    expect(await send(200)).toEqual({ v2: 200 });
  });
});
