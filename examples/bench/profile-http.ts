// Profiling aid for the HTTP hot path (not part of `pnpm bench`): a closed loop through
// MeshAgent (or a plain undici Agent with `plain`) against the bench upstream in its own
// process, so a CPU profile of this process is the client's cost alone.
//
//   node --conditions=source --cpu-prof --cpu-prof-dir=/tmp/prof examples/bench/profile-http.ts [plain] [16k] [mtls] [h2] [seconds]
//
// `mtls`: the upstream speaks TLS and wants a client certificate; MeshAgent reaches it under
// ISTIO_MUTUAL, and `plain` is undici doing the same mutual TLS by hand (same certificates,
// the server's SPIFFE ID checked), as the bench's mTLS rows do. `mtls h2`: MeshAgent to the
// HTTP/2 service (h2UpgradePolicy UPGRADE) of the bench's mTLS HTTP/2 row.
//   node examples/bench/cpuprofile-top.ts /tmp/prof/<file>.cpuprofile

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { createMesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startUpstream, writeMeshConfig } from './fixtures.ts';
import { makeCerts } from './openssl-certs.ts';
import { closedLoop } from './load-loops.ts';
import { allocatedPer, allocationSites, startProfile } from './profile-session.ts';
import { REQUEST_BODY } from './payloads.ts';

const plain = process.argv.includes('plain');
const large = process.argv.includes('16k');
const seconds = Number(process.argv.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 5);
const mtls = process.argv.includes('mtls');
const h2 = mtls && process.argv.includes('h2');
const dir = mkdtempSync(join(tmpdir(), 'meshlet-prof-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const certs = mtls ? makeCerts(join(dir, 'certs')) : undefined;
const upstream = await startUpstream(certs);
writeMeshConfig(dir, upstream.ports, certs?.serverSpiffeId);
const mesh = await createMesh({ config: dir, watch: false, ...(certs && { certs: certs.meshletCertDir }), ...(process.argv.includes('notel') && { telemetry: false as const }) });
function byHand(): Agent {
  const c = certs!.meshletCertDir;
  const id = `URI:${certs!.serverSpiffeId}`;
  return new Agent({ connect: {
    cert: readFileSync(join(c, 'cert-chain.pem')), key: readFileSync(join(c, 'key.pem')), ca: readFileSync(join(c, 'root-cert.pem')),
    checkServerIdentity: (_host: string, cert: PeerCertificate) => (cert.subjectaltname?.split(', ').includes(id) ? undefined : new Error(`server is not ${id}`)),
  } });
}
const dispatcher: Dispatcher = plain ? (mtls ? byHand() : new Agent()) : new MeshAgent({ mesh });
const origin = plain ? (mtls ? `https://127.0.0.1:${upstream.ports.https}` : `http://127.0.0.1:${upstream.ports.http}`) : mtls ? (h2 ? 'http://bench-h2:80' : 'http://bench-tls:80') : 'http://bench:80';
const url = `${origin}/${large ? '16k' : 'small'}`;
const send = async () => {
  const res = large ? await request(url, { dispatcher, method: 'POST', body: REQUEST_BODY['16k'] }) : await request(url, { dispatcher });
  await res.body.dump();
};
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
// ALLOC=<n> (ALLOC_SITES=1: by allocating function): bytes allocated per request over n more, warm, counted from the heap's growth — exact when
// run with a young generation no scavenge empties meanwhile (profile-session.ts says how).
if (process.env['ALLOC'] !== undefined) {
  const n = Number(process.env['ALLOC']);
  process.stdout.write(`${plain ? 'plain' : 'meshlet'}: ${process.env['ALLOC_SITES'] ? await allocationSites(send, n) : await allocatedPer(send, n)}\n`);
  process.exit(0);
}
// PROFILE_OUT=<file>: a CPU profile of the measured run alone (not set-up or warm-up), with the
// run's request count in it, for comparing two clients per request.
const profiler = process.env['PROFILE_OUT'] ? await startProfile() : undefined;
const r = await closedLoop(send, 32, seconds);
await profiler?.(r.ok);
process.stdout.write(`${plain ? 'undici' : 'meshlet'}: ${r.rps.toFixed(0)} req/s, client CPU ${((r.cpu / r.ok) * 1e6).toFixed(1)} µs/request\n`);
await dispatcher.close();
await mesh.close();
upstream.stop();
