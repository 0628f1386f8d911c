// Loading from real files and directories, and the `meshlet validate` command on top of it.

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateCommand } from '../src/cli/validate.ts';
import { formatProblem } from '../src/config-error.ts';
import { listConfigFiles, loadConfigFiles } from '../src/istio/load/load-files.ts';

const dr = (name: string, host = 'reviews'): string =>
  `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ${name}\nspec:\n  host: ${host}\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlet-load-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadConfigFiles', () => {
  it('reads *.yaml, *.yml and *.json recursively, sorted by path, skipping hidden entries', async () => {
    await mkdir(join(dir, 'b/nested'), { recursive: true });
    await mkdir(join(dir, '.hidden'));
    await writeFile(join(dir, 'z.yaml'), dr('z'));
    await writeFile(join(dir, 'a.yml'), dr('a'));
    await writeFile(join(dir, 'b/nested/m.json'), JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'm' }, spec: { host: 'm' } }));
    await writeFile(join(dir, 'b/c.yaml'), dr('c'));
    await writeFile(join(dir, 'notes.txt'), 'not config');
    await writeFile(join(dir, '.#z.yaml'), dr('lock'));
    await writeFile(join(dir, '.hidden/h.yaml'), dr('h'));
    const { objects, problems } = await loadConfigFiles([dir]);
    expect(problems).toEqual([]);
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'c', 'm', 'z']);
    expect(objects.map((o) => o.source.file)).toEqual([join(dir, 'a.yml'), join(dir, 'b/c.yaml'), join(dir, 'b/nested/m.json'), join(dir, 'z.yaml')]);
  });

  it('reads a Kubernetes ConfigMap volume once, through its symlinks', async () => {
    // The kubelet's layout: real files in a timestamped dir, `..data` pointing at it, and
    // top-level symlinks through `..data`.
    await mkdir(join(dir, '..2026_01_01_00_00_00.000'));
    await writeFile(join(dir, '..2026_01_01_00_00_00.000/mesh.yaml'), dr('cm'));
    await symlink('..2026_01_01_00_00_00.000', join(dir, '..data'));
    await symlink('..data/mesh.yaml', join(dir, 'mesh.yaml'));
    await symlink('..data/gone.yaml', join(dir, 'gone.yaml'));
    const { objects, problems, unavailable } = await loadConfigFiles([dir]);
    // A key mid-update (its symlink dangling) is not read, and not taken for a deletion either.
    expect(problems.map((p) => [p.severity, p.file])).toEqual([['warning', join(dir, 'gone.yaml')]]);
    expect(unavailable).toEqual([join(dir, 'gone.yaml')]);
    expect(objects.map((o) => o.metadata.name)).toEqual(['cm']);
  });

  it('reads an explicitly named file whatever its extension, and each file once', async () => {
    await writeFile(join(dir, 'mesh.conf'), dr('conf'));
    const { objects } = await loadConfigFiles([join(dir, 'mesh.conf'), dir, join(dir, 'mesh.conf')]);
    expect(objects.map((o) => o.metadata.name)).toEqual(['conf']);
  });

  it('reports missing paths and empty directories instead of throwing', async () => {
    await mkdir(join(dir, 'empty'));
    const { objects, problems } = await loadConfigFiles([join(dir, 'nope.yaml'), join(dir, 'empty')]);
    expect(objects).toEqual([]);
    expect(problems.map((p) => [p.severity, p.file])).toEqual([
      ['error', join(dir, 'nope.yaml')],
      ['warning', join(dir, 'empty')],
    ]);
    expect(problems[0]?.message).toContain('no such file or folder');
  });

  it('keeps the first of two objects with the same name across files', async () => {
    await writeFile(join(dir, '1.yaml'), dr('same', 'first'));
    await writeFile(join(dir, '2.yaml'), dr('same', 'second'));
    const { objects, problems } = await loadConfigFiles([dir]);
    expect(objects.map((o) => o.spec)).toEqual([{ host: 'first' }]);
    expect(problems.map(formatProblem)).toEqual([
      `${join(dir, '2.yaml')}:1: DestinationRule default/same: duplicate DestinationRule default/same: already defined at ${join(dir, '1.yaml')}:1; this one is ignored`,
    ]);
  });

  it('lists the files a set of paths stands for', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub/b.yaml'), '');
    await writeFile(join(dir, 'a.json'), '');
    const { files } = await listConfigFiles([dir]);
    expect(files).toEqual([join(dir, 'a.json'), join(dir, 'sub/b.yaml')]);
  });
});

describe('meshlet validate', () => {
  // The service the rules are for, so the analyzers have nothing to say about it.
  const reviews = '---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: reviews}\nspec: {hosts: [reviews.default.svc.cluster.local], ports: [{number: 80, name: http}], resolution: STATIC}\n';
  const capture = (): { out: { log(s: string): void; error(s: string): void }; lines: string[] } => {
    const lines: string[] = [];
    return { lines, out: { log: (s) => lines.push(`out: ${s}`), error: (s) => lines.push(`err: ${s}`) } };
  };

  it('prints each problem, a summary, and exits 1 on errors', async () => {
    await writeFile(join(dir, 'a.yaml'), `${dr('ok')}---\n${dr('bad', '""')}---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: s, namespace: ns}\n${reviews}`);
    const { out, lines } = capture();
    const code = await validateCommand([dir], out);
    const file = join(dir, 'a.yaml');
    expect(lines).toEqual([
      `err: ${file}:13: DestinationRule default/bad: spec.host: domain name must not be empty`,
      `err: ${file}:15: Gateway ns/s: warning: kind Gateway (networking.istio.io/v1) is not handled by Meshlet; skipped`,
      'out: invalid: 2 objects loaded from 1 file; 1 error, 1 warning',
    ]);
    expect(code).toBe(1);
  });

  it('exits 0 when there are only warnings', async () => {
    await writeFile(join(dir, 'a.yaml'), `${dr('ok')}---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\n${reviews}`);
    const { out, lines } = capture();
    expect(await validateCommand([join(dir, 'a.yaml')], out)).toBe(0);
    expect(lines.at(-1)).toBe('out: valid: 2 objects loaded from 1 file; 0 errors, 1 warning');
  });

  it('exits 1 for a path that does not exist', async () => {
    const { out, lines } = capture();
    expect(await validateCommand([join(dir, 'missing')], out)).toBe(1);
    expect(lines[0]).toMatch(/^err: .*missing:1: no such file or folder/);
  });
});
