// `pnpm soak [--minutes N]` (default 3): steady load through MeshAgent for N minutes while
// endpoints die and come back and the config keeps changing, sampling the heap (after a forced
// GC) and the process's active handles every 5 s. It fails (exit 1) on an upward trend: the
// median heap of the last third of the samples above that of the first third by more than
// 25% + 2 MB, or the floor (minimum) of the handle count rising by more than 5 — handles swing
// by dozens with the requests in flight at the moment of sampling (a socket and timers each),
// but a leaked handle never goes away, so leaks lift the floor — or more than 0.5% of requests
// failing.
//
// Churn, all on 127.0.0.1:
//   - 4 backend processes; every 10 s one is SIGKILLed and restarted 3 s later (outlier
//     detection ejects it, Istio's default retries cover the requests that meet it);
//   - the watched config folder is rewritten every 2 s: weights, balancer, pool limits,
//     outlier settings, subset names every 10th edit, an extra service added and removed.
// Needs --expose-gc (the package script passes it). Everything it starts it stops.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMesh, silentLogger } from '../../packages/core/src/index.ts';
import { MeshAgent } from '../../packages/http/src/index.ts';
import { startBackend, stopAllBackends } from '../faults/helpers/backends.ts';
import { sampleMemory } from '../faults/helpers/child.ts';
import { quantile, sleep, startLoad } from '../faults/helpers/load.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '3' } } });
const minutes = Number(values.minutes);
if (!(minutes > 0 && minutes <= 60)) throw new Error(`--minutes ${values.minutes}: give a number of minutes from 0 to 60`);
const DURATION_MS = minutes * 60_000;
const RATE = 200;
const SAMPLE_EVERY_MS = 5_000;

const backends = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startBackend(n)));
const ports = backends.map((b) => b.port);

function config(k: number): string {
  const gen = Math.floor(k / 10);
  const w = (k * 17) % 101;
  const extra = k % 4 < 2 ? `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: extra, namespace: default }
spec:
  hosts: [extra.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${ports[k % 4]} } }]
` : '';
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
${ports.map((p, i) => `    - { address: 127.0.0.1, ports: { http: ${p} }, labels: { half: "${i % 2}" } }`).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: default }
spec:
  host: web
  trafficPolicy:
    loadBalancer: { simple: ${['LEAST_REQUEST', 'ROUND_ROBIN', 'RANDOM'][k % 3]} }
    connectionPool: { http: { http2MaxRequests: ${500 + (k % 5)} } }
    outlierDetection: { consecutive5xxErrors: ${3 + (k % 3)}, interval: 1s, baseEjectionTime: 2s, maxEjectionPercent: 50 }
  subsets:
    - { name: a${gen}, labels: { half: "0" } }
    - { name: b${gen}, labels: { half: "1" } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web]
  http:
    - route:
        - { destination: { host: web, subset: a${gen} }, weight: ${w} }
        - { destination: { host: web, subset: b${gen} }, weight: ${101 - w} }
${extra}`;
}

const dir = mkdtempSync(join(tmpdir(), 'meshlet-soak-'));
writeFileSync(join(dir, 'mesh.yaml'), config(0));
const mesh = await createMesh({ config: dir, logger: silentLogger });
if (mesh.problems.length) throw new Error(mesh.problems.join('\n'));
const agent = new MeshAgent({ mesh });

const load = startLoad({
  concurrency: 16,
  rate: RATE,
  maxRequests: Math.ceil((RATE * DURATION_MS) / 1000),
  maxDurationMs: DURATION_MS,
  hangMs: 10_000,
  send: async (_i, signal) => {
    const res = await agent.request({ origin: 'http://web', path: '/', method: 'GET', signal });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  },
});

let running = true;
const start = performance.now();
const elapsed = () => performance.now() - start;

// Config churn: a new version of the watched file every 2 s.
const configChurn = (async () => {
  for (let k = 1; running && elapsed() < DURATION_MS; k++) {
    await sleep(2_000);
    writeFileSync(join(dir, 'mesh.yaml'), config(k));
  }
})();

// Endpoint churn: every 10 s one backend dies and comes back 3 s later.
let kills = 0;
const endpointChurn = (async () => {
  for (let k = 0; running && elapsed() < DURATION_MS - 5_000; k++) {
    await sleep(7_000);
    const b = backends[k % backends.length]!;
    await b.kill();
    kills++;
    await sleep(3_000);
    await b.restart();
  }
})();

interface Sample { t: number; heapMB: number; handles: number; rssMB: number; done: number; failed: number }
const samples: Sample[] = [];
const MB = 1024 * 1024;
// Samples stop a second before the load does, so every one is taken under load.
while (elapsed() + SAMPLE_EVERY_MS < DURATION_MS - 1_000) {
  await sleep(SAMPLE_EVERY_MS);
  const m = await sampleMemory();
  samples.push({ t: elapsed() / 1000, heapMB: m.heapUsed / MB, handles: m.handles, rssMB: process.memoryUsage().rss / MB, done: load.done, failed: load.failed });
  const s = samples.at(-1)!;
  process.stdout.write(`  t=${s.t.toFixed(0).padStart(4)} s  heap ${s.heapMB.toFixed(1).padStart(6)} MB  handles ${String(s.handles).padStart(4)}  rss ${s.rssMB.toFixed(0).padStart(4)} MB  requests ${s.done} (failed ${s.failed})\n`);
}
running = false;
load.stop();
const result = await load.result;
await Promise.all([configChurn, endpointChurn]);
await agent.close();
await mesh.close();
await stopAllBackends();

const median = (xs: number[]) => quantile(xs, 0.5);
const third = Math.max(1, Math.floor(samples.length / 3));
const first = samples.slice(0, third);
const last = samples.slice(-third);
const heapFirst = median(first.map((s) => s.heapMB));
const heapLast = median(last.map((s) => s.heapMB));
const handlesFirst = Math.min(...first.map((s) => s.handles));
const handlesLast = Math.min(...last.map((s) => s.handles));
const failRate = result.failed / Math.max(1, result.sent);
const problems: string[] = [];
if (samples.length < 6) problems.push(`only ${samples.length} samples: run for at least a minute`);
if (heapLast > heapFirst * 1.25 + 2) problems.push(`heap grew: median ${heapFirst.toFixed(1)} MB in the first third, ${heapLast.toFixed(1)} MB in the last`);
if (handlesLast > handlesFirst + 5) problems.push(`handles grew: at least ${handlesFirst} open in the first third, at least ${handlesLast} in the last`);
if (failRate > 0.005) problems.push(`${(failRate * 100).toFixed(2)}% of requests failed: ${result.failures.slice(0, 5).join('; ')}`);
if (result.hung > 0) problems.push(`${result.hung} requests hung`);

const summary = {
  minutes,
  sent: result.sent,
  failed: result.failed,
  hung: result.hung,
  p99Ms: quantile(result.latencies, 0.99),
  endpointKills: kills,
  configVersions: mesh.snapshot.version,
  heapMedianFirstMB: heapFirst,
  heapMedianLastMB: heapLast,
  handlesFloorFirst: handlesFirst,
  handlesFloorLast: handlesLast,
  failureKinds: result.failureKinds,
  ok: problems.length === 0,
  problems,
};
process.stdout.write(`\nsoak: ${minutes} min, ${result.sent} requests, ${result.failed} failed (${(failRate * 100).toFixed(3)}%), p99 ${summary.p99Ms.toFixed(1)} ms, ${kills} endpoint kills, ${summary.configVersions} config versions\n`);
process.stdout.write(`      heap median ${heapFirst.toFixed(1)} MB (first third) → ${heapLast.toFixed(1)} MB (last third); handles floor ${handlesFirst} → ${handlesLast}\n`);
process.stdout.write(`SOAK ${JSON.stringify(summary)}\n`);
if (problems.length) {
  process.stderr.write(`soak FAILED:\n  ${problems.join('\n  ')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('soak passed: no upward trend in heap or handles\n');
}
