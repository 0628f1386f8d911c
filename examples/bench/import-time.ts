// Cold import time of each package: a fresh node per sample, timing `await import(pkg)` from
// the examples folder, median of several. Meshlet packages are imported from their built dist
// (what users get), so the packages are built first; if the build fails (another package
// mid-edit) the source under type stripping is timed instead and the report says so.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ImportReport {
  /** 'dist' or 'source (type stripping)'. */
  form: string;
  ms: Record<string, number>;
  note?: string;
}

const PACKAGES = ['@meshlet/core', '@meshlet/http', '@meshlet/grpc', 'undici', '@grpc/grpc-js', '@grpc/grpc-js-xds'];

function importMs(cwd: string, spec: string, samples: number, conditions: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const out = execFileSync(process.execPath, [...conditions, '--no-warnings', '--input-type=module', '-e', `const t=performance.now(); await import(${JSON.stringify(spec)}); console.log(performance.now()-t)`], { cwd, encoding: 'utf8', timeout: 60_000 });
    times.push(Number(out.trim().split('\n').pop()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function measureImports(repo: string, samples: number, log: (s: string) => void): ImportReport {
  let form = 'dist';
  let note: string | undefined;
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b', 'packages/core', 'packages/http', 'packages/grpc'], { cwd: repo, stdio: 'pipe', timeout: 300_000 });
  } catch (err) {
    const out = String((err as { stdout?: Buffer }).stdout ?? '').split('\n')[0];
    note = `the build reported errors (${out}); packages whose dist is missing were timed from source`;
  }
  const cwd = join(repo, 'examples');
  const ms: Record<string, number> = {};
  for (const spec of PACKAGES) {
    const distMissing = spec.startsWith('@meshlet/') && !existsSync(join(repo, 'packages', spec.slice(9), 'dist', 'index.js'));
    if (distMissing) form = 'dist where built, else source';
    try {
      ms[spec] = importMs(cwd, spec, samples, distMissing ? ['--conditions=source'] : []);
      log(`  ${spec.padEnd(20)} ${ms[spec]!.toFixed(1)} ms${distMissing ? ' (source)' : ''}`);
    } catch (err) {
      log(`  ${spec}: import failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { form, ms, ...(note !== undefined && { note }) };
}
