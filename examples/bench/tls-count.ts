// Counting aid for the mTLS rows (not part of `pnpm bench`): N requests, 32 in flight, through
// MeshAgent under ISTIO_MUTUAL and through undici doing the same mutual TLS by hand, against an
// HTTPS server in this process, and what each did at the TLS layer: connections, full and
// resumed handshakes, protocol, cipher, ALPN, key exchange group, identity checks. These are
// counts, not timings: they do not depend on how loaded the machine is.
//
//   node --conditions=source examples/bench/tls-count.ts [requests]
//
// CHURN=1 also prints, for each connection the server closes, its age and how many requests it served.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import diagnostics from 'node:diagnostics_channel';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { createMesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { makeCerts } from './openssl-certs.ts';
import { writeMeshConfig } from './fixtures.ts';

const N = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'meshlet-tls-count-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const certs = makeCerts(join(dir, 'certs'));

const server = { connections: 0, handshakes: 0, resumed: 0 };
// Bytes on the wire (ciphertext) both ways, and the first request's header block as received.
const raw = new Set<import('node:net').Socket>();
let firstRequest: string | undefined;
const https = createServer({
  cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey), ca: readFileSync(certs.ca),
  requestCert: true, rejectUnauthorized: true, keepAliveTimeout: 60_000,
}, (req, res) => {
  firstRequest ??= `${req.method} ${req.url} ${JSON.stringify(req.rawHeaders)}`; res.writeHead(200, { 'content-length': 13 }); res.end('hello, world\n'); });
https.on('connection', (s: import('node:net').Socket) => { server.connections++; raw.add(s); });
const served = new WeakMap<object, number>();
https.on('request', (req) => served.set(req.socket, (served.get(req.socket) ?? 0) + 1));
https.on('secureConnection', (s: TLSSocket) => {
  const t0 = performance.now();
  let clientEnded = false;
  s.on('end', () => { clientEnded = true; });
  s.on('close', () => { if (process.env['CHURN']) process.stdout.write(`  [closed after ${(performance.now() - t0).toFixed(0)} ms by the ${clientEnded ? 'client' : 'server'}, ${served.get(s) ?? 0} requests]\n`); }); server.handshakes++; if (s.isSessionReused()) server.resumed++; });
await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
const port = (https.address() as AddressInfo).port;

// What the client negotiated, from undici's own connect event (both rows go through it).
const seen = new Map<string, number>();
let clientResumed = 0;
diagnostics.subscribe('undici:client:connected', (m) => {
  const s = (m as { socket: TLSSocket }).socket;
  const k = s.getEphemeralKeyInfo() as { name?: string };
  const line = `${s.getProtocol()} ${s.getCipher().name} alpn=${s.alpnProtocol} group=${k.name ?? '?'}`;
  seen.set(line, (seen.get(line) ?? 0) + 1);
  if (s.isSessionReused()) clientResumed++;
});

let identityChecks = 0;
const id = `URI:${certs.serverSpiffeId}`;
const c = certs.meshletCertDir;
const byHand = new Agent({ connect: {
  cert: readFileSync(join(c, 'cert-chain.pem')), key: readFileSync(join(c, 'key.pem')), ca: readFileSync(join(c, 'root-cert.pem')),
  checkServerIdentity: (_h: string, cert: PeerCertificate) => { identityChecks++; return cert.subjectaltname?.split(', ').includes(id) ? undefined : new Error(`server is not ${id}`); },
} });
writeMeshConfig(dir, { http: 1, https: port, h2s: undefined, grpc: 1 }, certs.serverSpiffeId);
const mesh = await createMesh({ config: dir, watch: false, certs: c });
const meshAgent = new MeshAgent({ mesh });

async function run(name: string, dispatcher: Dispatcher, url: string): Promise<void> {
  Object.assign(server, { connections: 0, handshakes: 0, resumed: 0 });
  const wire = (): [number, number] => [...raw].reduce<[number, number]>((a, s) => [a[0] + s.bytesRead, a[1] + s.bytesWritten], [0, 0]);
  const [in0, out0] = wire();
  firstRequest = undefined;
  seen.clear();
  clientResumed = 0;
  identityChecks = 0;
  let left = N;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (left-- > 0) {
      const res = await request(url, { dispatcher });
      await res.body.dump();
    }
  }));
  process.stdout.write(`${name}: ${N} requests → server: ${server.connections} connections, ${server.handshakes} handshakes (${server.resumed} resumed); client resumed ${clientResumed}; by-hand identity checks ${identityChecks}\n`);
  const [in1, out1] = wire();
  process.stdout.write(`  ciphertext per request: ${((in1 - in0) / N).toFixed(1)} B in, ${((out1 - out0) / N).toFixed(1)} B out (handshakes included)\n  first request: ${firstRequest}\n`);
  for (const [k, v] of seen) process.stdout.write(`  ${v} × ${k}\n`);
}

for (let round = 0; round < 2; round++) {
  await run('by hand', byHand, `https://127.0.0.1:${port}/small`);
  await run('MeshAgent', meshAgent, 'http://bench-tls:80/small');
}
await byHand.close();
await meshAgent.close();
await mesh.close();
https.close();
