// The upstream every benchmark row talks to, in its own process so its CPU is counted apart
// from the client's and it does not share the client's event loop. One process serves:
//   - HTTP/1.1 (plain): GET /small → 13 bytes; POST /16k with a 16 KiB body → 16 KiB back
//   - HTTPS with client certificates required (the Meshlet mTLS row), same handler
//   - the same over node:http2's secure server, HTTP/2 or HTTP/1.1 as ALPN picks (the mTLS
//     HTTP/2 row: DestinationRule h2UpgradePolicy UPGRADE), same handler; Node's default
//     flow-control windows (64 KiB) unless BENCH_H2_WINDOW=<bytes> widens them (probing only)
//   - gRPC (h2c): /bench.Echo/Echo, raw bytes echoed, no .proto needed
// It reports its ports over IPC once listening and runs until its parent disconnects.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

const SMALL_BODY = Buffer.from('hello, world\n');
const LARGE_BODY = Buffer.alloc(16 * 1024, 'x');

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'POST') {
    // Read the whole body (as an application would) before answering.
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': LARGE_BODY.length, 'x-received': String(n) });
      res.end(LARGE_BODY);
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL_BODY.length });
  res.end(SMALL_BODY);
}

// BENCH_TLS_LOG=<file>: on exit, per client (told apart by the Host header of a connection's
// first request: MeshAgent sends the logical host, undici by hand the address), how many TLS
// connections it opened, how many resumed a session, and how many requests they carried.
function logTls(server: import('node:https').Server, file: string): void {
  const byHost = new Map<string, { connections: number; resumed: number; requests: number }>();
  const first = new WeakMap<object, string>();
  server.on('request', (req: IncomingMessage) => {
    const sock = req.socket;
    let host = first.get(sock);
    if (host === undefined) {
      host = req.headers.host ?? '?';
      first.set(sock, host);
      const e = byHost.get(host) ?? { connections: 0, resumed: 0, requests: 0 };
      e.connections++;
      if ((sock as TLSSocket).isSessionReused()) e.resumed++;
      byHost.set(host, e);
    }
    byHost.get(host)!.requests++;
  });
  process.on('exit', () => writeFileSync(file, JSON.stringify(Object.fromEntries(byHost), null, 1)));
  process.on('SIGTERM', () => process.exit(0));
}

const ECHO_METHOD = '/bench.Echo/Echo';
const identity = (b: Buffer): Buffer => b;

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as { tls?: { cert: string; key: string; ca: string } };
  const http = createServer({ keepAliveTimeout: 60_000 }, handle);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));

  let httpsPort: number | undefined;
  let h2sPort: number | undefined;
  if (opts.tls) {
    const https = createTlsServer({
      cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key), ca: readFileSync(opts.tls.ca),
      requestCert: true, rejectUnauthorized: true, keepAliveTimeout: 60_000,
    }, handle);
    if (process.env['BENCH_TLS_LOG']) logTls(https, process.env['BENCH_TLS_LOG']);
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    httpsPort = (https.address() as AddressInfo).port;
    // The compatibility API hands `handle` request/response objects with the same surface.
    const h2s = createSecureServer({
      cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key), ca: readFileSync(opts.tls.ca),
      requestCert: true, rejectUnauthorized: true, allowHTTP1: true,
    }, handle as unknown as Parameters<typeof createSecureServer>[1]);
    const win = Number(process.env['BENCH_H2_WINDOW'] ?? 0);
    if (win > 0) {
      h2s.on('session', (sess) => sess.setLocalWindowSize(win));
      (h2s as unknown as { updateSettings(s: object): void }).updateSettings({ initialWindowSize: win });
    }
    await new Promise<void>((r) => h2s.listen(0, '127.0.0.1', r));
    h2sPort = (h2s.address() as AddressInfo).port;
  }

  const server = new grpc.Server();
  server.addService({
    Echo: { path: ECHO_METHOD, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity, originalName: 'echo' },
  } as grpc.ServiceDefinition, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
  });
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));

  process.send!({ http: (http.address() as AddressInfo).port, https: httpsPort, h2s: h2sPort, grpc: grpcPort });
  process.on('disconnect', () => process.exit(0));
}

await main();
