// Telling a connection's protocol from its first bytes, as Envoy's TLS inspector does for a
// sidecar's inbound listener: one port can then take mTLS and plaintext (PERMISSIVE), or refuse
// the one the PeerAuthentication mode forbids. Used by the HTTP and gRPC server helpers.

import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export type FirstBytes = 'tls' | 'h2c' | 'http1';

const TLS_HANDSHAKE = 0x16;
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0');

/**
 * Waits for the first bytes of a socket created with pauseOnConnect, puts them back, and says
 * what they are. The socket is left paused with the bytes buffered.
 */
export function sniff(socket: Socket, then: (kind: FirstBytes) => void): void {
  socket.once('data', (first: Buffer) => {
    socket.pause();
    socket.unshift(first);
    then(first[0] === TLS_HANDSHAKE ? 'tls' : first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE) ? 'h2c' : 'http1');
  });
  socket.resume();
}

/**
 * A Duplex over `socket` that yields its buffered (sniffed) bytes first, then the rest. node:http2
 * reads a net.Socket's handle directly and would miss bytes already read; a TLS server replays
 * them itself and can take the socket as is.
 */
export function replaying(socket: Socket): Duplex {
  const d = new Duplex({
    read() { socket.resume(); },
    write(chunk: Buffer, _enc, cb) { socket.write(chunk, cb); },
    final(cb) { socket.end(); cb(); },
    destroy(err, cb) { socket.destroy(err ?? undefined); cb(err); },
  });
  socket.on('data', (chunk: Buffer) => { if (!d.push(chunk)) socket.pause(); });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  // What request handlers and authorization read from the connection.
  for (const k of ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort'] as const) {
    Object.defineProperty(d, k, { value: socket[k], enumerable: true });
  }
  return d;
}
