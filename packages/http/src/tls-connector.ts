// The connector of a TLS cluster's Agent. undici's own connector always offers ALPN
// ["http/1.1"], but an Istio sidecar picks its inbound filter chain by the client's ALPN: in
// PERMISSIVE mode (Istio's default) only a client offering "istio-http/1.1" (what a sidecar's
// istio.alpn filter sends) reaches the mTLS HTTP chain — anything else falls through to the TLS
// passthrough chain and the app receives raw TLS. So this connector offers the cluster's ALPN
// (mesh clusters: "istio-http/1.1", "istio", then "http/1.1" for servers that are not Envoy),
// and it refuses anything but TLS: no caller can send a TLS cluster's traffic in plaintext.
// Otherwise it does what undici's does: connect timeout, TCP keep-alive and no-delay, TLS
// session reuse per server name.

import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { errors, type buildConnector } from 'undici';
import { CertificateError } from '@meshlet/core';

export interface TlsConnectorOptions {
  readonly cluster: string;
  readonly tls: ConnectionOptions;
  readonly alpn: readonly string[];
  readonly timeoutMs: number;
  readonly socketPath?: string | undefined;
}

const MAX_SESSIONS = 100;

export function tlsConnector(opts: TlsConnectorOptions): buildConnector.connector {
  const sessions = new Map<string, Buffer>();
  return ({ hostname, protocol, port, servername, localAddress }, callback) => {
    if (protocol !== 'https:') {
      callback(new CertificateError(`refusing a plaintext (${protocol}) connection to cluster ${opts.cluster}: its policy requires TLS`), null);
      return;
    }
    // SNI: the cluster's, else the caller's, else the host name when it is a name (never an IP).
    const sni = opts.tls.servername ?? (servername || (isIP(hostname) ? undefined : hostname));
    const key = sni ?? hostname;
    const socket: TLSSocket = tlsConnect({
      ...opts.tls,
      ...(sni !== undefined && { servername: sni }),
      ...(sessions.has(key) && { session: sessions.get(key)! }),
      ...(localAddress && { localAddress }),
      ALPNProtocols: [...opts.alpn],
      ...(opts.socketPath !== undefined ? { path: opts.socketPath } : { host: hostname, port: Number(port) || 443 }),
    });
    socket.on('session', (s: Buffer) => {
      if (!sessions.has(key) && sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      sessions.set(key, s);
    });
    socket.setKeepAlive(true, 60_000).setNoDelay(true);
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      const err = new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${hostname}:${port}, timeout: ${opts.timeoutMs}ms)`);
      socket.destroy(err);
      callback(err, null);
    }, opts.timeoutMs);
    socket
      .once('secureConnect', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        callback(null, socket);
      })
      .on('error', (err: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        callback(err, null);
      });
  };
}
