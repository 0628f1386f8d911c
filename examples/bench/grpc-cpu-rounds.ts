// Profiling aid (not part of `pnpm bench`): the client's CPU per gRPC unary call, bare grpc-js
// against mesh:///, in fresh client processes taking turns round by round (cpu-rounds.ts does the
// same for HTTP). Each child is profile-grpc.ts with CPU=<calls>: it warms up for a second, then
// reports process.cpuUsage() over a fixed number of calls (32 in flight), a figure that depends
// little on how busy the machine is. Only one client process drives load at a time.
//
//   node --conditions=source examples/bench/grpc-cpu-rounds.ts [rounds=6] [calls=20000]
//
// GRPC_CPU_BEFORE=<path of another build's @meshlet/grpc entry, e.g. a copy of an earlier
// commit's packages/grpc/src placed inside packages/grpc so its imports resolve> adds that build
// as a third client to every round, for a before/after under the same load; with
// GRPC_CPU_BEFORE_CORE=<that build's @meshlet/core entry> (the one its imports point at) the
// before client creates its mesh with that core too. E.g. `git archive <commit> packages/grpc/src
// packages/core/src | tar -x -C /tmp/b`, copied to packages/grpc/.before and packages/core/.before,
// with the grpc copy's `from '@meshlet/core'` rewritten to `from '../../core/.before/index.ts'`:
// both builds in one process would fail core's instanceof checks. PAYLOAD=16k and XDS=1 pass through to the
// children. GRPC_CPU_PLAIN=1 adds a plain grpc-js channel in a process that has the mesh loaded
// (profile-grpc.ts `plain` without BARE): the same heap and so the same garbage collections as
// mesh:///, which leaves the per-call work of the mesh as the difference. Each client's figures
// come with the upstream server's CPU per call over the same calls (`server`): calls/s depends on
// both, and a client that wrote its frames differently would show there.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

type Kind = 'bare' | 'plain' | 'before' | 'mesh';
interface Figures { cpuUs: number; gcUs: number; major: number; serverUs: number }

const nums = process.argv.slice(2).filter((s) => /^\d+$/.test(s)).map(Number);
const rounds = nums[0] ?? 6;
const calls = nums[1] ?? 20000;
const before = process.env['GRPC_CPU_BEFORE'];
const kinds: Kind[] = ['bare', ...(process.env['GRPC_CPU_PLAIN'] === '1' ? ['plain' as const] : []), ...(before ? ['before' as const] : []), 'mesh'];
const script = fileURLToPath(new URL('./profile-grpc.ts', import.meta.url));

function run(kind: Kind): Promise<Figures> {
  const env: NodeJS.ProcessEnv = { ...process.env, CPU: String(calls) };
  delete env['GRPC_ENTRY'];
  delete env['CORE_ENTRY'];
  if (kind === 'bare') env['BARE'] = '1';
  if (kind === 'before') {
    env['GRPC_ENTRY'] = before;
    if (process.env['GRPC_CPU_BEFORE_CORE']) env['CORE_ENTRY'] = process.env['GRPC_CPU_BEFORE_CORE'];
  }
  const args = ['--conditions=source', '--no-warnings', script, ...(kind === 'bare' || kind === 'plain' ? ['plain'] : [])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env, timeout: 300_000 }, (err, stdout) => {
      if (err) return reject(err);
      // "<who>: 170.12 µs CPU/call over 20000, GC 18 minor + 2 major, 17.54 µs/call; server 91.5 µs CPU/call; ..."
      const m = /([\d.]+) µs CPU\/call over \d+, GC \d+ minor \+ (\d+) major, ([\d.]+) µs\/call; server ([\d.]+) µs/.exec(stdout);
      if (!m) return reject(new Error(`${kind}: unexpected output ${stdout}`));
      resolve({ cpuUs: Number(m[1]), major: Number(m[2]), gcUs: Number(m[3]), serverUs: Number(m[4]) });
    });
  });
}

const fmt = (f: Figures) => `${f.cpuUs.toFixed(1).padStart(6)} µs (gc ${f.gcUs.toFixed(1).padStart(4)}, ${f.major} major; server ${f.serverUs.toFixed(0)})`;
const all = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
for (let r = 1; r <= rounds; r++) {
  // Alternate the order, so a drift of the machine within a round cancels.
  const order = r % 2 === 1 ? kinds : [...kinds].reverse();
  const res = new Map<Kind, Figures>();
  for (const kind of order) res.set(kind, await run(kind));
  const b = res.get('bare')!;
  let line = `round ${r} bare ${fmt(b)}`;
  for (const kind of kinds.slice(1)) {
    const m = res.get(kind)!;
    line += ` | ${kind} ${fmt(m)} ×${(m.cpuUs / b.cpuUs).toFixed(3)}`;
  }
  for (const kind of kinds) all.get(kind)!.push(res.get(kind)!.cpuUs);
  process.stdout.write(`${line}\n`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bare = all.get('bare')!;
for (const kind of kinds) {
  const xs = all.get(kind)!;
  const ratios = xs.map((x, i) => x / bare[i]!);
  process.stdout.write(`${kind.padEnd(6)} median ${median(xs).toFixed(1)} µs (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})${kind === 'bare' ? '' : `, ÷ bare median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`}\n`);
}
