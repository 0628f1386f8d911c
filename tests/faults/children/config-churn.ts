// Scenario 5's body (run by 05-config-churn.test.ts in a child with --expose-gc): 1,000 config
// updates through the file source — the loader, compiler, snapshot swap and MeshAgent
// reconcile — while requests flow, then heap and handles compared with a baseline taken after
// a warm-up with the same traffic and 50 updates.
//
// The updates touch everything that owns state or resources: the endpoint set (3 of 4 live
// backends, rotating), the balancer, outlier detection switched on and off (its sweep timer),
// connection-pool limits (each change builds a new undici Agent and drains the old one),
// subset names (clusters come and go under traffic), route weights and retries, and an extra
// service added and removed.
//
// argv: <backend ports JSON> <updates>

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh, silentLogger } from '../../../packages/core/src/index.ts';
import { FileConfigSource } from '../../../packages/core/src/config/file-config-source.ts';
import { MeshAgent } from '../../../packages/http/src/index.ts';
import { sampleMemory } from '../helpers/child.ts';
import { quantile, sleep, startLoad } from '../helpers/load.ts';

const ports = JSON.parse(process.argv[2]!) as number[];
const UPDATES = Number(process.argv[3] ?? 1000);

function configFor(k: number): string {
  const eps = [0, 1, 2, 3].filter((i) => i !== k % 4).map((i) => ports[i]!);
  const lb = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'][k % 3];
  const gen = Math.floor(k / 50); // subset names change every 50 updates
  const outlier = k % 2 === 0 ? `
    outlierDetection: { consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 5s, maxEjectionPercent: 50 }` : '';
  const extra = k % 10 < 5 ? `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: extra-${k % 20}, namespace: default }
spec:
  hosts: [extra-${k % 20}.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${ports[0]} } }]
` : '';
  const w = k % 101;
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
${eps.map((p, i) => `    - { address: 127.0.0.1, ports: { http: ${p} }, labels: { half: "${i % 2}" } }`).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: default }
spec:
  host: web
  trafficPolicy:
    loadBalancer: { simple: ${lb} }
    connectionPool: { http: { http2MaxRequests: ${1000 + (k % 7)} } }${outlier}
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
      retries: { attempts: ${1 + (k % 3)}, retryOn: "connect-failure,reset,503" }
${extra}`;
}

const dir = mkdtempSync(join(tmpdir(), 'meshlet-faults-churn-'));
// This child runs outside vitest: it removes its own folder however it ends (normally or by an error).
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'mesh.yaml');
writeFileSync(file, configFor(0));
const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
if (mesh.problems.length) throw new Error(mesh.problems.join('\n'));
const source = new FileConfigSource(mesh, { paths: [dir], watch: false });
// Short keep-alive, so idle pooled sockets are gone before each measurement and the handle
// count compares like with like.
const agent = new MeshAgent({ mesh, connections: { keepAliveTimeout: 300, keepAliveMaxTimeout: 300 } });

const load = (maxDurationMs: number) => startLoad({
  concurrency: 8, rate: 300, maxRequests: 100_000, maxDurationMs, hangMs: 5_000,
  send: async (_i, signal) => {
    const res = await agent.request({ origin: 'http://web', path: '/', method: 'GET', signal });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  },
});

async function apply(k: number): Promise<void> {
  writeFileSync(file, configFor(k));
  const problems = (await source.load()).filter((p) => p.severity === 'error');
  if (problems.length) throw new Error(`update ${k}: ${JSON.stringify(problems[0])}`);
}

// Warm-up: the same traffic and 50 updates, so JIT, caches and pools reach their steady size.
const warm = load(60_000);
for (let k = 1; k <= 50; k++) {
  await apply(k);
  await sleep(20);
}
warm.stop();
const warmResult = await warm.result;
await sleep(1_000);
const before = await sampleMemory();

const churn = load(120_000);
const t0 = performance.now();
// Paced at one update per 8 ms at most, so the updates span several seconds of traffic (about
// 2,400 requests at 300/s) however fast this machine applies them.
for (let k = 51; k < 51 + UPDATES; k++) {
  const due = t0 + (k - 51) * 8;
  if (performance.now() < due) await sleep(due - performance.now());
  await apply(k);
}
const updateMs = performance.now() - t0;
// Keep traffic on the final config for a moment, then stop.
await sleep(500);
churn.stop();
const result = await churn.result;
await sleep(1_000);
const after = await sampleMemory();

process.stdout.write(`RESULT ${JSON.stringify({
  updates: UPDATES,
  updateMs,
  snapshotVersion: mesh.snapshot.version,
  warm: { sent: warmResult.sent, failed: warmResult.failed },
  sent: result.sent,
  failed: result.failed,
  hung: result.hung,
  failures: result.failures,
  p99: quantile(result.latencies, 0.99),
  before,
  after,
})}\n`);
await agent.close();
await mesh.close();
