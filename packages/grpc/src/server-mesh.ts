// The server side of mesh mTLS for grpc-js: terminate the caller's mTLS with the workload
// certificate as PeerAuthentication says, tell handlers who called, and enforce
// AuthorizationPolicy — what the inbound half of an Istio sidecar does, inside the process.
//
// One listening socket serves every mode, as the sidecar's inbound listener does with its TLS
// inspector: core's sniff() reads the first bytes (a TLS ClientHello, or the h2c preface), the
// port's mode decides (STRICT refuses plaintext, DISABLE refuses TLS, PERMISSIVE takes both),
// and the connection is handed to the grpc-js Server through one of its connection injectors
// (TLS requiring a client certificate that chains to the mesh root, or plaintext). After a
// certificate rotation new connections get a new TLS injector; open ones keep theirs.
// AuthorizationPolicy runs as the first server interceptor, on the call's metadata, before any
// of the application's code: a denied call ends with PERMISSION_DENIED "RBAC: access denied",
// the status Envoy's RBAC filter gives a gRPC caller.

import { EventEmitter } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import {
  Metadata, Server, ServerCredentials, ServerInterceptingCall, ServerListenerBuilder, status as Status,
  type ServerInterceptor, type ServerOptions,
} from '@grpc/grpc-js';
import {
  applicablePolicies, authorize, CertificateError, CertWatcher, istioCertPaths, mtlsModeForPort, peerAuthenticationFor, replaying, sniff, spiffeIdOf,
  type AuthzDecision, type Mesh, type MtlsMode, type VersionedMaterial,
} from '@meshlet/core';

type Injector = ReturnType<Server['createConnectionInjector']>;
type InterceptedCall = Parameters<ServerInterceptor>[1];

export interface MeshServerOptions {
  mesh: Mesh;
  /** Workload certificates in istio-agent's layout; default: the mesh's provider "default" (createMesh({ certs })). */
  certs?: string;
  /** The workload port PeerAuthentication port-level rules name; default: each connection's local port. */
  port?: number;
  /** Enforce AuthorizationPolicy (default true). */
  authorization?: boolean;
  /** Options for the grpc-js Server; its interceptors run after the mesh's authorization. */
  server?: ServerOptions;
}

export interface RefusedConnection {
  readonly remoteAddress: string | undefined;
  readonly port: number;
  readonly mode: MtlsMode;
  readonly reason: string;
}

/** The caller's SPIFFE ID, when it connected over mesh mTLS; undefined for plaintext callers. */
export function peerIdentity(call: { getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } } }): string | undefined {
  return spiffeIdOf(call.getAuthContext().sslPeerCertificate?.subjectaltname);
}

/**
 * A grpc-js Server behind the mesh's inbound policies. Add services to `server`, then listen().
 * Events: 'refused' (RefusedConnection) when a connection breaks the port's mTLS mode, 'denied'
 * ({ path, decision }) when AuthorizationPolicy denies a call.
 */
export class MeshGrpcServer extends EventEmitter {
  readonly server: Server;
  readonly #opts: MeshServerOptions;
  readonly #certs: CertWatcher | undefined;
  readonly #ownsCerts: boolean;
  readonly #plain: Injector;
  #tls: Injector | undefined;
  readonly #retired: Injector[] = [];
  readonly #net: NetServer;
  readonly #sockets = new Set<Socket>();
  #unwatch: (() => void) | undefined;
  #authz: { version: number; policies: ReturnType<typeof applicablePolicies> } = { version: -1, policies: [] };

  constructor(opts: MeshServerOptions) {
    super();
    this.#opts = opts;
    const interceptors = opts.authorization === false ? [] : [this.#authorizationInterceptor()];
    this.server = new Server({ ...opts.server, interceptors: [...interceptors, ...(opts.server?.interceptors ?? [])] });
    this.#ownsCerts = opts.certs !== undefined;
    this.#certs = opts.certs !== undefined
      ? new CertWatcher(istioCertPaths(opts.certs), { logger: opts.mesh.logger, name: `server certificates ${opts.certs}` })
      : opts.mesh.credentials.provider('default');
    if (this.#certs) {
      // Fail at start-up, not on the first caller, when the certificates are unusable.
      const material = this.#certs.current;
      if (!material.cert || !material.key || !material.ca) throw new CertificateError(`server certificates need cert-chain.pem, key.pem and root-cert.pem (${this.#certs.paths.certificateChain})`);
      this.#tls = this.#tlsInjector(material);
      this.#unwatch = this.#certs.onChange((m) => {
        if (!m.key || !m.cert || !m.ca) return;
        // Open connections finish on the old certificates; new ones get the new.
        if (this.#tls) this.#retired.push(this.#tls);
        this.#tls = this.#tlsInjector(m);
      });
    }
    this.#plain = this.server.createConnectionInjector(ServerCredentials.createInsecure());
    this.#net = createNetServer({ pauseOnConnect: true }, (socket) => this.#route(socket));
  }

  #tlsInjector(m: VersionedMaterial): Injector {
    // checkClientCertificate: the caller must present a certificate that chains to the mesh root.
    return this.server.createConnectionInjector(ServerCredentials.createSsl(Buffer.from(m.ca!), [{ cert_chain: Buffer.from(m.cert!), private_key: Buffer.from(m.key!) }], true));
  }

  /** Listens on 127.0.0.1:0 unless told otherwise; resolves with the port. */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#net.once('error', reject);
      this.#net.listen(port, host, () => {
        this.#net.off('error', reject);
        resolve((this.#net.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    this.#unwatch?.();
    if (this.#ownsCerts) this.#certs?.close();
    const closed = new Promise<void>((resolve) => this.#net.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    for (const i of [this.#plain, this.#tls, ...this.#retired]) i?.destroy();
    this.server.forceShutdown();
    await closed;
  }

  /** The mTLS mode in force for a port, from the mesh's PeerAuthentication policies. */
  mtlsMode(port: number): { mode: MtlsMode; from: readonly string[] } {
    const id = this.#opts.mesh.identity;
    const policy = peerAuthenticationFor(this.#opts.mesh.policies.peerAuthentications, { namespace: id.namespace, labels: id.labels }, id.rootNamespace);
    return { mode: mtlsModeForPort(policy, port), from: policy.from };
  }

  #route(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => { /* a peer that resets mid-handshake; nothing to do */ });
    const port = this.#opts.port ?? socket.localPort ?? 0;
    sniff(socket, (kind) => {
      const { mode, from } = this.mtlsMode(port);
      const policy = from.length ? ` (PeerAuthentication ${from.join(' > ')})` : '';
      if (kind !== 'tls' && mode === 'STRICT') return this.#refuse(socket, port, mode, `plaintext connection refused: port ${port} requires mTLS${policy}`);
      if (kind === 'tls' && mode === 'DISABLE') return this.#refuse(socket, port, mode, `TLS connection refused: mTLS is disabled on port ${port}${policy}`);
      if (kind === 'tls') {
        if (!this.#tls) return this.#refuse(socket, port, mode, 'TLS connection refused: this server has no workload certificate (pass certs or createMesh({ certs }))');
        // The TLS server replays the sniffed bytes itself and takes the socket as is.
        this.#tls.injectConnection(socket);
      } else if (kind === 'h2c') {
        this.#plain.injectConnection(replaying(socket));
      } else {
        this.#refuse(socket, port, mode, 'connection refused: gRPC needs HTTP/2, the client spoke HTTP/1');
      }
    });
  }

  #refuse(socket: Socket, port: number, mode: MtlsMode, reason: string): void {
    const info: RefusedConnection = { remoteAddress: socket.remoteAddress, port, mode, reason };
    this.#opts.mesh.logger.warn({ remoteAddress: info.remoteAddress, port, mode }, reason);
    this.emit('refused', info);
    // Envoy resets such a connection; so do we.
    socket.destroy();
  }

  #authorizationInterceptor(): ServerInterceptor {
    return (method, call) => {
      const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
        start: (next) => {
          next(new ServerListenerBuilder().withOnReceiveMetadata((metadata, proceed) => {
            const decision = this.authorize(method.path, metadata, call);
            if (decision.allowed) {
              proceed(metadata);
              return;
            }
            this.emit('denied', { path: method.path, decision });
            intercepted.sendStatus({ code: Status.PERMISSION_DENIED, details: 'RBAC: access denied', metadata: new Metadata() });
          }).build());
        },
      });
      return intercepted;
    };
  }

  /** The AuthorizationPolicy decision for a call that reached this server (gRPC: POST <path>). */
  authorize(path: string, metadata: Metadata, call: InterceptedCall): AuthzDecision {
    const mesh = this.#opts.mesh;
    if (this.#authz.version !== mesh.policies.version) {
      const id = mesh.identity;
      this.#authz = { version: mesh.policies.version, policies: applicablePolicies(mesh.policies.authorizationPolicies, { namespace: id.namespace, labels: id.labels }, id.rootNamespace) };
    }
    const headers: Record<string, string | string[]> = { 'content-type': 'application/grpc' };
    for (const [k, v] of Object.entries(metadata.toJSON())) {
      const strings = v.filter((x): x is string => typeof x === 'string');
      if (strings.length) headers[k] = strings.length === 1 ? strings[0]! : strings;
    }
    const conn = call.getConnectionInfo();
    return authorize(this.#authz.policies, {
      peerIdentity: peerIdentity(call),
      sourceIp: conn.remoteAddress,
      method: 'POST',
      path,
      host: call.getHost(),
      port: this.#opts.port ?? conn.localPort ?? 0,
      headers,
    });
  }
}

/** A grpc-js server that speaks mesh mTLS as PeerAuthentication says, with AuthorizationPolicy enforced. */
export function createMeshGrpcServer(opts: MeshServerOptions): MeshGrpcServer {
  return new MeshGrpcServer(opts);
}
