// Server side of mesh mTLS for grpc-js servers: credentials that terminate mTLS with the
// workload certificate (rotating with the files), AuthorizationPolicy as a server interceptor
// (PERMISSION_DENIED "RBAC: access denied", as gRPC's xDS RBAC filter answers), the caller's
// SPIFFE ID for handlers, and bindMesh(), which serves one port in whatever mode
// PeerAuthentication says — STRICT, PERMISSIVE (mTLS and plaintext h2c on the same port, told
// apart by the first bytes) or DISABLE — through grpc-js connection injectors.

import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import {
  experimental, Metadata, ResponderBuilder, ServerCredentials, ServerInterceptingCall, ServerListenerBuilder, status,
  type Server, type ServerInterceptor,
} from '@grpc/grpc-js';
import {
  applicablePolicies, authorize, CertificateError, CertWatcher, istioCertPaths, mtlsModeForPort, peerAuthenticationFor, replaying, sniff, spiffeIdOf,
  evaluateRbac, type AuthzRequest, type Mesh, type MtlsMode, type RbacFilter,
} from '@meshlet/core';
import { MeshCertificateProvider } from './certificate-provider-mesh.ts';

export interface MeshServerCredentialsOptions {
  mesh: Mesh;
  /** Workload certificates in istio-agent's layout; default: the mesh's provider "default" (createMesh({ certs })). */
  certs?: string;
  /** Enforce AuthorizationPolicy (default true). */
  authorization?: boolean;
  /** The workload port PeerAuthentication and AuthorizationPolicy ports name; default: the connection's local port. */
  port?: number;
  /** RBAC filters in force (e.g. from an xDS inbound listener); when it returns filters they decide instead of the CRDs. */
  rbac?: () => readonly RbacFilter[] | undefined;
  /** The mTLS mode of a port from elsewhere (translateServerListener on an xDS inbound listener); undefined falls back to PeerAuthentication. */
  mtls?: (port: number) => MtlsMode | undefined;
}

/** The caller's SPIFFE ID on a grpc-js server call (unary, stream or interceptor), if it used mTLS. */
export function peerIdentityOfCall(call: { getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } } }): string | undefined {
  return spiffeIdOf(call.getAuthContext().sslPeerCertificate?.subjectaltname);
}

function watcherFor(opts: MeshServerCredentialsOptions): CertWatcher {
  if (opts.certs !== undefined) return new CertWatcher(istioCertPaths(opts.certs), { logger: opts.mesh.logger, name: `gRPC server certificates ${opts.certs}` });
  const w = opts.mesh.credentials.provider('default');
  if (!w) throw new CertificateError('gRPC server mTLS needs workload certificates: pass certs, or createMesh({ certs })');
  return w;
}

/** mTLS server credentials (client certificate required), with AuthorizationPolicy unless turned off. */
export function meshServerCredentials(opts: MeshServerCredentialsOptions): ServerCredentials {
  const watcher = watcherFor(opts);
  // Fail now, not on the first handshake, when the certificates are unusable.
  const m = watcher.current;
  if (!m.cert || !m.key || !m.ca) throw new CertificateError(`gRPC server mTLS needs cert-chain.pem, key.pem and root-cert.pem (${watcher.paths.certificateChain})`);
  const provider = new MeshCertificateProvider(watcher);
  const creds = experimental.createCertificateProviderServerCredentials(provider, provider, true);
  return opts.authorization === false ? creds : experimental.createServerCredentialsWithInterceptors(creds, [meshAuthorizationInterceptor(opts.mesh, opts.port, opts.rbac)]);
}

/** AuthorizationPolicy for every call: DENY first, then ALLOW if any applies (see core authorization-policy.ts). */
export function meshAuthorizationInterceptor(mesh: Mesh, port?: number, rbac?: () => readonly RbacFilter[] | undefined): ServerInterceptor {
  let cache = { version: -1, policies: [] as ReturnType<typeof applicablePolicies> };
  return (methodDescriptor, call) => {
    const listener = new ServerListenerBuilder().withOnReceiveMetadata((metadata, next) => {
      if (cache.version !== mesh.policies.version) {
        const id = mesh.identity;
        cache = { version: mesh.policies.version, policies: applicablePolicies(mesh.policies.authorizationPolicies, { namespace: id.namespace, labels: id.labels }, id.rootNamespace) };
      }
      const info = call.getConnectionInfo();
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(metadata.getMap())) headers[k] = typeof v === 'string' ? v : v.toString('base64');
      const request: AuthzRequest = {
        peerIdentity: peerIdentityOfCall(call),
        sourceIp: info.remoteAddress,
        method: 'POST',
        path: methodDescriptor.path,
        host: call.getHost(),
        port: port ?? info.localPort ?? 0,
        headers,
      };
      const filters = rbac?.();
      const decision = filters ? evaluateRbac(filters, request) : authorize(cache.policies, request);
      if (!decision.allowed) {
        mesh.logger.debug({ path: methodDescriptor.path, reason: decision.reason }, 'gRPC call denied by AuthorizationPolicy');
        call.sendStatus({ code: status.PERMISSION_DENIED, details: 'RBAC: access denied', metadata: new Metadata() });
        return;
      }
      next(metadata);
    }).build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

export interface MeshBinding {
  readonly port: number;
  /** The mTLS mode for a port, from the mesh's PeerAuthentication policies. */
  mtlsMode(port: number): MtlsMode;
  close(): Promise<void>;
}

/**
 * Serves `server` on host:port (default 127.0.0.1:0) in the mTLS mode PeerAuthentication sets
 * for that port, per connection: a policy edit applies to the next connection.
 *
 * TLS is terminated here (a non-listening tls.Server) and the TLS socket handed to grpc-js as an
 * already-secure connection, because an Envoy sidecar client offers ALPN "istio-h2"/"istio"
 * only, which grpc-js's secure server (ALPN "h2") refuses. grpc-js still reads the caller's
 * certificate from the socket for getAuthContext().
 */
export async function bindMesh(server: Server, opts: MeshServerCredentialsOptions & { host?: string; listenPort?: number }): Promise<MeshBinding> {
  const mesh = opts.mesh;
  const authz = opts.authorization === false ? [] : [meshAuthorizationInterceptor(mesh, opts.port, opts.rbac)];
  // One injector for every connection, TLS already terminated or plaintext; the interceptors
  // ride on its credentials.
  const plain = server.createConnectionInjector(experimental.createServerCredentialsWithInterceptors(ServerCredentials.createInsecure(), authz));
  let tls: TlsServer | undefined;
  let unwatch: (() => void) | undefined;
  let watcher: CertWatcher | undefined;
  try {
    watcher = watcherFor(opts);
    const m = watcher.current;
    if (!m.cert || !m.key || !m.ca) throw new CertificateError(`gRPC server mTLS needs cert-chain.pem, key.pem and root-cert.pem (${watcher.paths.certificateChain})`);
    const t = createTlsServer({
      key: m.key, cert: m.cert, ca: m.ca,
      requestCert: true,
      // Checked on secureConnection, so a refusal is logged with its reason.
      rejectUnauthorized: false,
      ALPNCallback: ({ protocols }) => ['h2', 'istio-h2'].find((p) => protocols.includes(p)),
    });
    t.on('secureConnection', (s: TLSSocket) => {
      if (!s.authorized) {
        mesh.logger.warn({ remoteAddress: s.remoteAddress, reason: String(s.authorizationError ?? 'no client certificate') }, 'gRPC mTLS client certificate rejected');
        s.destroy();
        return;
      }
      plain.injectConnection(s);
    });
    t.on('tlsClientError', () => { /* handshake failures: the peer sees the alert */ });
    unwatch = watcher.onChange((n) => { if (n.key && n.cert && n.ca) t.setSecureContext({ key: n.key, cert: n.cert, ca: n.ca }); });
    tls = t;
  } catch (err) {
    if (!(err instanceof CertificateError)) throw err;
    mesh.logger.warn({ error: err.message }, 'gRPC server has no workload certificate: TLS connections will be refused');
  }
  const ownsWatcher = opts.certs !== undefined;
  const mode = (port: number): MtlsMode => {
    const given = opts.mtls?.(port);
    if (given) return given;
    const id = mesh.identity;
    return mtlsModeForPort(peerAuthenticationFor(mesh.policies.peerAuthentications, { namespace: id.namespace, labels: id.labels }, id.rootNamespace), port);
  };
  const sockets = new Set<Socket>();
  const net: NetServer = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => { /* peer reset during sniffing */ });
    const port = opts.port ?? socket.localPort ?? 0;
    sniff(socket, (kind) => {
      const m = mode(port);
      const refuse = (why: string) => { mesh.logger.warn({ remoteAddress: socket.remoteAddress, port, mode: m }, why); socket.destroy(); };
      if (kind === 'tls') {
        if (m === 'DISABLE') return refuse(`TLS connection refused: mTLS is disabled on port ${port}`);
        if (!tls) return refuse('TLS connection refused: this server has no workload certificate');
        tls.emit('connection', socket);
      } else {
        if (m === 'STRICT') return refuse(`plaintext connection refused: port ${port} requires mTLS`);
        plain.injectConnection(replaying(socket));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(opts.listenPort ?? 0, opts.host ?? '127.0.0.1', () => { net.off('error', reject); resolve(); });
  });
  return {
    port: (net.address() as AddressInfo).port,
    mtlsMode: mode,
    async close() {
      const closed = new Promise<void>((r) => net.close(() => r()));
      unwatch?.();
      if (ownsWatcher) watcher?.close();
      plain.destroy();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
