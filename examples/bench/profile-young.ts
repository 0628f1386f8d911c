// Profiling aid for a young process (not part of `pnpm bench`): the first requests a fresh
// client sends, one at a time, through MeshAgent (or a plain undici Agent with `plain`) to the
// bench upstream in its own process. It prints, per block of requests, the p50 latency, the
// client CPU per request, and the bytes allocated per request — counted exactly when run with a
// young generation large enough that no scavenge happens (`--max-semi-space-size=512`), the
// blocks say when one did. Work counts do not depend on how loaded the machine is, so this is
// what to read on a busy machine; `--trace-opt --trace-deopt` show what V8 did meanwhile, and
// `valgrind --tool=callgrind` counts the instructions of the whole run. PROFILE_OUT=<file> writes
// a CPU profile of the requests alone (not the set-up), for cpuprofile-top.ts.
//
//   node --conditions=source --max-semi-space-size=512 examples/bench/profile-young.ts [plain|passthrough] [requests=1000] [block=100]

import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { request } from 'undici';
import { startProfileClient } from './profile-client.ts';
import { startProfile } from './profile-session.ts';

const plain = process.argv.includes('plain');
// `passthrough`: through MeshAgent to an address the mesh does not know (its ordinary Agent), to
// tell the cost of routing from what a process with a mesh in it pays anyway.
const passthrough = process.argv.includes('passthrough');
const nums = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const total = nums[0] ?? 1000;
const block = nums[1] ?? 100;

const { upstream, dispatcher, close } = await startProfileClient(plain);
const url = plain || passthrough ? `http://127.0.0.1:${upstream.ports.http}/small` : 'http://bench:80/small';

let gcs = 0;
const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
obs.observe({ entryTypes: ['gc'] });

const profiler = process.env['PROFILE_OUT'] ? await startProfile(25) : undefined;
const lat = new Float64Array(total);
const rows: string[] = [];
for (let start = 0; start < total; start += block) {
  const n = Math.min(block, total - start);
  const gc0 = gcs;
  const heap0 = v8.getHeapStatistics().used_heap_size;
  const cpu0 = process.cpuUsage();
  for (let i = start; i < start + n; i++) {
    const t = performance.now();
    const res = await request(url, { dispatcher });
    await res.body.dump();
    lat[i] = performance.now() - t;
  }
  const cpu = process.cpuUsage(cpu0);
  const heap = v8.getHeapStatistics().used_heap_size - heap0;
  // GC entries are delivered asynchronously: let any pending ones arrive before reading.
  await new Promise((r) => setImmediate(r));
  const sorted = lat.slice(start, start + n).sort();
  rows.push(`${String(start).padStart(6)}  p50 ${(sorted[Math.floor(n / 2)]! * 1000).toFixed(0).padStart(5)} µs  p99 ${(sorted[Math.floor(n * 0.99)]! * 1000).toFixed(0).padStart(6)} µs  cpu ${(((cpu.user + cpu.system) / n)).toFixed(1).padStart(6)} µs/req  ${gcs === gc0 ? `alloc ${(heap / n / 1024).toFixed(2)} KiB/req` : `(${gcs - gc0} GC)`}`);
}
await profiler?.(total);
const all = [...lat].sort((a, b) => a - b);
process.stdout.write(`${plain ? 'undici' : passthrough ? 'meshlet passthrough' : 'meshlet'}, ${total} sequential requests in a fresh process\n${rows.join('\n')}\nall: p50 ${(all[Math.floor(total / 2)]! * 1000).toFixed(0)} µs, p99 ${(all[Math.floor(total * 0.99)]! * 1000).toFixed(0)} µs, ${gcs} GC\n`);
obs.disconnect();
await close();
