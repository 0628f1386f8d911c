// Large and hostile files fail with an error naming the file (and line), never with a stack
// overflow or by exhausting memory: the limits of istio/load/load-limits.ts, and the loops that
// replaced push(...spread) over large arrays.

import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateCommand } from '../src/cli/validate.ts';
import { formatProblem } from '../src/config-error.ts';
import { compileMesh } from '../src/istio/compile/compile-mesh.ts';
import { loadConfigFiles } from '../src/istio/load/load-files.ts';
import { LOAD_LIMITS, type LoadLimits } from '../src/istio/load/load-limits.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import type { MeshObject } from '../src/istio/types.ts';
import { client, serviceEntry, workloadEntry } from './compile-helpers.ts';

const dr = (name: string): string => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ${name} }\nspec: { host: ${name}.example.com }\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlet-limits-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file size', () => {
  it('a 50 MB file is refused from its size alone, before anything is read', async () => {
    const file = join(dir, 'huge.yaml');
    // A sparse file: 50 MB by stat(), nothing worth parsing in it. Were it read and parsed, this
    // test would take seconds and report YAML errors instead.
    await writeFile(file, dr('first'));
    await truncate(file, 50 * 1024 * 1024);
    const { objects, problems } = await loadConfigFiles([file]);
    expect(objects).toEqual([]);
    expect(problems.map(formatProblem)).toEqual([`${file}:1: file is 50 MiB, over the limit of 8 MiB per config file; not read (split it into several files)`]);
  });
});

describe('documents per file', () => {
  it('130,000 documents: no stack overflow; reading stops at document 20,001 with its line', async () => {
    const file = join(dir, 'many.yaml');
    await writeFile(file, '---\n'.repeat(130_000));
    const lines: string[] = [];
    const code = await validateCommand([file], { log: (s) => lines.push(s), error: (s) => lines.push(s) });
    expect(code).toBe(1);
    expect(lines).toEqual([
      `${file}:20001: more than 20000 YAML documents in one file (the limit); the file is not read from this document on: split it into several files`,
      'invalid: 0 objects loaded from 1 file; 1 error, 0 warnings',
    ]);
  });

  it('the documents before the limit load; the file is in error', () => {
    const limits: LoadLimits = { ...LOAD_LIMITS, documentsPerFile: 3 };
    const text = [dr('a'), dr('b'), dr('c'), dr('d'), dr('e')].join('---\n');
    const { objects, problems } = parseConfigText(text, 'five.yaml', limits);
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    // At the `---` that starts the fourth document.
    expect(problems.map((p) => [p.severity, p.line])).toEqual([['error', 15]]);
  });
});

describe('objects in all', () => {
  it('the file that takes the config over the limit is not read, nor any after it', async () => {
    const limits: LoadLimits = { ...LOAD_LIMITS, totalObjects: 3 };
    await writeFile(join(dir, '1.yaml'), [dr('a'), dr('b')].join('---\n'));
    await writeFile(join(dir, '2.yaml'), [dr('c'), dr('d')].join('---\n'));
    await writeFile(join(dir, '3.yaml'), dr('e'));
    const { objects, problems } = await loadConfigFiles([dir], limits);
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'e']);
    expect(problems.map(formatProblem)).toEqual([`${join(dir, '2.yaml')}:1: not read: its 2 objects would take the config over 3 objects (the limit)`]);
  });
});

describe('one object, one string, nesting', () => {
  it('an object over 1.5 MiB of YAML is refused at its line; its neighbours load', () => {
    const hosts = Array.from({ length: 8000 }, (_, i) => `  - h${i}-${'x'.repeat(190)}.example.com`).join('\n');
    const big = `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: big }\nspec:\n  hosts:\n${hosts}\n  ports: [{ number: 80, name: http }]\n  resolution: DNS\n`;
    const { objects, problems } = parseConfigText(`${dr('before')}---\n${big}---\n${dr('after')}`, 'big.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['before', 'after']);
    expect(problems.map(formatProblem)).toEqual([expect.stringMatching(/^big\.yaml:6: this ServiceEntry is 1\.\d MiB of YAML, over the limit of 1\.5 MiB per object \(the Kubernetes API server refuses it too\); it is not read$/)]);
  });

  it('a string longer than 256 Ki characters is refused at its field', () => {
    const text = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: v }\nspec:\n  hosts: [v]\n  http:\n  - directResponse:\n      status: 200\n      body: { string: "${'a'.repeat(300_000)}" }\n`;
    const { objects, problems } = parseConfigText(text, 'long.yaml');
    expect(objects).toEqual([]);
    expect(problems.map(formatProblem)).toEqual(['long.yaml:9: spec.http[0].directResponse.body.string: a string of 300000 characters is longer than the limit of 262144; the document is not read']);
  });

  it.each([
    ['flow collections', `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}`, 10],
    ['block sequences on one line', `a:\n  ${'- '.repeat(100_000)}x`, 11],
    ['flow maps', `a: ${'{b: '.repeat(100_000)}1${'}'.repeat(100_000)}`, 10],
  ])('nesting 100,000 deep (%s) stops at the limit with the line, no stack overflow', (_what, body, line) => {
    const text = `${dr('ok')}---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: deep }\nspec:\n  ${body.replace(/\n/g, '\n  ')}\n`;
    const { objects, problems } = parseConfigText(text, 'deep.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['ok']);
    expect(problems.map(formatProblem)).toEqual([`deep.yaml:${line}: maps and lists nest more than 64 levels deep here (the limit); the file is not read from this document on`]);
  });

  it('nesting just over the limit in one document refuses that document only', () => {
    const deep = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: deep }\nspec:\n  a: ${'['.repeat(64)}${']'.repeat(64)}\n`;
    const { objects, problems } = parseConfigText(`${deep}---\n${dr('after')}`, 'deep.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['after']);
    expect(problems.map(formatProblem)).toEqual(['deep.yaml:5: maps and lists nest more than 64 levels deep here (the limit); this document is not read']);
  });

  it('nesting built from aliases is refused once expanded', () => {
    // A list 40 deep, and another 40 deep around an alias of it: 42 deep as text, over 80 once
    // the one alias is expanded.
    const anchors = `  x: &deep ${'['.repeat(40)}${']'.repeat(40)}\n  y: ${'['.repeat(40)}*deep${']'.repeat(40)}`;
    const text = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: alias }\nspec:\n${anchors}\n`;
    const { objects, problems } = parseConfigText(text, 'alias.yaml');
    expect(objects).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/maps and lists nest more than 64 levels deep \(the limit\); the document is not read$/)]);
  });
});

describe('large arrays never go through push(...spread)', () => {
  it('one ServiceEntry selecting 150,000 WorkloadEntries compiles', () => {
    const objects: MeshObject[] = [
      serviceEntry('big', { hosts: ['big.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', workloadSelector: { labels: { app: 'big' } } }),
    ];
    for (let i = 0; i < 150_000; i++) objects.push(workloadEntry(`w${i}`, { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, labels: { app: 'big' } }));
    const { resources } = compileMesh(objects, client());
    const endpoints = resources.endpoints.get('outbound|80||big.example.com')?.endpoints?.flatMap((l) => l.lbEndpoints ?? []) ?? [];
    expect(endpoints).toHaveLength(150_000);
  });
});
