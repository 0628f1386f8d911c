// @meshlet/grpc against the alternatives, measured in one run:
//   1. cold import time (a fresh node per sample, built dist) of @meshlet/grpc, of
//      @grpc/grpc-js-xds (gRPC's own proxyless client) and of bare @grpc/grpc-js;
//   2. unary calls/s through mesh:/// against a plain grpc-js channel to the same server, closed
//      loop at fixed concurrency, runs interleaved (plain, mesh, plain, mesh ...) so drift on a
//      noisy machine hits both alike. The server runs in its own process so it does not share
//      the client's event loop.
//
//   pnpm build && node --conditions=source examples/bench/grpc-unary.ts
//   (BENCH_CONCURRENCY, BENCH_SECONDS, BENCH_ROUNDS, BENCH_OUT=<file for the markdown table>)

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as GrpcJs from '@grpc/grpc-js';

const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

const root = new URL('../../', import.meta.url);
// Both packages and the bench must share one grpc-js instance (resolvers are registered on it),
// so it is taken from where @meshlet/grpc resolves it; grpc-js-xds is a dev dependency of core.
const fromGrpc = createRequire(new URL('packages/grpc/package.json', root));
const fromCore = createRequire(new URL('packages/core/package.json', root));
const grpc = fromGrpc('@grpc/grpc-js') as typeof GrpcJs;

const identity = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const SERVICE = {
  echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity.serialize, requestDeserialize: identity.deserialize, responseSerialize: identity.serialize, responseDeserialize: identity.deserialize, originalName: 'echo' },
} as unknown as GrpcJs.ServiceDefinition;

// ---- the server process ----

async function serve(): Promise<void> {
  const server = new grpc.Server();
  server.addService(SERVICE, { echo: (call: GrpcJs.ServerUnaryCall<Buffer, Buffer>, cb: GrpcJs.sendUnaryData<Buffer>) => cb(null, call.request) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  process.stdout.write(`${port}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => server.forceShutdown());
}

function startServer(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--server'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), stop: () => child.stdin.end() }));
  });
}

// ---- measurements ----

type EchoClient = GrpcJs.Client & { echo(req: Buffer, cb: (err: GrpcJs.ServiceError | null, res?: Buffer) => void): void };

async function closedLoop(client: EchoClient, seconds: number): Promise<{ cps: number; errors: number; p50: number; p99: number }> {
  const payload = Buffer.from('ping');
  const until = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const latencies: number[] = [];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < until) {
      const t = performance.now();
      const ok = await new Promise<boolean>((resolve) => client.echo(payload, (err) => resolve(!err)));
      if (ok) done++;
      else errors++;
      if ((done & 15) === 0) latencies.push(performance.now() - t);
    }
  }));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { cps: done / seconds, errors, p50: q(0.5), p99: q(0.99) };
}

/** Median ms to import `file` in a fresh node (and call its register(), when asked: what a user's start-up pays). */
function importMs(file: string, samples = 5, thenRegister = false): number {
  const times: number[] = [];
  const spec = pathToFileURL(file).href;
  const after = thenRegister ? 'm.register();' : '';
  for (let i = 0; i < samples; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `const t=performance.now(); const m = await import(${JSON.stringify(spec)}); ${after} console.log(performance.now()-t)`], { encoding: 'utf8' });
    times.push(Number(out.trim()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const { createMesh } = await import('@meshlet/core');
  const { register } = await import('@meshlet/grpc');
  const { port, stop } = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-bench-'));
  writeFileSync(join(dir, 'se.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: bench, namespace: default }
spec:
  hosts: [bench.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${port} } }]
`);
  const mesh = await createMesh({ config: dir, watch: false });
  register(mesh);
  const Client = grpc.makeGenericClientConstructor(SERVICE, 'Echo');
  const plain = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
  const meshed = new Client('mesh:///bench.default.svc.cluster.local:9000', grpc.credentials.createInsecure()) as unknown as EchoClient;

  await closedLoop(plain, 1); // warm-up: connections, JIT
  await closedLoop(meshed, 1);
  const plainRuns: Awaited<ReturnType<typeof closedLoop>>[] = [];
  const meshRuns: Awaited<ReturnType<typeof closedLoop>>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    plainRuns.push(await closedLoop(plain, SECONDS));
    const m = await closedLoop(meshed, SECONDS);
    if (m.errors) throw new Error(`mesh run had ${m.errors} failed calls`);
    meshRuns.push(m);
  }
  plain.close();
  meshed.close();
  await mesh.close();
  stop();
  rmSync(dir, { recursive: true, force: true });

  const median = <T extends { cps: number }>(runs: T[]): T => [...runs].sort((a, b) => a.cps - b.cps)[Math.floor(runs.length / 2)]!;
  const p = median(plainRuns);
  const m = median(meshRuns);

  const imports: [string, number][] = [
    ['@meshlet/grpc (with @meshlet/core, @grpc/grpc-js)', importMs(fileURLToPath(new URL('packages/grpc/dist/index.js', root)))],
    ['@grpc/grpc-js-xds 1.14.1 (with @grpc/grpc-js)', importMs(fromCore.resolve('@grpc/grpc-js-xds'))],
    ['@grpc/grpc-js-xds 1.14.1, import + register()', importMs(fromCore.resolve('@grpc/grpc-js-xds'), 5, true)],
    ['@grpc/grpc-js alone', importMs(fromGrpc.resolve('@grpc/grpc-js'))],
  ];

  const lines = [
    `gRPC unary, closed loop, concurrency ${CONCURRENCY}, ${ROUNDS} × ${SECONDS}s interleaved, loopback, server in its own process, Node ${process.version}`,
    '',
    '| client | calls/s (median run) | ratio to plain grpc-js | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|',
    `| grpc-js channel to 127.0.0.1 | ${p.cps.toFixed(0)} | 1.00 | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} |`,
    `| grpc-js via mesh:/// (Meshlet) | ${m.cps.toFixed(0)} | ${(m.cps / p.cps).toFixed(2)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} |`,
    '',
    '| cold import (built dist, fresh node, median of 5) | ms |',
    '|---|---:|',
    ...imports.map(([k, v]) => `| ${k} | ${v.toFixed(1)} |`),
    '',
    `@meshlet/grpc imports in ${(imports[0]![1] / imports[1]![1] * 100).toFixed(1)}% of @grpc/grpc-js-xds's time.`,
    '',
  ];
  const table = lines.join('\n');
  process.stdout.write(`\n${table}`);
  if (process.env['BENCH_OUT']) writeFileSync(process.env['BENCH_OUT'], table);
}

if (process.argv.includes('--server')) await serve();
else await main();
