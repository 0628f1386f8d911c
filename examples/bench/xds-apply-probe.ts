// Apply-only probe for the worst event-loop turn while a large xDS snapshot applies (issue 20
// target 4): xds-apply.ts's createMesh path without the endpoint changes and the report, so
// one case can be iterated on cheaply and run under V8's tracing flags.
//
//   node --conditions=source --expose-gc [--trace-gc] examples/bench/xds-apply-probe.ts \
//     [services=10000] [proxyless|sidecar] [sotw|delta] [applies=3] [--heap-snapshot] [--turns]
//
// One warm-up apply, then `applies` measured ones in this process, each from an empty client
// against `meshlet xds` in another process. Per apply: the worst main-thread CPU between two
// 1 ms ticks (what a request arriving meanwhile would wait on an idle core), the five worst,
// and the heap the applied mesh holds after a full collection. --heap-snapshot writes one
// .heapsnapshot of the last applied mesh (to the working folder) for a retainer view.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { createMesh, silentLogger } from '@meshlet/core';
import { generateMesh } from './config-scale.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SERVICES = Number(args[0] ?? 10_000);
const PROFILE = args[1] === 'sidecar' ? 'sidecar' : 'proxyless';
const DELTA = args[2] === 'delta';
const APPLIES = Number(args[3] ?? 3);
const HEAP_SNAPSHOT = process.argv.includes('--heap-snapshot');
const TURNS = process.argv.includes('--turns');
const CLOSED_SNAPSHOT = process.argv.includes('--heap-snapshot=closed');

const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = (): number => { gc?.(); gc?.(); return process.memoryUsage().heapUsed / 2 ** 20; };
const log = (s: string): void => { process.stderr.write(`probe: ${s}\n`); };

const dir = mkdtempSync(join(tmpdir(), 'meshlet-probe-'));
const docs = generateMesh(SERVICES, SERVICES * 4).map((o) => JSON.stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: (o as { spec?: unknown }).spec }));
writeFileSync(join(dir, 'mesh.yaml'), docs.join('\n---\n'));
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
async function apply(i: number): Promise<void> {
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
  await mesh.close();
}

try {
  for (let i = 0; i <= APPLIES; i++) {
    await apply(i);
    await new Promise((r) => setTimeout(r, 500));
    if (CLOSED_SNAPSHOT && i === 0) { gc?.(); log(`heap snapshot after close ${writeHeapSnapshot()}`); }
  }
} finally {
  await new Promise<void>((r) => { child.once('exit', () => r()); child.kill(); });
}
