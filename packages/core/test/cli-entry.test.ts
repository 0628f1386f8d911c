// The ways in: `meshlet --version` / `--help` read the package version; the committed bin shim
// runs the CLI before any build; the Node version check says in one line what is needed and
// what was found, and guards every npm script of the workspace that runs Node.

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = join(import.meta.dirname, '..');
const ROOT = join(CORE, '../..');
const VERSION = (JSON.parse(readFileSync(join(CORE, 'package.json'), 'utf8')) as { version: string }).version;
const CHECK = join(CORE, 'bin/check-node.cjs');

function cli(entry: string[], args: string[]): string {
  return execFileSync(process.execPath, [...entry, ...args], { encoding: 'utf8' });
}

describe('meshlet --version', () => {
  it("prints @meshlet/core's version, from the source and through the bin shim", () => {
    expect(cli(['--conditions=source', join(CORE, 'src/cli/main.ts')], ['--version'])).toBe(`${VERSION}\n`);
    expect(cli([join(CORE, 'bin/meshlet.cjs')], ['--version'])).toBe(`${VERSION}\n`);
  });

  it('--help ends with the version', () => {
    const help = cli([join(CORE, 'bin/meshlet.cjs')], ['--help']);
    expect(help).toContain('--version');
    expect(help.trimEnd().endsWith(`meshlet ${VERSION}`)).toBe(true);
  });

  it('the package declares the committed shim as its bin', () => {
    const pkg = JSON.parse(readFileSync(join(CORE, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    expect(pkg.bin).toEqual({ meshlet: './bin/meshlet.cjs' });
    expect(pkg.files).toContain('bin');
    expect(readFileSync(join(CORE, 'bin/meshlet.cjs'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('Node version check', () => {
  /** Runs the check as if Node were `version` (process.versions.node overridden first). */
  function checkAs(version: string): { status: number | null; stderr: string } {
    const code = `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} }); require(${JSON.stringify(CHECK)})();`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  }

  it.each(['20.20.2', '22.18.9', '18.0.0', '21.99.0'])('refuses Node %s in one line naming both versions', (version) => {
    const r = checkAs(version);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(new RegExp(`^Meshlet needs Node\\.js >= 22\\.19, but found ${version.replace(/\./g, '\\.')} \\(.+\\); `))]);
  });

  it.each(['22.19.0', '22.20.1', '24.0.0', '30.1.2'])('accepts Node %s silently', (version) => {
    expect(checkAs(version)).toEqual({ status: 0, stderr: '' });
  });

  it('needs what the package says: engines.node of the root and of @meshlet/core agree', () => {
    const engines = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines(CORE)).toBe('>=22.19');
    expect(engines(ROOT)).toBe(engines(CORE));
  });

  it('runs first in every workspace script that starts Node, vitest or the CLI', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const guarded = Object.entries(scripts).filter(([, cmd]) => /\b(node|vitest)\b/.test(cmd));
    expect(guarded.map(([name]) => name)).toEqual(expect.arrayContaining(['demo', 'test', 'test:pack', 'test:faults', 'test:interop', 'meshlet', 'bench']));
    for (const [name, cmd] of guarded) {
      expect(cmd.startsWith('node packages/core/bin/check-node.cjs && ') || cmd === 'node packages/core/bin/meshlet.cjs', `${name}: ${cmd}`).toBe(true);
    }
  });
});
