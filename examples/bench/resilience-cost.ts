// What the resilience layer costs per request: the same loopback server through MeshAgent with
// everything off (no DestinationRule, retries off) and with everything on (circuit-breaker
// limits high enough never to trip, outlier detection, a retry budget, retries, the opt-in
// opossum breaker). Closed loop, rounds interleaved (off, on, off, on, ...) so drift on this
// noisy machine hits both alike; reports requests/s and client CPU µs per request.
//
//   node --conditions=source examples/bench/resilience-cost.ts

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';

const CONCURRENCY = 32;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

function yaml(port: number, on: boolean): string {
  const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc]
  http:
    - route: [{ destination: { host: svc } }]
      retries: ${on ? '{ attempts: 2, retryOn: "5xx,connect-failure", perTryTimeout: 1s }' : '{ attempts: 0 }'}
`;
  if (!on) return se;
  return `${se}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 100000 }
      http: { http1MaxPendingRequests: 100000, http2MaxRequests: 100000, maxRetries: 1000 }
    retryBudget: { percent: 20, minRetryConcurrency: 3 }
    outlierDetection: { consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50 }
`;
}

async function meshFor(port: number, on: boolean): Promise<{ mesh: Mesh; agent: MeshAgent }> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-rcost-'));
  writeFileSync(join(dir, 'mesh.yaml'), yaml(port, on));
  const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, telemetry: false, ...(on && { breaker: { volumeThreshold: 20 } }) });
  return { mesh, agent: new MeshAgent({ mesh }) };
}

async function closedLoop(agent: MeshAgent, seconds: number): Promise<{ rps: number; cpuUsPerRequest: number }> {
  const until = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < until) {
      const res = await request('http://svc/', { dispatcher: agent });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      done++;
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  return { rps: done / seconds, cpuUsPerRequest: (cpu.user + cpu.system) / done };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const server = createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
const off = await meshFor(port, false);
const on = await meshFor(port, true);
await closedLoop(off.agent, 1);
await closedLoop(on.agent, 1);
const results = { off: [] as { rps: number; cpuUsPerRequest: number }[], on: [] as { rps: number; cpuUsPerRequest: number }[] };
for (let i = 0; i < ROUNDS; i++) {
  results.off.push(await closedLoop(off.agent, SECONDS));
  results.on.push(await closedLoop(on.agent, SECONDS));
}
for (const m of [off, on]) { await m.agent.close(); await m.mesh.close(); }
server.close();

const rps = (k: 'off' | 'on') => median(results[k].map((r) => r.rps));
const cpu = (k: 'off' | 'on') => median(results[k].map((r) => r.cpuUsPerRequest));
process.stdout.write(`resilience layer cost, closed loop, concurrency ${CONCURRENCY}, ${ROUNDS} × ${SECONDS} s interleaved, Node ${process.version}\n`);
process.stdout.write(`| resilience | requests/s (median) | client CPU µs/request (median) |\n|---|---:|---:|\n`);
process.stdout.write(`| everything off | ${rps('off').toFixed(0)} | ${cpu('off').toFixed(1)} |\n`);
process.stdout.write(`| everything on | ${rps('on').toFixed(0)} | ${cpu('on').toFixed(1)} |\n`);
process.stdout.write(`on/off: throughput ${(rps('on') / rps('off')).toFixed(3)}, CPU per request +${(cpu('on') - cpu('off')).toFixed(1)} µs (${((cpu('on') / cpu('off') - 1) * 100).toFixed(1)}%)\n`);
