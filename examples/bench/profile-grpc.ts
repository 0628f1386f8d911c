// Profiling aid for the gRPC hot path (not part of `pnpm bench`): unary calls in a closed loop
// through @meshlet/grpc's mesh:/// (embedded config), or a plain grpc-js channel with `plain`,
// against the bench upstream in its own process.
//
//   node --conditions=source --cpu-prof --cpu-prof-dir=/tmp/prof examples/bench/profile-grpc.ts [plain] [seconds]
// PAYLOAD=16k sends the bench's 16 KiB message instead of the small one. XDS=1 configures the mesh
// from a `meshlet xds` over the same folder, as the bench's mesh:/// row does.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { startUpstream, startXds, writeMeshConfig, GRPC_FQDN, MESH_GRPC_PORT } from './fixtures.ts';
import { closedLoop } from './load-loops.ts';
import { REQUEST_BODY } from './payloads.ts';
import { allocatedPer, allocationSites, startProfile } from './profile-session.ts';

const plain = process.argv.includes('plain');
const seconds = Number(process.argv.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 5);
const upstream = await startUpstream(undefined);
const dir = mkdtempSync(join(tmpdir(), 'meshlet-prof-'));
// COUNT and ALLOC runs end with process.exit: the folder goes then too.
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
writeMeshConfig(dir, upstream.ports, undefined);
// The bootstrap goes beside the config folder, not into it.
const xdsDir = mkdtempSync(join(tmpdir(), 'meshlet-prof-xds-'));
process.on('exit', () => rmSync(xdsDir, { recursive: true, force: true }));
const xds = process.env['XDS'] === '1' ? await startXds(fileURLToPath(new URL('../../', import.meta.url)), dir, xdsDir) : undefined;
if (xds && !('stop' in xds)) throw new Error(xds.skip);
process.on('exit', () => xds?.stop());
// `plain` with BARE=1: no mesh in the process at all, as in the bench's bare row (a mesh's heap
// makes each full GC dearer, and 16 KiB messages bring full GCs of their own).
const bare = plain && process.env['BARE'] === '1';
// CORE_ENTRY=<path of another build's @meshlet/core entry>: the core that GRPC_ENTRY's build imports.
const mesh = bare ? undefined : await ((await import(process.env['CORE_ENTRY'] ?? '@meshlet/core')) as typeof import('@meshlet/core')).createMesh(xds ? { bootstrap: xds.bootstrap, listeners: [`${GRPC_FQDN}:${MESH_GRPC_PORT}`] } : { config: dir, watch: false });
// GRPC_ENTRY=<path of another build's @meshlet/grpc entry>: that build instead (grpc-cpu-rounds.ts's "before").
if (mesh) ((await import(process.env['GRPC_ENTRY'] ?? '@meshlet/grpc')) as typeof import('@meshlet/grpc')).register(mesh);
const id = (b: Buffer) => b;
const Ctor = grpc.makeGenericClientConstructor({
  Echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'echo' },
}, 'Echo');
const target = plain ? `127.0.0.1:${upstream.ports.grpc}` : `mesh:///${GRPC_FQDN}:${MESH_GRPC_PORT}`;
const client = new Ctor(target, grpc.credentials.createInsecure()) as unknown as { Echo(req: Buffer, cb: (err: Error | null) => void): void; close(): void };
const body = REQUEST_BODY[process.env['PAYLOAD'] === '16k' ? '16k' : 'small'];
const send = () => new Promise<void>((resolve, reject) => client.Echo(body, (err) => (err ? reject(err) : resolve())));
// COUNT=<n>: a fixed amount of work instead of a timed run (32 in flight, as ever), for
// counting instructions under valgrind --tool=callgrind: run it with COUNT=w and COUNT=w+n and
// subtract, so start-up and warm-up cancel out. Work counts do not depend on how loaded the
// machine is.
const count = process.env['COUNT'];
if (count !== undefined) {
  let left = Number(count);
  await Promise.all(Array.from({ length: 32 }, async () => { while (left-- > 0) await send(); }));
  process.exit(0);
}
await closedLoop(send, 32, 1);
// ALLOC=<n> (ALLOC_SITES=1: by allocating function): bytes allocated per call over n more, warm, counted from the heap's growth — exact when
// run with a young generation no scavenge empties meanwhile (profile-session.ts says how).
if (process.env['ALLOC'] !== undefined) {
  const n = Number(process.env['ALLOC']);
  process.stdout.write(`${plain ? 'plain' : 'meshlet'}: ${process.env['ALLOC_SITES'] ? await allocationSites(send, n) : await allocatedPer(send, n)}\n`);
  process.exit(0);
}
// HEAP=1: what the process holds once warm (after one second of load), figures no other process on the machine changes:
// live heap after full GCs, old space, code, the module files loaded (import and require) and
// the third-party packages among them; run with --expose-gc. With HEAP_SNAPSHOT=<file> also a
// heap snapshot, to see what the difference between two kinds of client is made of. HEAP=<s>
// runs s seconds more of load first: V8 drops the bytecode of functions that have not run for a
// number of full GCs (start-up's, config loading's), so a process's heap shrinks as it ages.
if (process.env['HEAP'] !== undefined) {
  if (Number(process.env['HEAP']) > 1) await closedLoop(send, 32, Number(process.env['HEAP']));
  const v8 = await import('node:v8');
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('HEAP=1 needs node --expose-gc');
  for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setImmediate(r)); }
  const h = v8.getHeapStatistics();
  const space = (name: string) => v8.getHeapSpaceStatistics().find((s) => s.space_name === name)?.space_used_size ?? 0;
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const { createRequire } = await import('node:module');
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  process.stdout.write(`${plain ? (bare ? 'bare' : 'plain') : 'meshlet'}: live ${kb(h.used_heap_size)}, old space ${kb(space('old_space'))}, code ${kb(space('code_space'))}, large objects ${kb(space('large_object_space'))}, cjs modules ${cjs.length}\n`);
  if (process.env['HEAP_SNAPSHOT']) v8.writeHeapSnapshot(process.env['HEAP_SNAPSHOT']);
  process.exit(0);
}
// CPU=<n>: client CPU per call (user + system) over n more warm calls, 32 in flight, and the
// scavenges and full GCs they took: a fixed amount of work, which other processes on the machine
// slow down but do not change, unlike calls/s.
if (process.env['CPU'] !== undefined) {
  const n = Number(process.env['CPU']);
  const gcs = { minor: 0, major: 0, ms: 0 };
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.major++;
      else gcs.minor++;
      gcs.ms += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  // The server's CPU too (what the client's way of writing costs at the other end), and the
  // write and read system calls on both sides (/proc/<pid>/io): counts, not times.
  const { cpuSeconds } = await import('./proc-stats.ts');
  const { readFileSync } = await import('node:fs');
  const io = (pid: number | 'self') => { const t = readFileSync(`/proc/${pid}/io`, 'utf8'); return { r: Number(/^syscr: (\d+)/m.exec(t)![1]), w: Number(/^syscw: (\d+)/m.exec(t)![1]) }; };
  const s0 = cpuSeconds(upstream.pid);
  const i0 = io('self');
  const u0 = io(upstream.pid);
  const c0 = process.cpuUsage();
  let left = n;
  await Promise.all(Array.from({ length: 32 }, async () => { while (left-- > 0) await send(); }));
  const c = process.cpuUsage(c0);
  const server = cpuSeconds(upstream.pid) - s0;
  const i1 = io('self');
  const u1 = io(upstream.pid);
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  process.stdout.write(`${plain ? (bare ? 'bare' : 'plain') : 'meshlet'}: ${((c.user + c.system) / n).toFixed(2)} µs CPU/call over ${n}, GC ${gcs.minor} minor + ${gcs.major} major, ${(gcs.ms * 1000 / n).toFixed(2)} µs/call; server ${(server * 1e6 / n).toFixed(1)} µs CPU/call; syscalls/call client ${((i1.w - i0.w) / n).toFixed(2)} write ${((i1.r - i0.r) / n).toFixed(2)} read, server ${((u1.w - u0.w) / n).toFixed(2)} write ${((u1.r - u0.r) / n).toFixed(2)} read\n`);
  process.exit(0);
}
// PROFILE_OUT=<file>: a CPU profile of the measured run alone (not set-up or warm-up), with the
// run's request count in it, for comparing two clients per request.
const profiler = process.env['PROFILE_OUT'] ? await startProfile() : undefined;
const r = await closedLoop(send, 32, seconds);
await profiler?.(r.ok);
process.stdout.write(`${plain ? 'grpc-js' : 'meshlet'}: ${r.rps.toFixed(0)} calls/s, client CPU ${((r.cpu / r.ok) * 1e6).toFixed(1)} µs/call${r.errors ? `, ${r.errors} errors (${r.firstError})` : ''}\n`);
client.close();
await mesh?.close();
upstream.stop();
xds?.stop();
