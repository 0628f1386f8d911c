// `npm run test:pack`: the three packages as a Node team would get them. Packs each one with
// `pnpm pack` (workspace:* becomes the real version), checks what each tarball holds, installs
// them into a new project in a temp folder outside the workspace (their dependencies from the
// pnpm store the workspace install filled, so no network is needed once it is warm; the
// registry otherwise), and there runs: ESM import with a real request (consumer/esm.mjs),
// CommonJS require (consumer/require.cjs), `tsc --strict` with skipLibCheck: false and without
// the optional peer @opentelemetry/api (consumer/types.ts), and `npx meshlet`. About 30 s.

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const PACKAGES = ['core', 'http', 'grpc'] as const;
const started = Date.now();

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`test:pack: ${what}`);
}

function versionIn(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

const work = mkdtempSync(join(tmpdir(), 'meshlet-pack-'));
try {
  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  const tarballs: Record<string, string> = {};
  run('pnpm', ['build'], ROOT);
  for (const p of PACKAGES) {
    const dir = join(ROOT, 'packages', p);
    check(readFileSync(join(dir, 'LICENSE'), 'utf8') === license, `packages/${p}/LICENSE differs from the root LICENSE`);
    run('pnpm', ['pack', '--pack-destination', join(work, 'tarballs')], dir);
    const tgz = join(work, 'tarballs', `meshlet-${p}-${versionIn(dir)}.tgz`);
    check(existsSync(tgz), `pnpm pack made no ${tgz}`);
    tarballs[p] = tgz;
    const files = run('tar', ['-tzf', tgz], work).split('\n');
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', ...(p === 'core' ? ['bin/meshlet.cjs', 'bin/check-node.cjs', 'dist/cli/main.js'] : [])]) {
      check(files.includes(`package/${f}`), `@meshlet/${p}'s tarball has no ${f}`);
    }
    check(!files.some((f) => /\/test\/|\.tsbuildinfo$/.test(f)), `@meshlet/${p}'s tarball holds tests or build info`);
    const manifest = run('tar', ['-xzOf', tgz, 'package/package.json'], work);
    check(!manifest.includes('workspace:'), `@meshlet/${p}'s packed package.json still says workspace:`);
  }

  // The new project: the tarballs, the grpc-js peer and @types/node at the workspace's versions,
  // and nothing else (no @opentelemetry/api).
  const app = join(work, 'app');
  mkdirSync(app);
  cpSync(join(import.meta.dirname, 'consumer'), app, { recursive: true });
  const grpcJs = versionIn(join(ROOT, 'packages/core/node_modules/@grpc/grpc-js'));
  const typesNode = versionIn(join(ROOT, 'node_modules/@types/node'));
  const file = (p: string) => `file:${tarballs[p]}`;
  writeFileSync(join(app, 'package.json'), JSON.stringify({
    name: 'meshlet-pack-check',
    private: true,
    dependencies: { '@meshlet/core': file('core'), '@meshlet/http': file('http'), '@meshlet/grpc': file('grpc'), '@grpc/grpc-js': grpcJs },
    devDependencies: { '@types/node': typesNode },
    // @meshlet/http and @meshlet/grpc depend on @meshlet/core 0.1.0, which no registry has yet.
    pnpm: { overrides: { '@meshlet/core': file('core') } },
  }, null, 2));
  const store = run('pnpm', ['store', 'path'], ROOT).trim();
  run('pnpm', ['install', '--prefer-offline', '--store-dir', store, '--config.node-linker=isolated'], app);
  check(!existsSync(join(app, 'node_modules/@opentelemetry/api')), '@opentelemetry/api got installed, so the optional-peer check would prove nothing');

  console.log(run(process.execPath, ['esm.mjs'], app).trim());
  console.log(run(process.execPath, ['require.cjs'], app).trim());
  run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  console.log('tsc --strict, skipLibCheck: false, no @opentelemetry/api: the public types compile');
  const version = run('npx', ['--no-install', 'meshlet', '--version'], app).trim();
  check(version === versionIn(join(ROOT, 'packages/core')), `npx meshlet --version printed ${JSON.stringify(version)}`);
  const validate = run('npx', ['--no-install', 'meshlet', 'validate', 'mesh'], app);
  check(validate.includes('0 errors'), `npx meshlet validate mesh printed ${JSON.stringify(validate)}`);
  console.log(`npx meshlet --version: ${version}; npx meshlet validate runs the packed CLI`);
  console.log(`test:pack passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
