// Meshlet's cost over a bare client, measured in one run: requests/s of MeshAgent against a
// plain undici Agent to the same loopback server, closed loop at fixed concurrency, runs
// interleaved (A B A B ...) so drift in this noisy machine hits both alike. Also the cold
// import time of each package (built dist, a fresh node per sample).
//
//   pnpm bench            (builds the packages first)

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, request, type Dispatcher } from 'undici';
import { createMesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';

const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

async function closedLoop(dispatcher: Dispatcher, url: string, seconds: number): Promise<{ rps: number; errors: number }> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < until) {
      try {
        const res = await request(url, { dispatcher });
        await res.body.dump();
        if (res.statusCode === 200) done++;
        else errors++;
      } catch {
        errors++;
      }
    }
  }));
  return { rps: done / seconds, errors };
}

function importMs(spec: string, samples = 5): number {
  const cwd = fileURLToPath(new URL('.', import.meta.url));
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `const t=performance.now(); await import(${JSON.stringify(spec)}); console.log(performance.now()-t)`], { cwd, encoding: 'utf8' });
    times.push(Number(out.trim()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-'));
  writeFileSync(join(dir, 'se.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: bench, namespace: default }
spec:
  hosts: [bench.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
`);
  const mesh = await createMesh({ config: dir, watch: false });
  const plain = new Agent();
  const meshAgent = new MeshAgent({ mesh });
  const plainUrl = `http://127.0.0.1:${port}/`;
  const meshUrl = 'http://bench:80/';
  await closedLoop(plain, plainUrl, 1); // warm-up
  await closedLoop(meshAgent, meshUrl, 1);
  const plainRuns: number[] = [];
  const meshRuns: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    plainRuns.push((await closedLoop(plain, plainUrl, SECONDS)).rps);
    const m = await closedLoop(meshAgent, meshUrl, SECONDS);
    if (m.errors) throw new Error(`mesh run had ${m.errors} errors`);
    meshRuns.push(m.rps);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p = median(plainRuns);
  const m = median(meshRuns);
  await meshAgent.close();
  await plain.close();
  await mesh.close();
  server.close();

  const imports = {
    '@meshlet/core': importMs('@meshlet/core'),
    '@meshlet/http': importMs('@meshlet/http'),
    undici: importMs('undici'),
  };
  process.stdout.write(`\nHTTP closed loop, concurrency ${CONCURRENCY}, ${ROUNDS} × ${SECONDS}s interleaved, loopback, Node ${process.version}\n`);
  process.stdout.write(`| client | requests/s (median) | ratio to plain undici |\n|---|---:|---:|\n`);
  process.stdout.write(`| undici Agent | ${p.toFixed(0)} | 1.00 |\n| Meshlet MeshAgent | ${m.toFixed(0)} | ${(m / p).toFixed(2)} |\n\n`);
  process.stdout.write(`| cold import (built dist, median of 5) | ms |\n|---|---:|\n`);
  for (const [k, v] of Object.entries(imports)) process.stdout.write(`| ${k} | ${v.toFixed(1)} |\n`);
}

await main();
