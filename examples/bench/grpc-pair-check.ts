// The gRPC sidecar pair on its own: one grpc-js client sends a bounded number of unary calls
// (16 KiB by default) with 32 in flight through client → HAProxy A (h2) → mTLS → HAProxy B →
// upstream, and prints how many failed and how long they took. With HAProxy's default buffer
// size it shows why the pair failed under `pnpm bench` (haproxy-pair.ts, PAIR_BUFSIZE):
//
//   node --conditions=source examples/bench/grpc-pair-check.ts                 # the pair as benched
//   BUFSIZE=16384 node --conditions=source examples/bench/grpc-pair-check.ts   # HAProxy's default
//   (CALLS, IN_FLIGHT, SIZE in bytes; RATE=<calls/s>: an open loop at that rate instead, as the
//   bench's latency runs; BARE=1 calls the upstream directly, for comparison)
//
// Exits 1 when any call failed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startUpstream } from './fixtures.ts';
import { findHaproxy, startProxyPair } from './haproxy-pair.ts';
import { makeCerts } from './openssl-certs.ts';

const CALLS = Number(process.env['CALLS'] ?? 3000);
const IN_FLIGHT = Number(process.env['IN_FLIGHT'] ?? 32);
const SIZE = Number(process.env['SIZE'] ?? 16 * 1024);
const BUFSIZE = process.env['BUFSIZE'] ? Number(process.env['BUFSIZE']) : undefined;
const RATE = process.env['RATE'] ? Number(process.env['RATE']) : undefined;
/** A call is given up after this long (the check is bounded in time). */
const DEADLINE_MS = 20_000;

const haproxy = findHaproxy((s) => process.stderr.write(`${s}\n`));
if (typeof haproxy !== 'string') throw new Error(haproxy.skip);
const dir = mkdtempSync(join(tmpdir(), 'meshlet-grpc-pair-'));
const certs = makeCerts(join(dir, 'certs'));
const upstream = await startUpstream(certs);
const pair = await startProxyPair(haproxy, certs, upstream.ports, dir, { ...(BUFSIZE !== undefined && { bufsize: BUFSIZE }) });
const target = process.env['BARE'] === '1' ? `127.0.0.1:${upstream.ports.grpc}` : `127.0.0.1:${pair.grpcPort}`;

const id = (b: Buffer) => b;
const Echo = grpc.makeGenericClientConstructor({
  Echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'echo' },
}, 'Echo');
const client = new Echo(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Echo(req: Buffer, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): void };
const body = Buffer.alloc(SIZE, 'y');
const errors = new Map<string, number>();
const latencies: number[] = [];
let sent = 0;
const call = () => new Promise<grpc.ServiceError | null>((resolve) => client.Echo(body, { deadline: Date.now() + DEADLINE_MS }, resolve));
const t0 = performance.now();
if (RATE === undefined) {
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (sent < CALLS) {
      sent++;
      const t = performance.now();
      const err = await call();
      latencies.push(performance.now() - t);
      if (err) errors.set(err.message, (errors.get(err.message) ?? 0) + 1);
    }
  }));
} else {
  // Call i is due at t0 + i / RATE and timed from then, answered or not (load-loops.ts openLoop).
  await new Promise<void>((resolve) => {
    let done = 0;
    const tick = () => {
      const now = performance.now();
      for (; sent < CALLS && t0 + (sent * 1000) / RATE <= now; sent++) {
        const due = t0 + (sent * 1000) / RATE;
        void call().then((err) => {
          latencies.push(performance.now() - due);
          if (err) errors.set(err.message, (errors.get(err.message) ?? 0) + 1);
          if (++done === CALLS) resolve();
        });
      }
      if (sent < CALLS) setTimeout(tick, 1);
    };
    tick();
  });
}
const seconds = (performance.now() - t0) / 1000;
client.close();
pair.stop();
upstream.stop();
rmSync(dir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
const failed = [...errors.values()].reduce((a, b) => a + b, 0);
process.stdout.write(`${process.env['BARE'] === '1' ? 'bare upstream' : `pair, tune.bufsize ${BUFSIZE ?? 'as benched'}`}: ${CALLS} calls of ${SIZE} bytes, ${RATE === undefined ? `${IN_FLIGHT} in flight` : `${RATE}/s`}: ${CALLS - failed} ok, ${failed} failed in ${seconds.toFixed(2)} s (${(CALLS / seconds).toFixed(0)}/s); latency p50 ${q(0.5)} p99 ${q(0.99)} max ${q(1)} ms\n`);
for (const [message, n] of errors) process.stdout.write(`  ${n} × ${message}\n`);
process.exit(failed > 0 ? 1 : 0);
