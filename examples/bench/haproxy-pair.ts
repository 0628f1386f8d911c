// The sidecar stand-in: client → HAProxy "A" (the client's sidecar, plaintext in) → mTLS →
// HAProxy "B" (the server's sidecar) → server, as Envoy sidecars sit in Istio. HAProxy comes
// from Debian (no Envoy build is obtainable here); it is installed with apt-get when missing,
// and the rows are skipped with the reason when that fails.
//
// Each proxy runs one thread: the machine has two cores shared by client, server and both
// proxies, and an Istio sidecar gets a small fixed concurrency too.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BenchCerts } from './openssl-certs.ts';

export function findHaproxy(log: (s: string) => void): string | { skip: string } {
  const have = () => {
    try {
      execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (have()) return 'haproxy';
  if (process.getuid?.() !== 0) return { skip: 'haproxy is not installed and this is not root (apt-get install -y haproxy)' };
  log('installing haproxy with apt-get (one time)...');
  try {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 180_000 });
    execFileSync('apt-get', ['install', '-y', 'haproxy'], { stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    return { skip: `apt-get install haproxy failed: ${(err as Error).message.split('\n')[0]}` };
  }
  return have() ? 'haproxy' : { skip: 'haproxy still not found after apt-get install' };
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface ProxyPair {
  /** Where the client connects (HAProxy A). */
  httpPort: number;
  grpcPort: number;
  pids: number[];
  stop(): void;
}

// No \`option http-buffer-request\`: Envoy streams request bodies through, and so does the pair.
// The 60 s client/server timeouts are far above any call here (Istio routes have no timeout;
// Envoy's stream idle timeout is 5 minutes): they only end connections left idle.
const DEFAULTS = `defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  option http-keep-alive
  # Envoy sets TCP_NODELAY; without this a 16 KiB POST stalls on Nagle + delayed ACK (~40 ms).
  option http-no-delay
  # A request whose client has gone is dropped rather than still sent on. After an overload
  # (the open loop past the pair's capacity, its stragglers aborted), the pair would otherwise
  # spend many seconds serving thousands of requests nobody waits for, into the next run.
  option abortonclose
  http-reuse always
  # Requests waiting for one of the server's SERVER_MAXCONN connections queue this long at most.
  timeout queue 30s
`;

// The client sidecar's connections to the server sidecar, at most: four times the closed loop's
// 32 requests in flight, so it never limits a measurement, and beyond it requests wait in A's
// queue (where a request whose client has gone is dropped, abortonclose) instead of each opening
// its own TLS connection. Without it, the open loop past the pair's capacity (1500/s, 16 KiB, on
// a busy machine) had A open a TLS connection per waiting request; the handshakes starved the
// pair and the ~3,000 requests of clients long gone (CLOSE-WAIT on A) took 40 s to clear, through
// the next runs. Envoy bounds its pools too (circuit breakers, 1024 by default).
const SERVER_MAXCONN = 128;

/**
 * HAProxy's buffer size. A stream's data sits in one buffer of this size on each side of a proxy,
 * and HAProxy 2.6 (Debian 12's 2.6.12) cannot handle a response whose trailers arrive while the
 * message before them still fills that buffer: a 16 KiB gRPC message (16,389 bytes with its 5-byte
 * prefix) in a 16,384-byte buffer leaves no room for the grpc-status trailers, and HAProxy calls
 * that an unrecoverable error decoding HEADERS, answers the whole upstream h2 connection with
 * GOAWAY(INTERNAL_ERROR) and so kills every call on it (trace: `trace h2 level user` on the stats
 * socket). The clients saw "13 INTERNAL: Received RST_STREAM with code 0" (answer cut before its
 * trailers) and "14 UNAVAILABLE: Stream refused by server" (calls not yet forwarded), and the
 * closed loop's rounds were stalls (errors, answers over a second while connections were rebuilt,
 * over TLS between A and B). 16,000-byte messages already did it; 8,000- and 12,000-byte ones
 * did not (grpc-pair-check.ts, SIZE). With 16,000-byte messages the pair also deadlocked: every
 * socket idle with empty queues, calls ending only at their deadline (the bench's "no answer
 * within 120 s"). It is the message filling the buffer that trips it: with 32 KiB buffers, 32 KiB
 * messages stall the same way. Envoy buffers up to per_connection_buffer_limit_bytes (1 MiB by
 * default) per connection, so no message this size meets such a limit there. 64 KiB buffers
 * carry the bench's 16 KiB calls with room to spare (and 32 KiB ones, checked: grpc-pair-check.ts
 * BUFSIZE=65536 SIZE=32768). HAProxy asks for maxconn to fall by the factor bufsize grows: 4000 →
 * 1000, still far above the 128 + a few connections a run opens.
 */
export const PAIR_BUFSIZE = 65_536;

// HTTP/2 settings both proxies advertise, on the client side (A from grpc-js, B from A) and the
// server side alike (HAProxy 2.6 has one setting for both):
// - initial window: Envoy advertises 256 MiB for streams and connections and bounds what it holds
//   by the 1 MiB per-connection buffer limit. HAProxy holds at most a buffer per stream, so it gets
//   Envoy's real bound, 1 MiB: a window that never throttles a 16 KiB call (HAProxy's default,
//   65,535, is grpc-js's own; 1 MiB and 16 MiB measured the same as it at 32 calls in flight).
// - concurrent streams: HAProxy's default, 100. Envoy's is
//   2^31 - 1, bounded in practice by its circuit breakers (1,024 requests per cluster). Tried
//   here: with 2^31 - 1 the open loop past the pair's capacity (1000 calls/s of 16 KiB for 4 s on
//   a loaded machine, grpc-pair-check.ts RATE=1000 CALLS=4000) pushed every waiting call into
//   proxy A at once and the pair answered them at 470–630/s, p50 3.3–5.4 s; with 100 the rest
//   wait in the client and the pair kept up at 700–840/s, p50 0.9–1.8 s. (0, "no limit" in the
//   manual, makes 2.6 refuse every stream.) 32 calls in flight never meet the limit.
// - frame size: 16 KiB, the HTTP/2 default that Envoy and grpc-js announce too; HAProxy would
//   otherwise announce its buffer size (64 KiB), as its manual warns for large buffers.
const H2_INITIAL_WINDOW = 1_048_576;
const H2_MAX_STREAMS = 100;
const H2_MAX_FRAME = 16_384;

function global(bufsize: number): string {
  return `global
  nbthread 1
  maxconn ${Math.round((4000 * 16_384) / bufsize)}
  tune.bufsize ${bufsize}
  tune.h2.initial-window-size ${H2_INITIAL_WINDOW}
  tune.h2.max-concurrent-streams ${H2_MAX_STREAMS}
  tune.h2.max-frame-size ${H2_MAX_FRAME}
  log stderr format raw local0 err
`;
}

/** `bufsize` is for grpc-pair-check.ts only, to show the failure of HAProxy's default. */
export async function startProxyPair(haproxy: string, certs: BenchCerts, upstream: { http: number; grpc: number }, dir: string, o: { bufsize?: number } = {}): Promise<ProxyPair> {
  const bufsize = o.bufsize ?? PAIR_BUFSIZE;
  const [aHttp, aGrpc, bHttp, bGrpc] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const tlsToB = `ssl crt ${certs.proxyClientPem} ca-file ${certs.ca} verify required verifyhost sidecar-server`;
  const tlsFromA = `ssl crt ${certs.proxyServerPem} ca-file ${certs.ca} verify required`;
  const a = `${global(bufsize)}${DEFAULTS}
frontend http_in
  bind 127.0.0.1:${aHttp}
  default_backend http_to_b
backend http_to_b
  server b 127.0.0.1:${bHttp} ${tlsToB} alpn http/1.1 maxconn ${SERVER_MAXCONN}
frontend grpc_in
  bind 127.0.0.1:${aGrpc} proto h2
  default_backend grpc_to_b
backend grpc_to_b
  server b 127.0.0.1:${bGrpc} ${tlsToB} alpn h2 maxconn ${SERVER_MAXCONN}
`;
  const b = `${global(bufsize)}${DEFAULTS}
frontend http_in
  bind 127.0.0.1:${bHttp} ${tlsFromA} alpn http/1.1
  default_backend http_app
backend http_app
  server app 127.0.0.1:${upstream.http}
frontend grpc_in
  bind 127.0.0.1:${bGrpc} ${tlsFromA} alpn h2
  default_backend grpc_app
backend grpc_app
  server app 127.0.0.1:${upstream.grpc} proto h2
`;
  writeFileSync(join(dir, 'haproxy-a.cfg'), a);
  writeFileSync(join(dir, 'haproxy-b.cfg'), b);
  execFileSync(haproxy, ['-c', '-q', '-f', join(dir, 'haproxy-a.cfg')]);
  execFileSync(haproxy, ['-c', '-q', '-f', join(dir, 'haproxy-b.cfg')]);
  // -db: stay in the foreground, one process, so its pid is the proxy's pid.
  const procs: ChildProcess[] = ['haproxy-b.cfg', 'haproxy-a.cfg'].map((cfg) => spawn(haproxy, ['-db', '-f', join(dir, cfg)], { stdio: ['ignore', 'ignore', 'inherit'] }));
  await waitForPort(aHttp);
  await waitForPort(bHttp);
  return {
    httpPort: aHttp,
    grpcPort: aGrpc,
    pids: procs.map((p) => p.pid!),
    stop: () => { for (const p of procs) p.kill('SIGTERM'); },
  };
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`haproxy did not start listening on ${port}`);
}
