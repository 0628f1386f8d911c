// Measuring aid (not part of `pnpm bench`): does HTTP/2 to the upstream pay, as Istio's
// h2UpgradePolicy UPGRADE does between sidecars? undici with the bench's mutual TLS by hand,
// HTTP/1.1 (one request per connection at a time, 32 connections) against HTTP/2 on one
// connection (32 streams) and on two (requests alternating, 16 streams each: what MeshAgent's
// spread of an HTTP/2 endpoint's streams comes to with 32 in flight, spread-pools.ts), to one
// node:http2 server in its own process that speaks both (ALPN picks). Closed loop ×32, small
// GET; rounds alternate; client CPU per request and req/s.
//
//   node --conditions=source examples/bench/tls-h2.ts [seconds] [rounds]

import { fork } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerCertificate } from 'node:tls';
import { Agent, request } from 'undici';
import { makeCerts } from './openssl-certs.ts';
import { closedLoop } from './load-loops.ts';

if (process.argv[2] === 'server') {
  const t = JSON.parse(process.argv[3]!) as { cert: string; key: string; ca: string };
  const body = Buffer.from('hello, world\n');
  const server = createSecureServer({ cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca), requestCert: true, rejectUnauthorized: true, allowHTTP1: true }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  // HTTP/1.1 connections (allowHTTP1 hands them to node:http) stay open between rounds, as the
  // bench upstream's do, so the HTTP/1.1 rows do not pay fresh handshakes each round.
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
  process.on('disconnect', () => process.exit(0));
} else {
  const seconds = Number(process.argv[2] ?? 3);
  const rounds = Number(process.argv[3] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-h2-'));
  const certs = makeCerts(join(dir, 'certs'));
  const child = fork(fileURLToPath(import.meta.url), ['server', JSON.stringify({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca })], { execArgv: ['--no-warnings'] });
  const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  const c = certs.meshletCertDir;
  const id = `URI:${certs.serverSpiffeId}`;
  const connect = {
    cert: readFileSync(join(c, 'cert-chain.pem')), key: readFileSync(join(c, 'key.pem')), ca: readFileSync(join(c, 'root-cert.pem')),
    checkServerIdentity: (_h: string, cert: PeerCertificate) => (cert.subjectaltname?.split(', ').includes(id) ? undefined : new Error(`server is not ${id}`)),
  };
  const h2 = () => new Agent({ connect, allowH2: true });
  const rows: Record<string, Agent[]> = { 'HTTP/1.1': [new Agent({ connect, allowH2: false })], 'HTTP/2': [h2()], 'HTTP/2 ×2': [h2(), h2()] };
  const url = `https://127.0.0.1:${port}/small`;
  // The connections each row opened, by the protocol ALPN settled on.
  const alpn = new Map<string, number>();
  diagnostics.subscribe('undici:client:connected', (m) => {
    const p = String((m as { socket: { alpnProtocol?: string | false } }).socket.alpnProtocol);
    alpn.set(p, (alpn.get(p) ?? 0) + 1);
  });
  for (let r = 0; r < rounds; r++) {
    for (const [name, dispatchers] of Object.entries(rows)) {
      let turn = 0;
      const send = async () => { const res = await request(url, { dispatcher: dispatchers[turn++ % dispatchers.length] }); await res.body.dump(); };
      await closedLoop(send, 32, 0.5);
      const x = await closedLoop(send, 32, seconds);
      process.stdout.write(`${name.padEnd(9)} ${x.rps.toFixed(0).padStart(6)} req/s, client CPU ${((x.cpu / x.ok) * 1e6).toFixed(1)} µs/request\n`);
    }
  }
  process.stdout.write(`connections by ALPN: ${[...alpn].map(([k, v]) => `${k} ×${v}`).join(', ')}\n`);
  for (const a of Object.values(rows).flat()) await a.close();
  child.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
