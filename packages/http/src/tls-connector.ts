// The connector of a TLS cluster's Agent. undici's own connector always offers ALPN
// ["http/1.1"], but an Istio sidecar picks its inbound filter chain by the client's ALPN: in
// PERMISSIVE mode (Istio's default) only a client offering "istio-http/1.1" (what a sidecar's
// istio.alpn filter sends) reaches the mTLS HTTP chain — anything else falls through to the TLS
// passthrough chain and the app receives raw TLS. So this connector offers the cluster's ALPN
// (mesh clusters: "istio-http/1.1", "istio", then "http/1.1" for servers that are not Envoy),
// and it refuses anything but TLS: no caller can send a TLS cluster's traffic in plaintext.
// Otherwise it does what undici's does: connect timeout, TCP keep-alive and no-delay.
//
// What a new connection costs, and what this connector does about it, as Envoy does with its
// SSL_CTX and session cache per cluster (figures: client CPU on the bench machine):
//   - One TLS context for the connector's life (a transport's: the certificates of the moment),
//     built at its first connection. Handing cert/key/ca to tls.connect would parse them and
//     build a context for every connection (~0.8 ms of a 4.3 ms full handshake).
//   - TLS session resumption (~1.5 ms less), with a session kept per endpoint and SNI rather
//     than per SNI alone: every endpoint of a mesh cluster shares its SNI but has its own
//     session-ticket keys, so one session per cluster (Envoy's default) would be offered to
//     endpoints that cannot resume it, and each new connection would replace it.
// Node does not run checkServerIdentity on a resumed session: the identity was checked on the
// full handshake the session came from, and Node hands out a session ('session') only once that
// check has passed. That holds here because a connector's sessions never outlive the identity
// policy they were checked against: the SAN list, SNI, trust and certificates are part of the
// transport's signature (transport-table.ts), so a change builds a new connector with no sessions.

import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { errors, type buildConnector } from 'undici';
import { CertificateError } from '@meshlet/core/adapter';

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
  let context: SecureContext | undefined;
  return ({ hostname, protocol, port, servername, localAddress }, callback) => {
    if (protocol !== 'https:') {
      callback(new CertificateError(`refusing a plaintext (${protocol}) connection to cluster ${opts.cluster}: its policy requires TLS`), null);
      return;
    }
    try {
      // createSecureContext reads the context's fields (ca, cert, key...) and ignores the rest.
      context ??= createSecureContext(opts.tls);
    } catch (err) {
      callback(err as Error, null);
      return;
    }
    // SNI: the cluster's, else the caller's, else the host name when it is a name (never an IP).
    const sni = opts.tls.servername ?? (servername || (isIP(hostname) ? undefined : hostname));
    const key = `${sni ?? ''} ${opts.socketPath ?? `${hostname}:${port}`}`;
    const session = sessions.get(key);
    const socket: TLSSocket = tlsConnect({
      ...opts.tls,
      secureContext: context,
      ...(sni !== undefined && { servername: sni }),
      ...(session !== undefined && { session }),
      ...(localAddress && { localAddress }),
      ALPNProtocols: [...opts.alpn],
      ...(opts.socketPath !== undefined ? { path: opts.socketPath } : { host: hostname, port: Number(port) || 443 }),
    });
    socket.on('session', (s: Buffer) => {
      // Least recently stored first out.
      sessions.delete(key);
      if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
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
        // undici speaks HTTP/2 exactly when ALPN says "h2"; Istio's name for it means the same.
        if (socket.alpnProtocol === 'istio-h2') socket.alpnProtocol = 'h2';
        callback(null, socket);
      })
      .on('error', (err: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        // A connection that failed gives its endpoint a full handshake next time (as Node's
        // https.Agent evicts its session on error).
        if (session !== undefined && sessions.get(key) === session) sessions.delete(key);
        callback(err, null);
      });
  };
}
