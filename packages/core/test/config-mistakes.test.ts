// A mistake in the YAML never silently changes where traffic goes: at start-up an error fails
// createMesh (and `meshlet xds`) with every error listed by file:line, unless the caller chose
// to skip invalid objects; later, a broken edit, a vanished folder or file, a file over the
// limits each keep the last good config — checked here on the mesh's own decision (explain's
// weights are exact); packages/http/test/config-mistakes.test.ts sends real requests.

import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, createMesh, silentLogger, XdsServer, type Mesh } from '../src/index.ts';

const SERVICES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints:
  - { address: 10.0.0.1, labels: { version: v1 } }
  - { address: 10.0.0.2, labels: { version: v2 } }
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

const V1 = 'outbound|80|v1|web.default.svc.cluster.local';
const V2 = 'outbound|80|v2|web.default.svc.cluster.local';
const weights = (m: Mesh): [string, number][] => m.explain({ url: 'http://web/' }).clusters.map((c) => [c.name, c.percent]);

let root: string;
let dir: string;
let mesh: Mesh | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshlet-mistakes-'));
  dir = join(root, 'mesh');
  mkdirSync(dir);
  writeFileSync(join(dir, 'services.yaml'), SERVICES);
  writeFileSync(join(dir, 'routes.yaml'), split(80, 20));
});
afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
  rmSync(root, { recursive: true, force: true });
});

async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for the next reload to be applied, whatever it decided. */
async function nextReload(m: Mesh, after: number): Promise<void> {
  await waitFor(() => m.snapshot.version > after, 'a reload');
}

describe('at start-up, an error fails createMesh', () => {
  it('a typo\'d field: ConfigError with every error, each with file:line, field and the field meant', async () => {
    writeFileSync(join(dir, 'routes.yaml'), split(80, 20, 'weigth'));
    // A second file with a second error: every error is listed, not just the first.
    writeFileSync(join(dir, 'regex.yaml'), `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: default }
spec:
  hosts: [api]
  http:
  - match: [{ uri: { regex: "/api/(v1" } }]
    route:
    - destination: { host: web }
`);
    const err = await createMesh({ config: dir, watch: false, logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.details.map((p) => `${p.file}:${p.line} ${p.field}`)).toEqual([
      `${join(dir, 'regex.yaml')}:7 spec.http[0].match[0].uri.regex`,
      `${join(dir, 'routes.yaml')}:11 spec.http[0].route[1].weigth`,
    ]);
    expect(e.message).toContain(`2 errors in ${dir}; nothing was applied`);
    expect(e.message).toContain('skipInvalidObjects: true');
    expect(e.problems[1]).toBe(`${join(dir, 'routes.yaml')}:11: VirtualService default/web: spec.http[0].route[1].weigth: unknown field "weigth"; did you mean "weight"?`);
  });

  it('skipInvalidObjects starts without the invalid objects, and says so', async () => {
    writeFileSync(join(dir, 'routes.yaml'), split(80, 20, 'weigth'));
    mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, skipInvalidObjects: true });
    // The VirtualService is left out, so the service's default route applies: what the caller asked for.
    expect(weights(mesh)).toEqual([['outbound|80||web.default.svc.cluster.local', 100]]);
    expect(mesh.problems.some((p) => p.includes('routes.yaml:11') && p.includes('did you mean "weight"'))).toBe(true);
  });

  it('a config path that does not exist', async () => {
    await expect(createMesh({ config: join(root, 'nope'), logger: silentLogger })).rejects.toThrow(ConfigError);
  });

  it('meshlet xds refuses to serve an invalid config, unless told to skip it', async () => {
    writeFileSync(join(dir, 'routes.yaml'), split(80, 20, 'weigth'));
    const err = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).details.map((p) => p.field)).toEqual(['spec.http[0].route[1].weigth']);
    const server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false, skipInvalidObjects: true });
    try {
      expect(server.store.problems.some((p) => p.field === 'spec.http[0].route[1].weigth')).toBe(true);
    } finally {
      server.close();
    }
  });
});

describe('after start-up, the last good config stays', () => {
  async function start(config: string | string[] = dir): Promise<Mesh> {
    mesh = await createMesh({ config, logger: silentLogger });
    expect(weights(mesh)).toEqual([[V1, 80], [V2, 20]]);
    return mesh;
  }

  it('an edit with a typo\'d field is reported and the 80/20 split stays', async () => {
    const m = await start();
    const v = m.snapshot.version;
    writeFileSync(join(dir, 'routes.yaml'), split(80, 20, 'weigth'));
    await nextReload(m, v);
    expect(weights(m)).toEqual([[V1, 80], [V2, 20]]);
    expect(m.problems).toContain(`${join(dir, 'routes.yaml')}:11: VirtualService default/web: spec.http[0].route[1].weigth: unknown field "weigth"; did you mean "weight"?`);
  });

  it('a watched folder renamed away keeps every route; when it is back, its content applies', async () => {
    const m = await start();
    let v = m.snapshot.version;
    renameSync(dir, join(root, 'mesh.old'));
    await nextReload(m, v);
    expect(weights(m)).toEqual([[V1, 80], [V2, 20]]);
    expect(m.problems).toContainEqual(expect.stringContaining(`${dir}:1: no such file or folder`));
    // Back, with a different split.
    writeFileSync(join(root, 'mesh.old', 'routes.yaml'), split(10, 90));
    v = m.snapshot.version;
    renameSync(join(root, 'mesh.old'), dir);
    await nextReload(m, v);
    await waitFor(() => weights(m)[0]?.[1] === 10, 'the new split');
    expect(weights(m)).toEqual([[V1, 10], [V2, 90]]);
  });

  it('a watched file deleted keeps its routes until it is written again', async () => {
    const files = [join(dir, 'services.yaml'), join(dir, 'routes.yaml')];
    const m = await start(files);
    const v = m.snapshot.version;
    unlinkSync(files[1]!);
    await nextReload(m, v);
    expect(weights(m)).toEqual([[V1, 80], [V2, 20]]);
    writeFileSync(files[1]!, split(50, 50));
    await waitFor(() => weights(m)[0]?.[1] === 50, 'the rewritten file');
  });

  it('a ConfigMap volume between two versions (..data gone for a moment) keeps its routes', async () => {
    // The kubelet's layout: files in a timestamped folder, ..data pointing at it, and each key a
    // symlink through ..data.
    const cm = join(root, 'cm');
    mkdirSync(join(cm, '..2026_01_01'), { recursive: true });
    writeFileSync(join(cm, '..2026_01_01', 'mesh.yaml'), `${SERVICES}---\n${split(80, 20)}`);
    symlinkSync('..2026_01_01', join(cm, '..data'));
    symlinkSync('..data/mesh.yaml', join(cm, 'mesh.yaml'));
    const m = await start(cm);
    const v = m.snapshot.version;
    unlinkSync(join(cm, '..data'));
    await nextReload(m, v);
    expect(weights(m)).toEqual([[V1, 80], [V2, 20]]);
    mkdirSync(join(cm, '..2026_01_02'));
    writeFileSync(join(cm, '..2026_01_02', 'mesh.yaml'), `${SERVICES}---\n${split(20, 80)}`);
    symlinkSync('..2026_01_02', join(cm, '..data'));
    await waitFor(() => weights(m)[0]?.[1] === 20, 'the new ConfigMap version');
  });

  it('a file grown over the size limit is refused without being read; its last good version stays', async () => {
    const m = await start();
    const v = m.snapshot.version;
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, split(10, 90));
    truncateSync(file, 50 * 1024 * 1024);
    await waitFor(() => m.problems.some((p) => p.includes('over the limit of 8 MiB')), 'the size error', 5000);
    expect(m.snapshot.version).toBeGreaterThan(v);
    expect(weights(m)).toEqual([[V1, 80], [V2, 20]]);
  });

  it('a file with too many documents is refused; its last good version stays', async () => {
    const m = await start();
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, `${split(10, 90)}${'---\n'.repeat(30_000)}`);
    await waitFor(() => m.problems.some((p) => p.includes('more than 20000 YAML documents')), 'the documents error', 10_000);
    expect(weights(m)).toEqual([[V1, 80], [V2, 20]]);
    expect(readFileSync(file, 'utf8').startsWith('apiVersion')).toBe(true);
  });
});
