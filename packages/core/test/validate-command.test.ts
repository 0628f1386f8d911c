// `meshlet validate` as a CI step: exit codes (errors; warnings too with --strict), the text
// lines with their codes, `-o json`, `--help` — run as the real command — and the README's table
// of analyzers kept true to the code.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateCommand, type ValidateJsonProblem } from '../src/cli/validate.ts';
import { ANALYZERS } from '../src/istio/analyze/analyze-mesh.ts';
import { MESSAGES } from '../src/istio/analyze/analysis-messages.ts';

const MAIN = join(import.meta.dirname, '../src/cli/main.ts');
const README = join(import.meta.dirname, '../../../README.md');

const SERVICE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web }
spec: { hosts: [web.default.svc.cluster.local], ports: [{ number: 80, name: http }], resolution: STATIC, endpoints: [{ address: 10.0.0.1 }] }
`;
/** A DestinationRule for a host nothing declares: a warning (IST0174). */
const WARNING = `---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ghost }\nspec: { host: ghost.example.com }\n`;
/** A route to a host nothing declares: an error (IST0101). */
const ERROR = `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: web }\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: { host: nowhere }\n`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshlet-validate-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function capture(): { out: { log(s: string): void; error(s: string): void }; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: { log: (s) => stdout.push(s), error: (s) => stderr.push(s) } };
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--conditions=source', MAIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('meshlet validate', () => {
  it('an analyzer error fails, printed as file:line: Kind ns/name: field: message [CODE]', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, SERVICE + ERROR);
    const { out, stdout, stderr } = capture();
    expect(await validateCommand([dir], out)).toBe(1);
    expect(stderr).toEqual([`${file}:13: VirtualService default/web: spec.http[0].route[0].destination.host: Referenced host not found: "nowhere.default.svc.cluster.local" (no Service or ServiceEntry declares it); requests routed there fail [IST0101]`]);
    expect(stdout).toEqual(['invalid: 2 objects loaded from 1 file; 1 error, 0 warnings']);
  });

  it('warnings pass, unless --strict', async () => {
    writeFileSync(join(dir, 'mesh.yaml'), SERVICE + WARNING);
    const plain = capture();
    expect(await validateCommand([dir], plain.out)).toBe(0);
    expect(plain.stdout).toEqual(['valid: 2 objects loaded from 1 file; 0 errors, 1 warning']);
    const strict = capture();
    expect(await validateCommand([dir], strict.out, { strict: true })).toBe(1);
    expect(strict.stdout).toEqual(['invalid (--strict: warnings fail): 2 objects loaded from 1 file; 0 errors, 1 warning']);
  });

  it('-o json lists every problem with code, level, file, line, kind, namespace, name, field, message', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, SERVICE + WARNING + ERROR.replace('kind: VirtualService', 'kind: VirtualService\nextra: 1'));
    const { out, stdout, stderr } = capture();
    expect(await validateCommand([dir], out, { output: 'json' })).toBe(1);
    expect(stderr).toEqual([]);
    const list = JSON.parse(stdout.join('\n')) as ValidateJsonProblem[];
    expect(list).toEqual([
      { code: null, level: 'error', file, line: 13, kind: 'VirtualService', namespace: 'default', name: 'web', field: 'extra', message: 'unknown field "extra"' },
      { code: 'IST0174', level: 'warning', file, line: 9, kind: 'DestinationRule', namespace: 'default', name: 'ghost', field: 'spec.host', message: expect.stringContaining('ghost.example.com') },
    ]);
  });

  it('runs as a command: exit status, -o json on stdout, --help', async () => {
    writeFileSync(join(dir, 'mesh.yaml'), SERVICE + ERROR);
    const failed = await cli('validate', '-o', 'json', dir);
    expect(failed.code).toBe(1);
    expect((JSON.parse(failed.stdout) as ValidateJsonProblem[]).map((p) => p.code)).toEqual(['IST0101']);
    writeFileSync(join(dir, 'mesh.yaml'), SERVICE);
    expect(await cli('validate', dir)).toMatchObject({ code: 0, stdout: 'valid: 1 object loaded from 1 file; 0 errors, 0 warnings\n' });
    const help = await cli('validate', '--help');
    expect(help.code).toBe(0);
    for (const flag of ['--strict', '-o json', 'IST0101', 'MSH0003']) expect(help.stdout).toContain(flag);
    expect(await cli('validate', '-o', 'yaml', dir)).toMatchObject({ code: 2 });
  });
});

describe('the README table of analyzers', () => {
  it('lists every analyzer with its codes and levels, and a test file that covers it', () => {
    const readme = readFileSync(README, 'utf8');
    for (const analyzer of ANALYZERS) {
      const row = readme.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${analyzer.name}\``));
      expect(row, `README row for ${analyzer.name}`).toBeDefined();
      for (const m of analyzer.messages) expect(row, `${analyzer.name} row`).toContain(`${MESSAGES[m].code} ${MESSAGES[m].level}`);
      const test = /\[[^\]]*\]\(([^)]+\.test\.ts)\)/.exec(row!)?.[1];
      expect(test, `${analyzer.name} row links its test`).toBeDefined();
      expect(readFileSync(join(import.meta.dirname, '../../..', test!), 'utf8')).toContain(analyzer.name);
    }
  });
});
