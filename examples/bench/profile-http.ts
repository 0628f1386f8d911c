// Profiling aid for the HTTP hot path (not part of `pnpm bench`): a closed loop through
// MeshAgent (or a plain undici Agent with `plain`) against the bench upstream in its own
// process, so a CPU profile of this process is the client's cost alone.
//
//   node --conditions=source --cpu-prof --cpu-prof-dir=/tmp/prof examples/bench/profile-http.ts [plain] [seconds]
//   node examples/bench/cpuprofile-top.ts /tmp/prof/<file>.cpuprofile

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { createMesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startUpstream, writeMeshConfig } from './fixtures.ts';
import { closedLoop } from './load-loops.ts';

const plain = process.argv.includes('plain');
const seconds = Number(process.argv.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 5);
const upstream = await startUpstream(undefined);
const dir = mkdtempSync(join(tmpdir(), 'meshlet-prof-'));
writeMeshConfig(dir, upstream.ports, undefined);
const mesh = await createMesh({ config: dir, watch: false, ...(process.argv.includes('notel') && { telemetry: false as const }) });
const dispatcher: Dispatcher = plain ? new Agent() : new MeshAgent({ mesh });
const url = plain ? `http://127.0.0.1:${upstream.ports.http}/small` : 'http://bench:80/small';
const send = async () => {
  const res = await request(url, { dispatcher });
  await res.body.dump();
};
await closedLoop(send, 32, 1);
const r = await closedLoop(send, 32, seconds);
process.stdout.write(`${plain ? 'undici' : 'meshlet'}: ${r.rps.toFixed(0)} req/s, client CPU ${((r.cpu / r.ok) * 1e6).toFixed(1)} µs/request\n`);
await dispatcher.close();
await mesh.close();
upstream.stop();
