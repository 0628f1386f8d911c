// Builds the Go interop servers in test setup: `go build` in their folder (go.mod pinned, go.sum
// committed, modules from the Go module proxy) into a temp folder. Go's build cache makes every
// run after the first take seconds. Nothing built here is committed.
//
// The one temp folder tests keep on purpose: <tmpdir>/meshlet-interop-build holds the built
// binaries and pilot-discovery between runs (rebuilding istiod takes minutes); it has a fixed
// name, so it never multiplies. Every other test folder is removed after its test file.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HAS_GO = spawnSync('go', ['version']).status === 0;

/** Builds the Go program in test/interop/<name> and returns the binary's path. */
export function buildGo(name: string): Promise<string> {
  const dir = fileURLToPath(new URL(`./${name}`, import.meta.url));
  const outDir = join(tmpdir(), 'meshlet-interop-build');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, name);
  return new Promise((resolve, reject) => {
    execFile('go', ['build', '-o', out, '.'], { cwd: dir, env: { ...process.env, GOFLAGS: '-buildvcs=false -mod=readonly' }, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`go build in ${dir} failed: ${stderr || err.message}`));
      else resolve(out);
    });
  });
}

export interface GoToolsBuild {
  /** Packages of the module's graph to build (its `tool` lines, or a main package path). */
  packages: string[];
  /** -ldflags for every binary. */
  ldflags?: string;
}

/**
 * Builds several commands of the module in test/interop/<name> into
 * $TMPDIR/meshlet-interop-build/<name>/ (static, -trimpath). Linking binaries of 100+ MB takes
 * a while even with a warm build cache, so a stamp of go.mod, go.sum and the flags skips the
 * build entirely when the binaries are already there.
 */
export function buildGoTools(name: string, build: GoToolsBuild): Promise<string> {
  const dir = fileURLToPath(new URL(`./${name}`, import.meta.url));
  const outDir = join(tmpdir(), 'meshlet-interop-build', name);
  mkdirSync(outDir, { recursive: true });
  const stampFile = join(outDir, '.stamp');
  const stamp = createHash('sha256')
    .update(readFileSync(join(dir, 'go.mod')))
    .update(readFileSync(join(dir, 'go.sum')))
    .update(JSON.stringify(build))
    .digest('hex');
  const bins = build.packages.map((p) => join(outDir, p.slice(p.lastIndexOf('/') + 1)));
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && bins.every((b) => existsSync(b))) return Promise.resolve(outDir);
  const args = ['build', '-trimpath', ...(build.ldflags ? ['-ldflags', build.ldflags] : []), '-o', `${outDir}/`, ...build.packages];
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false -mod=readonly' };
  return new Promise((resolve, reject) => {
    execFile('go', args, { cwd: dir, env, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) return reject(new Error(`go build in ${dir} failed: ${stderr || err.message}`));
      writeFileSync(stampFile, stamp);
      resolve(outDir);
    });
  });
}

/**
 * Runs `fn` holding a lock shared by every test process on this machine (a directory that
 * exists while held), so test files starting together build a module once instead of each
 * compiling it again beside the others; the later ones find the stamp and skip. A lock older
 * than an hour is taken to be left by a killed run.
 */
export async function withBuildLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), 'meshlet-interop-build', `${name}.lock`);
  mkdirSync(join(tmpdir(), 'meshlet-interop-build'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 3_600_000) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The istio.io/istio version istiod/go.mod pins (the only one the Go module proxy serves here). */
export const ISTIO_VERSION = 'v0.0.0-20260827124520-eed52ebb66ad';

/** `go install istio.io/istio/pilot/cmd/pilot-discovery@ISTIO_VERSION` into a temp folder. */
export function installPilotDiscovery(): Promise<string> {
  const bin = join(tmpdir(), 'meshlet-interop-build', 'gobin');
  mkdirSync(bin, { recursive: true });
  return new Promise((resolve, reject) => {
    execFile('go', ['install', `istio.io/istio/pilot/cmd/pilot-discovery@${ISTIO_VERSION}`], { env: { ...process.env, GOBIN: bin, GOFLAGS: '-buildvcs=false' }, maxBuffer: 16 << 20 }, (err, _o, stderr) => {
      if (err) reject(new Error(`go install pilot-discovery failed: ${stderr || err.message}`));
      else resolve(join(bin, 'pilot-discovery'));
    });
  });
}

export interface GoServer {
  address: string;
  child: ChildProcess;
  /** Sends one command line on stdin. */
  send(line: string): void;
  stop(): Promise<void>;
}

/** Starts a built server and waits for its "listening on <addr>" line. Closing stdin stops it. */
export async function startGoServer(binary: string, args: string[]): Promise<GoServer> {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`${binary} exited with ${code}: ${stderr.join('').slice(-4000)}`)));
  });
  return {
    address,
    child,
    send: (line) => { child.stdin!.write(`${line}\n`); },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      child.stdin!.end();
    }),
  };
}
