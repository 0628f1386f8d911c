// Profiling aid (not part of `pnpm bench`): instructions per gRPC unary call, counted by
// valgrind (callgrind, no cache simulation) rather than timed, so other processes on the machine
// do not change the figure. Each client kind runs profile-grpc.ts twice under valgrind, with
// COUNT=<warm> and COUNT=<warm + calls> (32 in flight): the difference over `calls` is the
// steady state's instructions per call, start-up and warm-up cancelling out. The upstream server
// runs outside valgrind. The client runs with --single-threaded, so V8 compiles and collects on
// the main thread, at the same points in every run, and its work counts; V8 still times some of
// its heuristics, so two runs of one kind differ by a few percent: compare kinds within one run.
//
//   node --conditions=source examples/bench/grpc-instructions.ts [calls=2000] [warm=1000]
//
// Kinds: bare (grpc-js alone), plain (a plain grpc-js channel in a process that created and
// registered the mesh: what hosting the mesh costs the same calls) and mesh (mesh:///).
// GRPC_INSTR_KINDS=bare,mesh picks some. Each valgrind run takes one core for a minute or two.
// GRPC_INSTR_KEEP=<folder> keeps callgrind's output files there (<kind>-<count>.out), for
// `callgrind_annotate` by function: V8's own C++ (GC, runtime, IC misses) is named there, code it
// compiled is not.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KINDS = ['bare', 'plain', 'mesh'] as const;
type Kind = (typeof KINDS)[number];

const nums = process.argv.slice(2).filter((s) => /^\d+$/.test(s)).map(Number);
const calls = nums[0] ?? 2000;
const warm = nums[1] ?? 1000;
const kinds = (process.env['GRPC_INSTR_KINDS']?.split(',') ?? KINDS) as Kind[];
const script = fileURLToPath(new URL('./profile-grpc.ts', import.meta.url));
const keep = process.env['GRPC_INSTR_KEEP'];
const dir = keep ?? mkdtempSync(join(tmpdir(), 'meshlet-instr-'));

/** Instructions the client process executed (all its threads) for `count` calls. */
function instructions(kind: Kind, count: number): number {
  const out = join(dir, `${kind}-${count}.out`);
  const env: NodeJS.ProcessEnv = { ...process.env, COUNT: String(count) };
  if (kind === 'bare') env['BARE'] = '1';
  else delete env['BARE'];
  execFileSync('valgrind', ['--tool=callgrind', '--smc-check=all', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', '--conditions=source', '--no-warnings', script, ...(kind === 'mesh' ? [] : ['plain'])], { env, stdio: ['ignore', 'ignore', 'ignore'], timeout: 1_800_000 });
  // The totals line of callgrind's output: "summary: <Ir>" (or "totals:").
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!m) throw new Error(`${kind}: no instruction total in ${out}`);
  return Number(m[1]);
}

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  process.stdout.write('valgrind is not installed: nothing to count\n');
  process.exit(0);
}
try {
  const per = new Map<Kind, number>();
  for (const kind of kinds) {
    const low = instructions(kind, warm);
    const high = instructions(kind, warm + calls);
    per.set(kind, (high - low) / calls);
    process.stdout.write(`${kind.padEnd(5)} ${((high - low) / calls / 1000).toFixed(0).padStart(6)}k instructions/call (start-up + ${warm} calls: ${(low / 1e9).toFixed(2)} G)\n`);
  }
  const bare = per.get('bare');
  if (bare) for (const [kind, n] of per) if (kind !== 'bare') process.stdout.write(`${kind} ÷ bare ${(n / bare).toFixed(3)}\n`);
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
