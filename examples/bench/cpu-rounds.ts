// Profiling aid (not part of `pnpm bench`): the client's CPU per request, bare undici against
// MeshAgent, in fresh client processes taking turns round by round — the quantity whose spread
// between processes makes a throughput round miss. Each child warms up as the bench's client
// processes do, then sends a fixed number of requests (32 in flight) and reports
// process.cpuUsage() over them, so the figure hardly depends on how busy the machine is.
// Only one client process drives load at a time.
//
//   node --conditions=source examples/bench/cpu-rounds.ts [rounds=6] [small=20000] [16k=10000]
//
// CPU_ROUNDS_BEFORE=<path of another build's @meshlet/http entry, e.g. a copy of an earlier
// commit's packages/http/src/index.ts placed inside packages/http so its imports resolve> adds
// that MeshAgent as a third client to every round, for a before/after under the same load.
//
// CPU_ROUNDS_AA=1 runs each client twice per round, each time in its own fresh process (bare,
// bare again, mesh, mesh again): the A/A spread between two processes of the same client is the
// noise floor a per-round ratio between two single processes cannot get under.
// CPU_ROUNDS_FLAGS='--trace-gc ...' adds Node/V8 flags to every client process (their output
// goes to stderr), e.g. --no-allocation-site-pretenuring to see what pretenuring does.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';
import { startUpstream, writeMeshConfig } from './fixtures.ts';
import { REQUEST_BODY, type Payload } from './payloads.ts';

type Kind = 'bare' | 'mesh' | 'before' | 'bare-again' | 'mesh-again';
interface ChildArgs { kind: Kind; dir: string; port: number; small: number; large: number }
interface Figures { cpuUs: number; rps: number; gcMs: number; scavenges: number }

async function child(a: ChildArgs): Promise<Record<Payload, Figures>> {
  let dispatcher: Dispatcher;
  let closeMesh = async () => {};
  const bare = a.kind === 'bare' || a.kind === 'bare-again';
  if (bare) {
    dispatcher = new Agent();
  } else {
    const { createMesh } = await import('@meshlet/core');
    const { MeshAgent } = (a.kind === 'before' ? await import(process.env['CPU_ROUNDS_BEFORE']!) : await import('@meshlet/http')) as typeof import('@meshlet/http');
    const mesh = await createMesh({ config: a.dir, watch: false });
    dispatcher = new MeshAgent({ mesh });
    closeMesh = () => mesh.close();
  }
  const base = bare ? `http://127.0.0.1:${a.port}` : 'http://bench:80';
  const send = async (payload: Payload, signal?: AbortSignal) => {
    const res = payload === 'small'
      ? await request(`${base}/small`, { dispatcher, signal })
      : await request(`${base}/16k`, { dispatcher, method: 'POST', body: REQUEST_BODY['16k'], signal });
    await res.body.dump({ limit: 1 << 20 });
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  };
  let gcMs = 0;
  let scavenges = 0;
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gcMs += e.duration;
      if (((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    }
  }).observe({ entryTypes: ['gc'] });
  const loop = async (payload: Payload, n: number, concurrency: number) => {
    const abort = new AbortController();
    let left = n;
    await Promise.all(Array.from({ length: concurrency }, async () => { while (left-- > 0) await send(payload, abort.signal); }));
  };
  // Warm-up as client-process.ts does it (by count rather than time).
  for (const payload of ['small', '16k'] as const) {
    for (let i = 0; i < 300; i++) await send(payload);
    await loop(payload, 3000, 16);
  }
  const out = {} as Record<Payload, Figures>;
  for (const [payload, n] of [['small', a.small], ['16k', a.large]] as const) {
    const gc0 = gcMs, sc0 = scavenges;
    await new Promise((r) => setImmediate(r));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await loop(payload, n, 32);
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await new Promise((r) => setImmediate(r)); // the gc observer runs from a later task
    out[payload] = { cpuUs: (cpu.user + cpu.system) / n, rps: n / secs, gcMs: gcMs - gc0, scavenges: scavenges - sc0 };
  }
  await dispatcher.close();
  await closeMesh();
  return out;
}

if (process.env['CPU_ROUNDS_CHILD']) {
  const args = JSON.parse(process.env['CPU_ROUNDS_CHILD']) as ChildArgs;
  // With CPU_ROUNDS_FLAGS the V8 traces of each process follow a line that names it.
  if (process.execArgv.some((a) => a.startsWith('--trace'))) process.stderr.write(`== client process ${args.kind} ${process.pid}\n`);
  const out = await child(args);
  if (process.execArgv.some((a) => a.startsWith('--trace'))) process.stderr.write(`== end ${args.kind} ${process.pid} ${JSON.stringify(out)}\n`);
  process.send!(out);
  process.disconnect();
} else {
  const nums = process.argv.slice(2).filter((s) => /^\d+$/.test(s)).map(Number);
  const rounds = nums[0] ?? 6;
  const small = nums[1] ?? 20000;
  const large = nums[2] ?? 10000;
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-cpu-rounds-'));
  const upstream = await startUpstream(undefined);
  writeMeshConfig(dir, upstream.ports, undefined);
  const kinds: Kind[] = process.env['CPU_ROUNDS_AA'] ? ['bare', 'bare-again', 'mesh', 'mesh-again'] : process.env['CPU_ROUNDS_BEFORE'] ? ['bare', 'before', 'mesh'] : ['bare', 'mesh'];
  const flags = process.env['CPU_ROUNDS_FLAGS']?.split(' ').filter(Boolean) ?? [];
  const run = (kind: Kind) => new Promise<Record<Payload, Figures>>((resolve, reject) => {
    const args: ChildArgs = { kind, dir, port: upstream.ports.http, small, large };
    const p = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--conditions=source', '--no-warnings', ...flags], env: { ...process.env, CPU_ROUNDS_CHILD: JSON.stringify(args) } });
    p.once('message', (m) => resolve(m as Record<Payload, Figures>));
    p.once('exit', (code) => reject(new Error(`client exited (${code})`)));
  });
  const fmt = (f: Figures) => `${f.cpuUs.toFixed(1).padStart(6)} µs ${f.rps.toFixed(0).padStart(6)}/s gc ${f.gcMs.toFixed(0).padStart(4)} ms/${String(f.scavenges).padStart(4)} scav`;
  try {
    for (let r = 1; r <= rounds; r++) {
      // Alternate the order, so a drift of the machine within a round cancels.
      const order = r % 2 === 1 ? kinds : [...kinds].reverse();
      const res = new Map<Kind, Record<Payload, Figures>>();
      for (const kind of order) res.set(kind, await run(kind));
      const b = res.get('bare')!;
      for (const payload of ['small', '16k'] as const) {
        let line = `round ${r} ${payload.padEnd(5)} bare ${fmt(b[payload])}`;
        for (const kind of kinds.slice(1)) {
          // A repeated client is compared with its own first process (A/A), the others with bare.
          const refKind = kind.endsWith('-again') ? kind.replace('-again', '') as Kind : 'bare';
          const ref = res.get(refKind)![payload], m = res.get(kind)![payload];
          line += ` | ${kind} ${fmt(m)} cpu ${(ref.cpuUs / m.cpuUs).toFixed(2)} rate ${(m.rps / ref.rps).toFixed(2)}${refKind === 'bare' ? '' : ` (vs ${refKind})`}`;
        }
        process.stdout.write(`${line}\n`);
      }
    }
  } finally {
    upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
