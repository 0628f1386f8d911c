// Profiling aid for the gRPC hot path (not part of `pnpm bench`): unary calls in a closed loop
// through @meshlet/grpc's mesh:/// (embedded config), or a plain grpc-js channel with `plain`,
// against the bench upstream in its own process.
//
//   node --conditions=source --cpu-prof --cpu-prof-dir=/tmp/prof examples/bench/profile-grpc.ts [plain] [seconds]

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createMesh } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { startUpstream, writeMeshConfig, GRPC_FQDN, MESH_GRPC_PORT } from './fixtures.ts';
import { closedLoop } from './load-loops.ts';

const plain = process.argv.includes('plain');
const seconds = Number(process.argv.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 5);
const upstream = await startUpstream(undefined);
const dir = mkdtempSync(join(tmpdir(), 'meshlet-prof-'));
writeMeshConfig(dir, upstream.ports, undefined);
const mesh = await createMesh({ config: dir, watch: false });
register(mesh);
const id = (b: Buffer) => b;
const Ctor = grpc.makeGenericClientConstructor({
  Echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'echo' },
}, 'Echo');
const target = plain ? `127.0.0.1:${upstream.ports.grpc}` : `mesh:///${GRPC_FQDN}:${MESH_GRPC_PORT}`;
const client = new Ctor(target, grpc.credentials.createInsecure()) as unknown as { Echo(req: Buffer, cb: (err: Error | null) => void): void; close(): void };
const body = Buffer.from('hello, world\n');
const send = () => new Promise<void>((resolve, reject) => client.Echo(body, (err) => (err ? reject(err) : resolve())));
await closedLoop(send, 32, 1);
const r = await closedLoop(send, 32, seconds);
process.stdout.write(`${plain ? 'grpc-js' : 'meshlet'}: ${r.rps.toFixed(0)} calls/s, client CPU ${((r.cpu / r.ok) * 1e6).toFixed(1)} µs/call${r.errors ? `, ${r.errors} errors (${r.firstError})` : ''}\n`);
client.close();
await mesh.close();
upstream.stop();
