// Scenario 7's body (run by 07-overload.test.ts in a child with --expose-gc): 20,000 requests
// from 1,000 concurrent callers at a cluster limited to 50 concurrent requests
// (DestinationRule connectionPool.http.http2MaxRequests) in front of a backend that takes
// 200 ms, offered at 8,000 requests/s. Reports how the requests ended, their latencies, the heap during and after, and the
// cluster's counters once traffic stops.
//
// argv: <backend port> <requests> <concurrency>

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh, OverflowError, silentLogger } from '../../../packages/core/src/index.ts';
import { MeshAgent } from '../../../packages/http/src/index.ts';
import { sampleMemory } from '../helpers/child.ts';
import { quantile, sleep, startLoad } from '../helpers/load.ts';

const port = Number(process.argv[2]);
const REQUESTS = Number(process.argv[3] ?? 20_000);
const CONCURRENCY = Number(process.argv[4] ?? 1_000);
const LIMIT = 50;
const CLUSTER = 'outbound|80||web.default.svc.cluster.local';

const dir = mkdtempSync(join(tmpdir(), 'meshlet-faults-overload-'));
// This child runs outside vitest: it removes its own folder however it ends (normally or by an error).
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'web.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: default }
spec:
  host: web
  trafficPolicy:
    connectionPool: { http: { http2MaxRequests: ${LIMIT} } }
`);
const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
if (mesh.problems.length) throw new Error(mesh.problems.join('\n'));
const agent = new MeshAgent({ mesh, connections: { keepAliveTimeout: 300, keepAliveMaxTimeout: 300 } });
const runtime = () => mesh.snapshot.clusters.get(CLUSTER)!.runtime;

const overflowLatencies: number[] = [];
const okLatencies: number[] = [];
let maxActive = 0;
let otherErrors = 0;
const send = async (_i: number, signal: AbortSignal): Promise<void> => {
  const t0 = performance.now();
  try {
    const res = await agent.request({ origin: 'http://web', path: '/', method: 'GET', signal });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    okLatencies.push(performance.now() - t0);
  } catch (err) {
    if (err instanceof OverflowError) overflowLatencies.push(performance.now() - t0);
    else otherErrors++;
    throw err;
  } finally {
    maxActive = Math.max(maxActive, runtime().activeRequests);
  }
};

// Baseline: the same client after a little normal traffic.
const warm = await startLoad({ concurrency: 10, maxRequests: 200, maxDurationMs: 10_000, send }).result;
overflowLatencies.length = okLatencies.length = 0;
maxActive = 0;
await sleep(800);
const before = await sampleMemory();

let peakHeap = 0;
const sampler = setInterval(() => { peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed); }, 25);
// Paced at 8,000 requests/s, so the overload lasts seconds (the limit admits ~250/s) rather than
// being over before the first admitted requests finish.
const result = await startLoad({ concurrency: CONCURRENCY, rate: 8_000, maxRequests: REQUESTS, maxDurationMs: 60_000, hangMs: 10_000, send }).result;
clearInterval(sampler);
const stats = runtime().stats();
await sleep(800);
const after = await sampleMemory();

process.stdout.write(`RESULT ${JSON.stringify({
  limit: LIMIT,
  warmFailed: warm.failed,
  sent: result.sent,
  ok: result.ok,
  overflow: overflowLatencies.length,
  otherErrors,
  hung: result.hung,
  failures: result.failures.filter((f) => !f.includes('max_requests')),
  durationMs: result.durationMs,
  p99: quantile(result.latencies, 0.99),
  okP50: quantile(okLatencies, 0.5),
  overflowP99: quantile(overflowLatencies, 0.99),
  overflowMax: Math.max(0, ...overflowLatencies),
  maxActive,
  stats,
  before,
  after,
  peakHeap,
})}\n`);
await agent.close();
await mesh.close();
