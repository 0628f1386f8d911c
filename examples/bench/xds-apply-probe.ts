// Apply-only probe for the worst event-loop turn while a large xDS snapshot applies (issue 20
// target 4): xds-apply.ts's createMesh path without the endpoint changes and the report, so
// one case can be iterated on cheaply and run under V8's tracing flags.
//
//   node --conditions=source --expose-gc [--trace-gc] examples/bench/xds-apply-probe.ts \
//     [services=10000] [proxyless|sidecar] [sotw|delta] [applies=3] [--heap-snapshot] [--turns]
//     [--changes=N] [--cpu-prof-change=FILE]
//
// One warm-up apply, then `applies` measured ones in this process, each from an empty client
// against `meshlet xds` in another process. Per apply: the worst main-thread CPU between two
// 1 ms ticks (what a request arriving meanwhile would wait on an idle core), the five worst,
// and the heap the applied mesh holds after a full collection. --heap-snapshot writes one
// .heapsnapshot of the last applied mesh (to the working folder) for a retainer view.
//
// --changes=N: after the last apply, keep its mesh and move svc-1's first endpoint N times
// (the server recompiles and pushes the one assignment), as xds-apply.ts's endpoint-change
// column does: per change, the main thread's CPU from the file write until the snapshot routes
// to the new address, and the same window's idle cost (main-thread CPU per second measured
// with nothing to do just before, times the change's wall time) beside it. The turn itself is
// also timed alone (wall): from the moment grpc-js hands the response to the ADS stream until
// the snapshot is published.
// --cpu-prof-change=FILE writes a CPU profile (50 µs sampling) of the last change's window, for
// cpuprofile-top.ts.

import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { createRequire } from 'node:module';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { generateMesh } from './config-scale.ts';
import { startProfile } from './profile-session.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SERVICES = Number(args[0] ?? 10_000);
const PROFILE = args[1] === 'sidecar' ? 'sidecar' : 'proxyless';
const DELTA = args[2] === 'delta';
const APPLIES = Number(args[3] ?? 3);
const HEAP_SNAPSHOT = process.argv.includes('--heap-snapshot');
const TURNS = process.argv.includes('--turns');
const CLOSED_SNAPSHOT = process.argv.includes('--heap-snapshot=closed');
const CHANGES = Number(process.argv.find((a) => a.startsWith('--changes='))?.slice('--changes='.length) ?? 0);
const PROF_CHANGE = process.argv.find((a) => a.startsWith('--cpu-prof-change='))?.slice('--cpu-prof-change='.length);

const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = (): number => { gc?.(); gc?.(); return process.memoryUsage().heapUsed / 2 ** 20; };
const log = (s: string): void => { process.stderr.write(`probe: ${s}\n`); };

const dir = mkdtempSync(join(tmpdir(), 'meshlet-probe-'));
const writeMesh = (objects: ReturnType<typeof generateMesh>): void => {
  const docs = objects.map((o) => JSON.stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: (o as { spec?: unknown }).spec }));
  // Renamed in, so the server's watch never reads a half-written file.
  writeFileSync(`${dir}.next`, docs.join('\n---\n'));
  renameSync(`${dir}.next`, join(dir, 'mesh.yaml'));
};
writeMesh(generateMesh(SERVICES, SERVICES * 4));

// The moment a response reaches the ADS client: grpc-js calls the stream's deserializer with
// its bytes just before it hands them to the 'data' listener (the same grpc-js instance as
// core's, resolved from core's folder).
let responseAt: number | undefined;
let responseHr: bigint | undefined;
let responseCpu: NodeJS.CpuUsage | undefined;
if (CHANGES > 0) {
  const grpc = createRequire(join(ROOT, 'packages/core/package.json'))('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  const make = grpc.Client.prototype.makeBidiStreamRequest;
  grpc.Client.prototype.makeBidiStreamRequest = function (this: unknown, method: string, serialize: (v: never) => Buffer, deserialize: (b: Buffer) => unknown, ...rest: unknown[]) {
    const marked = (b: Buffer): unknown => { if (responseAt === undefined) { responseCpu = process.threadCpuUsage(); responseAt = performance.now(); responseHr = process.hrtime.bigint(); } return deserialize(b); };
    return (make as (...a: unknown[]) => unknown).call(this, method, serialize, marked, ...rest);
  } as typeof make;
}
const bootstrap = join(dir, 'bootstrap.json');

const child = spawn(process.execPath, ['--conditions=source', join(ROOT, 'packages/core/src/cli/main.ts'), 'xds', '--config', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const address = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; const m = / on (\S+)\n/.exec(out); if (m) resolve(m[1]!); });
  child.on('exit', (c) => reject(new Error(`meshlet xds exited ${c}`)));
});
writeFileSync(bootstrap, JSON.stringify({
  xds_servers: [{ server_uri: address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', ...(DELTA ? ['delta'] : [])] }],
  node: { id: 'sidecar~127.0.0.1~bench.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' }, locality: {} },
}));

/**
 * Main-thread CPU between 1 ms ticks: every gap over 10 ms, largest first. With --turns each
 * one over 20 ms is also printed with when it ended (performance.now(), within a few ms of
 * --trace-gc's clock), to find the collection in it.
 */
function turns(): { stop(): number[] } {
  let last = process.threadCpuUsage();
  const gaps: number[] = [];
  const tick = setInterval(() => {
    const now = process.threadCpuUsage();
    const ms = (now.user - last.user + now.system - last.system) / 1000;
    if (ms > 10) gaps.push(ms);
    if (ms > 20 && TURNS) log(`turn ${ms.toFixed(1)} ms CPU ended at ${performance.now().toFixed(0)} ms (hrtime ${process.hrtime.bigint() / 1000n} µs, a --cpu-prof timestamp)`);
    last = now;
  }, 1);
  return { stop: () => { clearInterval(tick); return gaps.sort((a, b) => b - a); } };
}

/**
 * One apply, its mesh closed before it returns. A function of its own: a suspended async
 * frame keeps its locals until they are overwritten, so a mesh held in the loop's body stayed
 * alive (140 MB at 10k services) through the next apply.
 */
async function apply(i: number): Promise<Mesh | undefined> {
  const heap0 = heapMb();
  const t = turns();
  const t0 = performance.now();
  if (TURNS) log(`apply starts at ${performance.now().toFixed(0)} ms`);
  const mesh = await createMesh({ bootstrap, listeners: '*', logger: silentLogger, xds: { initialFetchTimeoutMs: 120_000, generator: PROFILE === 'sidecar' ? 'sidecar' : 'grpc' } });
  const wall = performance.now() - t0;
  const gaps = t.stop();
  const heap = heapMb() - heap0;
  log(`${i === 0 ? 'warm-up' : `apply ${i}`} ${PROFILE} ${DELTA ? 'delta' : 'SotW'} ${SERVICES}: worst turn ${(gaps[0] ?? 0).toFixed(1)} ms CPU (${gaps.length} over 10 ms: ${gaps.slice(0, 5).map((g) => g.toFixed(1)).join(', ')}), wall ${wall.toFixed(0)} ms, heap ${heap.toFixed(1)} MB, load ${loadavg()[0]!.toFixed(1)}`);
  if (HEAP_SNAPSHOT && i === APPLIES) log(`heap snapshot ${writeHeapSnapshot()}`);
  if (CHANGES > 0 && i === APPLIES) return mesh;
  await mesh.close();
  return undefined;
}

const threadMs = (since: NodeJS.CpuUsage): number => { const u = process.threadCpuUsage(since); return (u.user + u.system) / 1000; };

/**
 * The main thread's CPU time, read just after it slept. Linux adds a running thread's time to
 * what getrusage reports only at a scheduler tick (4 ms here) or when the thread blocks, so a
 * read in the middle of work lags by up to a tick: read after a full collection, it billed
 * 0–4 ms of that collection to the window that followed. A 20 ms sleep first makes it exact.
 */
async function settledCpu(): Promise<NodeJS.CpuUsage> {
  await new Promise((r) => setTimeout(r, 20));
  return process.threadCpuUsage();
}

/** Main-thread CPU per second with nothing to do (timers, the stream's keep-alive), over `ms`. */
async function idleRate(ms: number): Promise<number> {
  gc?.();
  const t = await settledCpu();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const end = await settledCpu();
  return ((end.user - t.user + end.system - t.system) / 1000) / ((performance.now() - t0) / 1000);
}

/** svc-1's first endpoint moves; logs the CPU figures once the snapshot routes there. */
async function endpointChange(mesh: Mesh, n: number, profile: boolean): Promise<number> {
  const rate = await idleRate(2000);
  const objects = generateMesh(SERVICES, SERVICES * 4);
  const se = objects.find((o) => o.kind === 'ServiceEntry' && o.metadata.name === 'svc-1') as unknown as { spec: { endpoints: { address: string }[] } };
  const target = `10.251.${n % 250}.${Math.floor(Math.random() * 250)}`;
  se.spec.endpoints[0]!.address = target;
  const name = 'outbound|8080||svc-1.ns-1.svc.cluster.local';
  let turnMs = NaN;
  const changed = new Promise<void>((resolve) => {
    const off = mesh.subscribe((s) => {
      if (!s.clusters.get(name)?.endpoints.some((e) => e.address === target)) return;
      if (responseAt !== undefined) turnMs = performance.now() - responseAt;
      if (TURNS) log(`response at hrtime ${responseHr! / 1000n} µs, published at ${process.hrtime.bigint() / 1000n} µs (--cpu-prof timestamps)`);
      off();
      resolve();
    });
  });
  writeMesh(objects);
  gc?.();
  const t = await settledCpu();
  // The profiler's own cost lands in this change's CPU figure: profile a change not compared.
  const stop = profile ? await startProfile(50) : undefined;
  responseAt = undefined;
  const t0 = performance.now();
  await changed;
  const wall = performance.now() - t0;
  const end = await settledCpu();
  const cpu = (end.user - t.user + end.system - t.system) / 1000;
  // The thread had just woken for the response when grpc-js handed it over: that read is exact.
  const fromResponse = responseCpu ? (end.user - responseCpu.user + end.system - responseCpu.system) / 1000 : NaN;
  // What one settle (a 20 ms sleep, a timer's wake-up) costs, to read the rest against.
  const s0 = await settledCpu();
  const s1 = await settledCpu();
  const settleMs = (s1.user - s0.user + s1.system - s0.system) / 1000;
  await stop?.(0);
  log(`change ${n} ${PROFILE} ${DELTA ? 'delta' : 'SotW'} ${SERVICES}: main-thread CPU ${cpu.toFixed(2)} ms over ${wall.toFixed(0)} ms wall (idle share ${(rate * wall / 1000).toFixed(2)} ms at ${rate.toFixed(3)} ms/s); response to publish ${turnMs.toFixed(2)} ms wall; response to idle ${fromResponse.toFixed(2)} ms CPU (a settle alone ${settleMs.toFixed(2)}); load ${loadavg()[0]!.toFixed(1)}${profile ? ` (profiled: ${process.env['PROFILE_OUT']})` : ''}`);
  return cpu;
}

try {
  for (let i = 0; i <= APPLIES; i++) {
    const mesh = await apply(i);
    if (mesh) {
      if (PROF_CHANGE) process.env['PROFILE_OUT'] = PROF_CHANGE;
      for (let n = 1; n <= CHANGES; n++) await endpointChange(mesh, n, PROF_CHANGE !== undefined && n === CHANGES);
      await mesh.close();
    }
    await new Promise((r) => setTimeout(r, 500));
    if (CLOSED_SNAPSHOT && i === 0) { gc?.(); log(`heap snapshot after close ${writeHeapSnapshot()}`); }
  }
} finally {
  await new Promise<void>((r) => { child.once('exit', () => r()); child.kill(); });
}
