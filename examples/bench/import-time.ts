// Cold import time: a fresh node per sample, timing from the examples folder, samples
// interleaved (every entry once per pass) so drift on a noisy machine hits all alike, median.
// Meshlet packages are imported from their built dist (what users get), so the packages are
// built first; if the build fails (another package mid-edit) the source under type stripping is
// timed instead and the report says so.
//
// Two kinds of entry:
//   - a package: `await import(pkg)` alone;
//   - a path: what a user of one mode loads before the first request — the embedded HTTP path
//     (@meshlet/core + @meshlet/http, createMesh({ config }) over the bench's YAML folder, a
//     MeshAgent) and the xDS path (the same with @meshlet/grpc and createMesh({ bootstrap })
//     against `meshlet xds`, until the first config is in). Each mode imports its config source
//     when chosen, so the two load different code.
// A path prints its own time before closing the mesh, and exits. One more run per entry, with a
// module hook, counts the module files it loaded and names the
// third-party packages among them.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ImportEntry {
  ms: number;
  /** Every sample, in the order taken. */
  samples: number[];
  /** Median CPU time (user + system) of the same samples: steadier than wall time on a loaded machine. */
  cpuMs?: number;
  /** Module files loaded (import and require; Node's built-in modules not counted). */
  modules?: number;
  /** Third-party packages loaded, by name. */
  packages?: string[];
  /** What the entry does, when it is more than an import. */
  does?: string;
}

export interface ImportReport {
  /** 'dist' or 'source (type stripping)'. */
  form: string;
  /** Packages imported alone. */
  ms: Record<string, number>;
  entries: Record<string, ImportEntry>;
  /** The entries that are paths (mode start-up), in `entries`. */
  paths: string[];
  note?: string;
}

const PACKAGES = ['@meshlet/core', '@meshlet/http', '@meshlet/grpc', 'undici', '@grpc/grpc-js', '@grpc/grpc-js-xds'];

export const EMBEDDED_PATH = 'embedded HTTP path';
export const XDS_PATH = 'xDS path';

/** Records the module files loaded; printed as the last line, after the timing. */
const HOOK = `import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
process.on('exit', () => console.log(JSON.stringify([...loaded])));
`;

/**
 * One fresh node: the wall and CPU time the body took (its first line of output, written by
 * `took()`) and, hooked, the module files it loaded.
 */
function runOnce(cwd: string, body: string, conditions: string[], hook: boolean): { ms: number; cpuMs: number; loaded?: string[] } {
  const code = `${hook ? HOOK : ''}const t = performance.now(), c0 = process.cpuUsage();
const took = () => { const c = process.cpuUsage(c0); return \`\${performance.now() - t} \${(c.user + c.system) / 1000}\`; };
${body}`;
  const out = execFileSync(process.execPath, [...conditions, '--no-warnings', '--input-type=module', '-e', code], { cwd, encoding: 'utf8', timeout: 60_000 });
  const lines = out.trim().split('\n');
  const [ms, cpuMs] = lines[0]!.split(' ').map(Number);
  return { ms: ms!, cpuMs: cpuMs!, ...(hook && { loaded: JSON.parse(lines.at(-1)!) as string[] }) };
}

const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;

/** Third-party package names among loaded module URLs (pnpm layout or flat). */
function packagesOf(loaded: string[]): string[] {
  const names = new Set<string>();
  for (const u of loaded) {
    const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(u);
    if (m && !m[1]!.startsWith('@meshlet/')) names.add(m[1]!);
  }
  return [...names].sort();
}

export interface ImportPaths {
  /** The bench's mesh YAML folder (embedded path). */
  meshDir: string;
  /** A bootstrap pointing at a running `meshlet xds` (xDS path); absent: the row is left out. */
  bootstrap?: string;
}

export function measureImports(repo: string, samples: number, log: (s: string) => void, paths?: ImportPaths): ImportReport {
  let form = 'dist';
  let note: string | undefined;
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b', 'packages/core', 'packages/http', 'packages/grpc'], { cwd: repo, stdio: 'pipe', timeout: 300_000 });
  } catch (err) {
    const out = String((err as { stdout?: Buffer }).stdout ?? '').split('\n')[0];
    note = `the build reported errors (${out}); packages whose dist is missing were timed from source`;
  }
  const cwd = join(repo, 'examples');
  const distMissing = (pkg: string) => pkg.startsWith('@meshlet/') && !existsSync(join(repo, 'packages', pkg.slice(9), 'dist', 'index.js'));
  const jobs: { name: string; body: string; conditions: string[]; does?: string }[] = PACKAGES.map((spec) => ({
    name: spec, body: `await import(${JSON.stringify(spec)});\nconsole.log(took());`, conditions: distMissing(spec) ? ['--conditions=source'] : [],
  }));
  if (paths) {
    const anyMissing = ['@meshlet/core', '@meshlet/http', '@meshlet/grpc'].some(distMissing) ? ['--conditions=source'] : [];
    jobs.push({
      name: EMBEDDED_PATH, conditions: anyMissing,
      does: 'import @meshlet/core and @meshlet/http, createMesh({ config: <folder> }), new MeshAgent',
      body: `const { createMesh } = await import('@meshlet/core'); const { MeshAgent } = await import('@meshlet/http');
const mesh = await createMesh({ config: ${JSON.stringify(paths.meshDir)}, watch: false }); new MeshAgent({ mesh });
const spent = took(); await mesh.close(); console.log(spent); process.exit(0);`,
    });
    if (paths.bootstrap) {
      jobs.push({
        name: XDS_PATH, conditions: anyMissing,
        does: 'import @meshlet/core, @meshlet/http and @meshlet/grpc, createMesh({ bootstrap }) until meshlet xds has sent every listener, register(mesh), new MeshAgent',
        body: `const { createMesh } = await import('@meshlet/core'); const { MeshAgent } = await import('@meshlet/http'); const { register } = await import('@meshlet/grpc');
const mesh = await createMesh({ bootstrap: ${JSON.stringify(paths.bootstrap)}, listeners: '*' }); register(mesh); new MeshAgent({ mesh });
const spent = took(); await mesh.close(); console.log(spent); process.exit(0);`,
      });
    }
  }
  const times = new Map<string, number[]>(jobs.map((j) => [j.name, []]));
  const cpuTimes = new Map<string, number[]>(jobs.map((j) => [j.name, []]));
  const failed = new Set<string>();
  for (let i = 0; i < samples; i++) {
    for (const j of jobs) {
      if (failed.has(j.name)) continue;
      try {
        const once = runOnce(cwd, j.body, j.conditions, false);
        times.get(j.name)!.push(once.ms);
        cpuTimes.get(j.name)!.push(once.cpuMs);
      } catch (err) {
        failed.add(j.name);
        log(`  ${j.name}: failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  const ms: Record<string, number> = {};
  const entries: Record<string, ImportEntry> = {};
  for (const j of jobs) {
    const t = times.get(j.name)!;
    if (t.length === 0) continue;
    const entry: ImportEntry = { ms: median(t), samples: t, cpuMs: median(cpuTimes.get(j.name)!), ...(j.does && { does: j.does }) };
    try {
      const hooked = runOnce(cwd, j.body, j.conditions, true);
      entry.modules = hooked.loaded!.filter((u) => u.startsWith('file:')).length;
      entry.packages = packagesOf(hooked.loaded!);
    } catch { /* the timing stands without the module list */ }
    entries[j.name] = entry;
    if (PACKAGES.includes(j.name)) ms[j.name] = entry.ms;
    log(`  ${j.name.padEnd(20)} ${entry.ms.toFixed(1)} ms, CPU ${entry.cpuMs!.toFixed(1)} ms (${t.map((x) => x.toFixed(0)).join(' ')})${entry.modules !== undefined ? `, ${entry.modules} modules; ${entry.packages!.join(', ') || 'no third-party package'}` : ''}`);
  }
  return { form, ms, entries, paths: jobs.filter((j) => !PACKAGES.includes(j.name) && entries[j.name]).map((j) => j.name), ...(note !== undefined && { note }) };
}
