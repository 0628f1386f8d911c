// How a node:http pool opens a connection to one endpoint. The socket is handed out only once
// it is up (TCP connected and, for TLS, the handshake and identity check done), so a connection
// that fails has carried no byte of the request and the attempt can go elsewhere.
//   mesh TLS: the cluster's (DestinationRule / auto-mTLS) options and Istio's ALPN, through the
//     same connector MeshAgent's undici Agents use (../tls-connector.ts), which refuses plaintext
//   caller TLS: an https:// request to a mesh host whose cluster sets no TLS keeps the caller's
//     own TLS options, checked against the logical host name
//   plain TCP otherwise (or a Unix socket for unix: endpoints)

import { connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { errors } from 'undici';
import type { EndpointState } from '@meshlet/core';
import { tlsConnector } from '../tls-connector.ts';
import type { TransportConnect } from '../transport-table.ts';

export type ConnectCallback = (err: Error | null, socket: Socket | null) => void;
export type Connector = (endpoint: EndpointState, callback: ConnectCallback) => void;

export function meshConnector(cluster: string, connect: TransportConnect, timeoutMs: number): Connector {
  const { tls, socketPath } = connect;
  if (tls) {
    const connector = tlsConnector({ cluster, tls: tls.options, alpn: tls.alpn, timeoutMs, socketPath });
    return (ep, cb) => connector({ hostname: ep.address, host: ep.key, protocol: 'https:', port: String(ep.port), localAddress: null }, (err, socket) => cb(err, socket as Socket | null));
  }
  return (ep, cb) => whenUp(socketPath !== undefined ? netConnect({ path: socketPath }) : netConnect({ host: ep.address, port: ep.port }), 'connect', ep, timeoutMs, cb);
}

/** The caller's own TLS to an endpoint: SNI and the certificate check are the logical host's. */
export function callerTlsConnector(options: ConnectionOptions, servername: string | undefined, timeoutMs: number): Connector {
  return (ep, cb) => {
    const socket = tlsConnect({
      ...options,
      ALPNProtocols: ['http/1.1'],
      ...(servername ? { servername } : {}),
      ...(ep.socketPath !== undefined ? { path: ep.socketPath } : { host: ep.address, port: ep.port }),
      // The certificate names the service, not the endpoint's address.
      checkServerIdentity: options.checkServerIdentity ?? ((_host, cert) => (servername ? checkServerIdentity(servername, cert) : undefined)),
    });
    whenUp(socket, 'secureConnect', ep, timeoutMs, cb);
  };
}

function whenUp(socket: Socket, event: 'connect' | 'secureConnect', ep: EndpointState, timeoutMs: number, cb: ConnectCallback): void {
  let done = false;
  const finish = (err: Error | null) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('error', finish);
    if (err) {
      socket.destroy();
      cb(err, null);
      return;
    }
    socket.setNoDelay(true).setKeepAlive(true, 60_000);
    cb(null, socket);
  };
  const timer = setTimeout(() => finish(new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${ep.key}, timeout: ${timeoutMs}ms)`)), timeoutMs);
  socket.once(event, () => finish(null));
  socket.on('error', finish);
}
