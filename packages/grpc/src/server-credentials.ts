// Server side of mesh mTLS for grpc-js servers: credentials that terminate mTLS with the
// workload certificate (rotating with the files), RequestAuthentication (JWT) and
// AuthorizationPolicy as a server interceptor
// (PERMISSION_DENIED "RBAC: access denied", as gRPC's xDS RBAC filter answers), the caller's
// SPIFFE ID for handlers, and bindMesh(), which serves one port in whatever mode
// PeerAuthentication says — STRICT, PERMISSIVE (mTLS and plaintext h2c on the same port, told
// apart by the first bytes) or DISABLE — through grpc-js connection injectors. bindMesh also
// refuses callers outside the mesh's trust domains (MeshConfig trustDomain, trustDomainAliases)
// and follows the workload's Sidecar: listening at an ingress listener's defaultEndpoint means
// listening at its port, and the inbound connection pool's tcp.maxConnections and
// http.http2MaxRequests apply (an overflowing call ends UNAVAILABLE, as Envoy's 503 maps).

import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import {
  experimental, Metadata, ResponderBuilder, ServerCredentials, ServerInterceptingCall, ServerListenerBuilder, status,
  type Server, type ServerInterceptor,
} from '@grpc/grpc-js';
import {
  CertificateError, CertWatcher, InboundConnections, InboundGate, istioCertPaths, normalizeRequestTarget, replaying, ServerPolicy, sniff, spiffeIdOf,
  type AuthzRequest, type Mesh, type MtlsMode, type PathNormalization, type RbacFilter,
} from '@meshlet/core';
import { MeshCertificateProvider } from './certificate-provider-mesh.ts';

export interface MeshServerCredentialsOptions {
  mesh: Mesh;
  /** Workload certificates in istio-agent's layout; default: the mesh's provider "default" (createMesh({ certs })). */
  certs?: string;
  /** Enforce RequestAuthentication (JWT) and AuthorizationPolicy (default true). */
  authorization?: boolean;
  /** The workload port PeerAuthentication and AuthorizationPolicy ports name; default: the connection's local port. */
  port?: number;
  /**
   * RBAC filters in force from elsewhere; when it returns filters they decide. Not needed in
   * xDS mode with bindMesh, which follows the server's inbound listener by itself.
   */
  rbac?: () => readonly RbacFilter[] | undefined;
  /** The mTLS mode of a port from elsewhere; undefined falls back to the inbound listener or PeerAuthentication. */
  mtls?: (port: number) => MtlsMode | undefined;
  /** Path normalization before authorization; default the mesh's (createMesh({ pathNormalization }), else the MeshConfig's pathNormalization, BASE). */
  pathNormalization?: PathNormalization;
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

/**
 * mTLS server credentials (client certificate required), with AuthorizationPolicy unless turned
 * off. They do not know the address they will be bound to, so they follow the mesh's
 * AuthorizationPolicy objects (or `rbac`), never an xDS inbound listener: use bindMesh for that.
 */
export function meshServerCredentials(opts: MeshServerCredentialsOptions): ServerCredentials {
  const watcher = watcherFor(opts);
  // Fail now, not on the first handshake, when the certificates are unusable.
  const m = watcher.current;
  if (!m.cert || !m.key || !m.ca) throw new CertificateError(`gRPC server mTLS needs cert-chain.pem, key.pem and root-cert.pem (${watcher.paths.certificateChain})`);
  const provider = new MeshCertificateProvider(watcher);
  const creds = experimental.createCertificateProviderServerCredentials(provider, provider, true);
  return opts.authorization === false ? creds : experimental.createServerCredentialsWithInterceptors(creds, [meshAuthorizationInterceptor(new ServerPolicy(opts), opts.port, opts.pathNormalization)]);
}

/**
 * The server policy for every call (core server-policy.ts), on the call's path normalized as
 * the sidecar would: RequestAuthentication first — an invalid token ends the call with
 * UNAUTHENTICATED (PERMISSION_DENIED for a wrong audience) and Envoy's text, as Envoy's local
 * reply maps 401/403 for gRPC — then AuthorizationPolicy, DENY first, then ALLOW if any
 * applies. grpc-js picks the handler by the exact :path before any interceptor runs, and hands
 * the interceptor the path the handler was registered under, so a dotted or encoded path never
 * reaches a handler (UNIMPLEMENTED); normalizing keeps the policy's view an Envoy sidecar's.
 */
export function meshAuthorizationInterceptor(policy: ServerPolicy, port?: number, pathNormalization?: PathNormalization): ServerInterceptor {
  return (methodDescriptor, call) => {
    const listener = new ServerListenerBuilder().withOnReceiveMetadata((metadata, next) => {
      const target = normalizeRequestTarget(methodDescriptor.path, pathNormalization ?? policy.mesh.pathNormalization, false);
      if (!target.ok) {
        // Envoy's local reply for a gRPC request: 400 → INTERNAL, 404 → UNIMPLEMENTED.
        call.sendStatus({ code: target.status === 404 ? status.UNIMPLEMENTED : status.INTERNAL, details: target.reason, metadata: new Metadata() });
        return;
      }
      const info = call.getConnectionInfo();
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(metadata.getMap())) headers[k] = typeof v === 'string' ? v : v.toString('base64');
      const request: AuthzRequest = {
        peerIdentity: peerIdentityOfCall(call),
        sourceIp: info.remoteAddress,
        method: 'POST',
        path: target.path,
        host: call.getHost(),
        port: port ?? info.localPort ?? 0,
        headers,
      };
      const authorizeThenNext = (jwt: AuthzRequest['jwt']) => {
        const decision = policy.authorize({ ...request, jwt });
        if (!decision.allowed) {
          policy.mesh.logger.debug({ path: methodDescriptor.path, reason: decision.reason }, 'gRPC call denied by AuthorizationPolicy');
          call.sendStatus({ code: status.PERMISSION_DENIED, details: 'RBAC: access denied', metadata: new Metadata() });
          return;
        }
        next(metadata);
      };
      const authn = policy.authenticate(request);
      if (!authn) return authorizeThenNext(undefined);
      authn.then((r) => {
        if (!r.ok) {
          policy.mesh.logger.debug({ path: methodDescriptor.path, reason: r.message }, 'gRPC call refused by RequestAuthentication');
          call.sendStatus({ code: r.httpStatus === 403 ? status.PERMISSION_DENIED : status.UNAUTHENTICATED, details: r.message, metadata: new Metadata() });
          return;
        }
        for (const h of r.edits.removeHeaders) metadata.remove(h);
        for (const [k, v] of Object.entries(r.edits.setHeaders)) metadata.set(k, v);
        authorizeThenNext(r.payload);
      }, (err: unknown) => {
        policy.mesh.logger.error({ error: String(err) }, 'JWT authentication failed unexpectedly');
        call.sendStatus({ code: status.INTERNAL, details: 'JWT authentication error', metadata: new Metadata() });
      });
    }).build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

/**
 * The Sidecar's inbound request limit (http.http2MaxRequests) for every call: one over it ends at
 * once with UNAVAILABLE, what Envoy's 503 overflow becomes for a gRPC client, and never reaches
 * the handler.
 */
export function meshInboundLimitsInterceptor(limits: InboundConnections, port?: number): ServerInterceptor {
  return (_methodDescriptor, call) => {
    let release: (() => void) | undefined;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const admitted = limits.request(undefined, port ?? call.getConnectionInfo().localPort ?? 0);
        if (typeof admitted === 'string') {
          call.sendStatus({ code: status.UNAVAILABLE, details: admitted, metadata: new Metadata() });
          return;
        }
        release = admitted.release;
        next(metadata);
      })
      .withOnCancel(() => release?.())
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((s, next) => {
        release?.();
        next(s);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}

export interface MeshBinding {
  readonly port: number;
  /** The mTLS mode for a port: the xDS inbound listener's, else the mesh's PeerAuthentication policies'. */
  mtlsMode(port: number): MtlsMode;
  /** The xDS inbound listener this binding follows (xDS mode). */
  readonly inboundListener: string | undefined;
  close(): Promise<void>;
}

export interface BindMeshOptions extends MeshServerCredentialsOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on (default 0: any free port). */
  listenPort?: number;
  /**
   * gRFC A36, as @grpc/grpc-js-xds's XdsServer does it: in xDS mode, open the port only once
   * the inbound listener is serving, and resolve then — however long the control plane takes.
   * Needs a listenPort, since the listener is named after the address. Default false: listen at
   * once and refuse connections while not serving.
   */
  listenWhenServing?: boolean;
  /** Gives up a bind still waiting to serve (rejects with an AbortError). */
  signal?: AbortSignal;
}

/**
 * Serves `server` on host:port (default 127.0.0.1:0) in the mTLS mode set for that port, per
 * connection: a policy edit applies to the next connection. In xDS mode the mode and the RBAC
 * rules come from the server's inbound listener (gRFC A36 name from the bootstrap template);
 * bindMesh resolves once the control plane has answered, and refuses connections while it has
 * no such listener (or, with listenWhenServing, does not listen before it has one). In embedded
 * mode PeerAuthentication and AuthorizationPolicy decide.
 *
 * TLS is terminated here (a non-listening tls.Server) and the TLS socket handed to grpc-js as an
 * already-secure connection, because an Envoy sidecar client offers ALPN "istio-h2"/"istio"
 * only, which grpc-js's secure server (ALPN "h2") refuses. grpc-js still reads the caller's
 * certificate from the socket for getAuthContext().
 */
export async function bindMesh(server: Server, opts: BindMeshOptions): Promise<MeshBinding> {
  const mesh = opts.mesh;
  const policy = new ServerPolicy(opts);
  let host = opts.host ?? '127.0.0.1';
  let listenPort = opts.listenPort ?? 0;
  const ingress = listenPort === 0 ? undefined : policy.ingressAddress(host, listenPort);
  if (ingress) {
    mesh.logger.info({ requested: `${host}:${listenPort}`, listening: `${ingress.host}:${ingress.port}` }, ingress.reason);
    host = ingress.host;
    listenPort = ingress.port;
  }
  if (opts.listenWhenServing) {
    if (!listenPort) throw new Error(`bindMesh: listenWhenServing needs a listenPort: the inbound listener is named after the address (gRFC A36), so ${host}:0 cannot be asked for`);
    await untilServing(policy, host, listenPort, opts.signal);
  }
  const limits = new InboundConnections(new InboundGate((port) => policy.inboundLimits(port)), (key) => (key as Socket).destroy());
  // Authorization first, then the request limit: Envoy's RBAC filter runs before its router
  // meets the inbound cluster's max_requests.
  const authz = [...(opts.authorization === false ? [] : [meshAuthorizationInterceptor(policy, opts.port, opts.pathNormalization)]), meshInboundLimitsInterceptor(limits, opts.port)];
  // One injector for every connection, TLS already terminated or plaintext; the interceptors
  // ride on its credentials.
  const plain = server.createConnectionInjector(experimental.createServerCredentialsWithInterceptors(ServerCredentials.createInsecure(), authz));
  let tls: TlsServer | undefined;
  let unwatch: (() => void) | undefined;
  let watcher: CertWatcher | undefined;
  let noCertificate: string | undefined;
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
      const foreign = policy.peerIdentityProblem(spiffeIdOf(s.getPeerCertificate().subjectaltname));
      if (foreign) {
        mesh.logger.warn({ remoteAddress: s.remoteAddress, reason: foreign }, 'gRPC mTLS client certificate rejected');
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
    // Said below only if the port's mode needs TLS: a plaintext server needs no certificate.
    noCertificate = err.message;
  }
  const ownsWatcher = opts.certs !== undefined;
  const mode = (port: number): MtlsMode => policy.mtlsMode(port).mode;
  const sockets = new Set<Socket>();
  const net: NetServer = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => { /* peer reset during sniffing */ });
    const port = opts.port ?? socket.localPort ?? 0;
    const overLimit = limits.accept(socket, port);
    if (overLimit) {
      mesh.logger.warn({ remoteAddress: socket.remoteAddress, port }, overLimit);
      socket.destroy();
      return;
    }
    sniff(socket, (kind) => {
      const { mode, refusal } = policy.admit(port, kind === 'tls');
      const refuse = (why: string) => { mesh.logger.warn({ remoteAddress: socket.remoteAddress, port, mode }, why); socket.destroy(); };
      if (refusal) return refuse(refusal);
      if (kind === 'tls') {
        if (!tls) return refuse('TLS connection refused: this server has no workload certificate');
        tls.emit('connection', socket);
      } else {
        plain.injectConnection(replaying(socket));
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      net.listen(listenPort, host, () => { net.off('error', reject); resolve(); });
    });
  } catch (err) {
    policy.close();
    throw err;
  }
  const port = (net.address() as AddressInfo).port;
  try {
    await policy.attach(host, port);
  } catch (err) {
    net.close();
    throw err;
  }
  if (noCertificate !== undefined && mode(opts.port ?? port) === 'STRICT') {
    mesh.logger.warn({ error: noCertificate, port }, 'gRPC server has no workload certificate and its port requires mTLS: every connection will be refused');
  }
  return {
    port,
    mtlsMode: mode,
    inboundListener: policy.listener,
    async close() {
      const closed = new Promise<void>((r) => net.close(() => r()));
      policy.close();
      unwatch?.();
      if (ownsWatcher) watcher?.close();
      plain.destroy();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** Waits until the policy for host:port serves (A36), giving up on `signal`; the policy is closed on failure. */
async function untilServing(policy: ServerPolicy, host: string, port: number, signal: AbortSignal | undefined): Promise<void> {
  const abort = () => policy.close();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason;
    await policy.attach(host, port, true);
    if (signal?.aborted) throw signal.reason;
    if (!policy.serving) throw new Error(`bindMesh ${host}:${port}: the mesh closed before the inbound listener ${policy.listener ?? ''} was serving`);
  } catch (err) {
    policy.close();
    throw err;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
