// Server side of mesh mTLS: terminate the caller's mTLS with the workload certificate, follow
// PeerAuthentication, tell handlers who called, and enforce AuthorizationPolicy — what the
// inbound half of an Istio sidecar does, inside the process.
//
// One listening socket serves every mode, as the sidecar's inbound listener does with its TLS
// inspector: the first bytes of each connection say whether it is TLS (a ClientHello starts with
// 0x16), HTTP/2 prior knowledge ("PRI * HTTP/2.0") or HTTP/1. The mTLS mode for the connection's
// port then decides: STRICT refuses plaintext, DISABLE refuses TLS, PERMISSIVE takes both. The
// mode and the authorization rules come from the server's inbound listener in xDS mode, else
// from PeerAuthentication (workload > namespace > root namespace, oldest first, port-level last)
// and AuthorizationPolicy (core server/server-policy.ts). TLS connections must present a
// client certificate that chains to the mesh root. Before any filter runs, the request target
// is normalized as the sidecar's connection manager does (core security/request-target.ts,
// Istio's pathNormalization): absolute-form, fragments, dot segments, escapes, and methods that
// are not uppercase tokens; the handler is handed the same normalized path (req.url), so the
// policy and the application never read different paths. Policies are read per connection and per
// request, so edits apply without a restart; rotated certificates apply to new handshakes while
// open connections keep theirs. A caller whose SPIFFE ID is outside the mesh's trust domains
// (MeshConfig trustDomain, trustDomainAliases) is refused as Envoy's SPIFFE validator refuses it.
// A Sidecar's ingress side applies too (core server/sidecar-ingress.ts): listening at an
// ingress listener's defaultEndpoint means listening at its port, and the inbound connection
// pool limits connections and requests (core server/inbound-limits.ts).
//
// TLS is terminated by a plain tls.Server (which never listens) rather than node:https or
// node:http2's secure server because of ALPN: an Envoy sidecar client offers only Istio's protocols ("istio-http/1.1", "istio",
// "istio-h2"), which Node's servers reject ("no application protocol"), and node:http2 would
// take any negotiated name but "http/1.1" for HTTP/2. The ALPN callback accepts Istio's names,
// and the connection then goes to the HTTP/1 or HTTP/2 server by what was negotiated.

import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { CertWatcher, CertificateError, istioCertPaths, spiffeIdOf } from '@meshlet/core/adapter';
import type { AuthzDecision, AuthzRequest, ConnectionKey, InboundConnections, JwtResult, Mesh, MtlsMode, PathNormalization, RbacFilter, RequestEdits, ServerPolicy, VersionedMaterial } from '@meshlet/core';

/**
 * What serving needs beyond construction, loaded by listen(): the policy (PeerAuthentication,
 * AuthorizationPolicy, RequestAuthentication, the inbound listener), the connection limits and
 * the request-target checks. They come from the main '@meshlet/core' entry when the first server
 * listens, not at import: a client-only user of @meshlet/http does not load the server side of
 * core, and whoever made the Mesh has that entry loaded already.
 */
interface Serving {
  readonly core: typeof import('@meshlet/core');
  readonly policy: ServerPolicy;
  readonly limits: InboundConnections;
}

export type MeshServerRequest = IncomingMessage | Http2ServerRequest;
export type MeshServerResponse = ServerResponse | Http2ServerResponse;
export type MeshRequestListener = (req: MeshServerRequest, res: MeshServerResponse) => void;

export interface MeshServerOptions {
  mesh: Mesh;
  /** Workload certificates in istio-agent's layout; default: the mesh's provider "default" (createMesh({ certs })). */
  certs?: string;
  /** The workload port PeerAuthentication port-level rules name; default: each connection's local port. */
  port?: number;
  /** 'http1' serves HTTP/1.1 (node:https / node:http); 'http2' serves h2 and HTTP/1.1 over TLS, h2c and HTTP/1.1 in plaintext. */
  protocol?: 'http1' | 'http2';
  /** Enforce RequestAuthentication (JWT) and AuthorizationPolicy (default true). */
  authorization?: boolean;
  /**
   * RBAC filters in force from elsewhere (translateRbacFilter). When it returns filters they
   * decide instead of the xDS inbound listener or the mesh's AuthorizationPolicy objects.
   * Not needed in xDS mode: listen() follows the server's inbound listener by itself.
   */
  rbac?: () => readonly RbacFilter[] | undefined;
  /** The mTLS mode of a port from elsewhere; undefined falls back to the inbound listener or PeerAuthentication. */
  mtls?: (port: number) => MtlsMode | undefined;
  /** Path normalization before authentication, authorization and the handler; default the mesh's (createMesh({ pathNormalization }), else the MeshConfig's pathNormalization, BASE). */
  pathNormalization?: PathNormalization;
}

/** A request refused before any policy or handler saw it ('rejected' event). */
export interface RejectedRequest {
  readonly method: string | undefined;
  readonly target: string | undefined;
  readonly status: 400 | 404;
  readonly reason: string;
}

export interface RefusedConnection {
  readonly remoteAddress: string | undefined;
  readonly port: number;
  readonly mode: MtlsMode;
  readonly reason: string;
}

const PEER = Symbol('meshlet.peerIdentity');

/** The caller's SPIFFE ID, when it connected over mesh mTLS; undefined for plaintext callers. */
export function peerIdentity(req: MeshServerRequest): string | undefined {
  const socket = req.socket as (Socket & { [PEER]?: string; getPeerCertificate?: TLSSocket['getPeerCertificate'] }) | null;
  if (!socket) return undefined;
  const cached = socket[PEER];
  if (cached !== undefined) return cached || undefined;
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  return cert ? spiffeIdOf(cert.subjectaltname) : undefined;
}

/** A request answered 503 because the Sidecar's inbound http2MaxRequests was reached ('overflow' event). */
export interface OverflowedRequest {
  readonly req: MeshServerRequest;
  readonly reason: string;
}

/**
 * Events: 'refused' (RefusedConnection) when a connection breaks the mTLS mode, the mesh's
 * trust domains or the Sidecar's connection limit, 'rejected' (RejectedRequest) when a request
 * target or method is refused before any filter, 'overflow' (OverflowedRequest) when a request
 * is over the Sidecar's request limit,
 * 'unauthenticated' ({ req, status, message }) when RequestAuthentication refuses a token,
 * 'denied' ({ req, decision }) when AuthorizationPolicy denies a request, 'tlsClientError' (err)
 * for failed handshakes (no or untrusted client certificate).
 */
export class MeshServer extends EventEmitter {
  readonly server: NetServer;
  readonly #opts: MeshServerOptions;
  readonly #certs: CertWatcher | undefined;
  readonly #ownsCerts: boolean;
  /** TLS termination only (it never listens); undefined without a workload certificate: TLS is refused. */
  readonly #tls: TlsServer | undefined;
  readonly #plain: HttpServer;
  readonly #h2c: Http2Server | undefined;
  readonly #sockets = new Set<Socket>();
  #serving: Serving | undefined;
  #unwatch: (() => void) | undefined;

  constructor(opts: MeshServerOptions, listener: MeshRequestListener) {
    super();
    this.#opts = opts;
    this.#ownsCerts = opts.certs !== undefined;
    this.#certs = opts.certs !== undefined
      ? new CertWatcher(istioCertPaths(opts.certs), { logger: opts.mesh.logger, name: `server certificates ${opts.certs}` })
      : opts.mesh.credentials.provider('default');
    const handle = (req: MeshServerRequest, res: MeshServerResponse) => this.#handle(req, res, listener);
    const http2 = opts.protocol === 'http2';
    let material: VersionedMaterial | undefined;
    if (this.#certs) {
      // Fail at start-up, not on the first caller, when the certificates are unusable.
      material = this.#certs.current;
      if (!material.cert || !material.key || !material.ca) throw new CertificateError(`server certificates need cert-chain.pem, key.pem and root-cert.pem (${this.#certs.paths.certificateChain})`);
    }
    if (material) {
      const tls = process.getBuiltinModule('node:tls').createServer({
        key: material.key!, cert: material.cert!, ca: material.ca!,
        // The client certificate is required and checked on secureConnection rather than by
        // OpenSSL, so a refusal is logged with its reason (expired, unknown root, none).
        requestCert: true,
        rejectUnauthorized: false,
        ALPNCallback: ({ protocols }) => chooseAlpn(protocols, http2),
      });
      tls.on('secureConnection', (s: TLSSocket) => this.#secured(s));
      tls.on('tlsClientError', (err: Error) => this.emit('tlsClientError', err));
      this.#unwatch = this.#certs!.onChange((m) => {
        if (m.key && m.cert && m.ca) tls.setSecureContext({ key: m.key, cert: m.cert, ca: m.ca });
      });
      this.#tls = tls;
    }
    // The server modules are loaded here, not imported: a client-only user of @meshlet/http does
    // not pay for them at start-up, and an ESM import of node:http would cost ~100 ms more
    // (see node/mesh-http-agent.ts).
    this.#plain = process.getBuiltinModule('node:http').createServer(handle);
    // HTTP/2 over TLS and h2c both end up here: the session runs on whatever stream it is given.
    this.#h2c = http2 ? process.getBuiltinModule('node:http2').createServer(handle) : undefined;
    this.server = createNetServer({ pauseOnConnect: true }, (socket) => this.#route(socket));
  }

  /**
   * Listens on 127.0.0.1:0 unless told otherwise; resolves with the port. In xDS mode it then
   * subscribes to this address's inbound listener and resolves once the control plane has
   * answered (or its initial fetch timed out): until then connections are refused. host:port
   * that is the defaultEndpoint of a Sidecar ingress listener means that listener's port (and
   * bind): the traffic a sidecar took there and handed on arrives here directly.
   */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    if (!this.#serving) {
      const core = await import('@meshlet/core');
      const policy = new core.ServerPolicy(this.#opts);
      const limits = new core.InboundConnections(new core.InboundGate((p) => policy.inboundLimits(p)), endConnection);
      this.#serving ??= { core, policy, limits };
    }
    const { policy } = this.#serving;
    const ingress = port === 0 ? undefined : policy.ingressAddress(host, port);
    if (ingress) {
      this.#opts.mesh.logger.info({ requested: `${host}:${port}`, listening: `${ingress.host}:${ingress.port}` }, ingress.reason);
      host = ingress.host;
      port = ingress.port;
    }
    const bound = await new Promise<number>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
    try {
      await policy.attach(host, bound);
    } catch (err) {
      this.server.close();
      throw err;
    }
    return bound;
  }

  /** The xDS inbound listener this server follows, once listening in xDS mode. */
  get inboundListener(): string | undefined {
    return this.#serving?.policy.listener;
  }

  async close(): Promise<void> {
    this.#unwatch?.();
    this.#serving?.policy.close();
    if (this.#ownsCerts) this.#certs?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    this.#plain.closeAllConnections();
    await closed;
  }

  /** The mTLS mode in force for a port (the xDS inbound listener, else PeerAuthentication) and what set it; after listen(). */
  mtlsMode(port: number): { mode: MtlsMode; source: string | undefined } {
    return this.#listening().policy.mtlsMode(port);
  }

  /** The policy and limits loaded by listen(); connections only arrive after it. */
  #listening(): Serving {
    if (!this.#serving) throw new Error('MeshServer: call listen() first (it loads the server policy)');
    return this.#serving;
  }

  #route(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => { /* a peer that resets mid-handshake; nothing to do */ });
    const port = this.#opts.port ?? socket.localPort ?? 0;
    if (!this.#serving) {
      // `server.listen()` called on the net server directly skips the policy load: refuse the
      // connection rather than serve it unchecked or throw out of a 'connection' event.
      this.#opts.mesh.logger.error({ port }, 'MeshServer: connection refused: the server was started without MeshServer.listen(), which loads its policy');
      socket.destroy();
      return;
    }
    const { core, policy, limits } = this.#serving;
    const overLimit = limits.accept(socket, port);
    if (overLimit) return this.#refuse(socket, port, policy.mtlsMode(port).mode, overLimit);
    core.sniff(socket, (kind) => {
      const { mode, refusal } = policy.admit(port, kind === 'tls');
      if (refusal) return this.#refuse(socket, port, mode, refusal);
      if (kind === 'tls') {
        if (!this.#tls) return this.#refuse(socket, port, mode, 'TLS connection refused: this server has no workload certificate (pass certs or createMesh({ certs }))');
        // The TLS socket takes over the connection's handle and replays the sniffed bytes itself.
        this.#tls.emit('connection', socket);
      } else if (kind === 'h2c' && this.#h2c) {
        this.#h2c.emit('connection', core.replaying(socket));
      } else {
        this.#plain.emit('connection', socket);
        socket.resume();
      }
    });
  }

  // Runs in the same tick as the handshake's end, before any request is parsed.
  #secured(tls: TLSSocket): void {
    const port = this.#opts.port ?? tls.localPort ?? 0;
    if (!tls.authorized) {
      const why = tls.authorizationError ? String(tls.authorizationError) : 'no client certificate';
      this.#refuse(tls, port, this.mtlsMode(port).mode, `mTLS client certificate rejected: ${why}`);
      return;
    }
    const peer = spiffeIdOf(tls.getPeerCertificate().subjectaltname);
    const foreign = this.#listening().policy.peerIdentityProblem(peer);
    if (foreign) {
      this.#refuse(tls, port, this.mtlsMode(port).mode, `mTLS client certificate rejected: ${foreign}`);
      return;
    }
    (tls as TLSSocket & { [PEER]?: string })[PEER] = peer ?? '';
    const h2 = tls.alpnProtocol === 'h2' || tls.alpnProtocol === 'istio-h2';
    if (h2 && this.#h2c) this.#h2c.emit('connection', tls);
    else this.#plain.emit('connection', tls);
  }

  #refuse(socket: Socket, port: number, mode: MtlsMode, reason: string): void {
    const info: RefusedConnection = { remoteAddress: socket.remoteAddress, port, mode, reason };
    this.#opts.mesh.logger.warn({ remoteAddress: info.remoteAddress, port, mode }, reason);
    this.emit('refused', info);
    // Envoy resets such a connection; so do we.
    socket.destroy();
  }

  #handle(req: MeshServerRequest, res: MeshServerResponse, listener: MeshRequestListener): void {
    const socket = req.socket as TLSSocket | null;
    if (socket?.encrypted && !socket.authorized) {
      // Never reached while secureConnection refuses such sockets; kept so a change there
      // cannot let an unauthenticated TLS caller through.
      socket.destroy();
      return;
    }
    if (!this.#normalize(req, res)) return;
    if (this.#opts.authorization === false) {
      this.#serve(req, res, listener);
      return;
    }
    // One view of the request for both filters, as Envoy's jwt_authn and RBAC read the same headers.
    const request = this.#requestView(req);
    const authn = this.#listening().policy.authenticate(request);
    if (!authn) {
      this.#authorizeThenServe(req, res, request, listener);
      return;
    }
    authn.then((r) => this.#authenticated(req, res, request, r, listener), (err: unknown) => {
      this.#opts.mesh.logger.error({ error: String(err) }, 'JWT authentication failed unexpectedly');
      if (!res.headersSent) (res as ServerResponse).writeHead(500, { 'content-type': 'text/plain' });
      res.end('JWT authentication error');
    });
  }

  #authenticated(req: MeshServerRequest, res: MeshServerResponse, request: AuthzRequest, r: JwtResult, listener: MeshRequestListener): void {
    if (!r.ok) {
      this.emit('unauthenticated', { req, status: r.status, message: r.message });
      // Envoy's jwt_authn local reply: the status text, and where to authenticate.
      (res as ServerResponse).writeHead(r.httpStatus, { 'content-type': 'text/plain', 'www-authenticate': this.#listening().core.wwwAuthenticate(r.status, originalUri(req, request)) });
      res.end(r.message);
      return;
    }
    applyEdits(req, r.edits);
    this.#authorizeThenServe(req, res, { ...request, jwt: r.payload }, listener);
  }

  #authorizeThenServe(req: MeshServerRequest, res: MeshServerResponse, request: AuthzRequest, listener: MeshRequestListener): void {
    const decision = this.#listening().policy.authorize(request);
    if (!decision.allowed) {
      this.emit('denied', { req, decision });
      // Envoy's RBAC filter answers exactly this.
      (res as ServerResponse).writeHead(403, { 'content-type': 'text/plain' });
      (res as ServerResponse).end('RBAC: access denied');
      return;
    }
    this.#serve(req, res, listener);
  }

  /**
   * Hands the request to the handler under the Sidecar's inbound request limits — where Envoy's
   * router meets the inbound cluster's max_requests, after every filter.
   */
  #serve(req: MeshServerRequest, res: MeshServerResponse, listener: MeshRequestListener): void {
    const port = this.#opts.port ?? req.socket?.localPort ?? 0;
    const admitted = this.#listening().limits.request(connectionOf(req), port);
    if (typeof admitted === 'string') {
      this.emit('overflow', { req, reason: admitted } satisfies OverflowedRequest);
      this.#opts.mesh.logger.debug({ port }, admitted);
      // What Envoy's inbound cluster answers over its max_requests.
      (res as ServerResponse).writeHead(503, { 'content-type': 'text/plain', 'x-envoy-overloaded': 'true' });
      res.end('upstream connect error or disconnect/reset before headers. reset reason: overflow');
      return;
    }
    if (admitted.last && req.httpVersionMajor === 1) (res as ServerResponse).setHeader('connection', 'close');
    res.once('close', admitted.release);
    listener(req, res);
  }

  /**
   * Normalizes the request in place (req.url, and Host for an absolute-form target), as the
   * sidecar forwards it; answers 400/404 and returns false when Envoy would refuse it.
   */
  #normalize(req: MeshServerRequest, res: MeshServerResponse): boolean {
    const method = req.method ?? '';
    const target = req.url ?? '';
    const reject = (status: 400 | 404, reason: string) => {
      const info: RejectedRequest = { method: req.method, target: req.url, status, reason };
      this.#opts.mesh.logger.debug({ method, target, status }, reason);
      this.emit('rejected', info);
      (res as ServerResponse).writeHead(status, { 'content-length': '0' });
      (res as ServerResponse).end();
      return false;
    };
    const { core } = this.#listening();
    const bad = core.methodProblem(method);
    if (bad) return reject(400, bad);
    const http1 = req.httpVersionMajor === 1;
    const r = core.normalizeRequestTarget(target, this.#opts.pathNormalization ?? this.#opts.mesh.pathNormalization, http1);
    if (!r.ok) return reject(r.status, r.reason);
    const url = r.path + r.query;
    if (url !== target) req.url = url;
    // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host.
    if (r.host !== undefined && http1) req.headers.host = r.host;
    return true;
  }

  /** The AuthorizationPolicy decision for a request that reached this server, with the JWT payload RequestAuthentication verified (if any); after listen(). */
  authorize(req: MeshServerRequest, jwt?: Readonly<Record<string, unknown>>): AuthzDecision {
    return this.#listening().policy.authorize({ ...this.#requestView(req), jwt });
  }

  #requestView(req: MeshServerRequest): AuthzRequest {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const headers = req.headers as Record<string, string | string[] | undefined>;
    return {
      peerIdentity: peerIdentity(req),
      sourceIp: req.socket?.remoteAddress,
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? undefined : url.slice(q + 1),
      host: String(headers[':authority'] ?? headers['host'] ?? ''),
      port: this.#opts.port ?? req.socket?.localPort ?? 0,
      headers,
    };
  }
}

/** The URL Envoy names as the realm of a 401: scheme, host and path (no query), the path cut at 256 characters. */
function originalUri(req: MeshServerRequest, request: AuthzRequest): string {
  const forwarded = request.headers['x-forwarded-proto'];
  const scheme = typeof forwarded === 'string' ? forwarded : (req.socket as TLSSocket | null)?.encrypted ? 'https' : 'http';
  return `${scheme}://${request.host}${request.path.slice(0, 256)}`;
}

/** What jwt_authn changes in the request the handler sees: the token removed unless forwarded, payload and claim headers set. */
function applyEdits(req: MeshServerRequest, edits: RequestEdits): void {
  const headers = req.headers as Record<string, string | string[] | undefined>;
  const touched = new Set([...edits.removeHeaders, ...Object.keys(edits.setHeaders)]);
  if (touched.size > 0) {
    for (const h of edits.removeHeaders) delete headers[h];
    Object.assign(headers, edits.setHeaders);
    // Keep rawHeaders in step, for handlers (and frameworks) that read those.
    const raw = req.rawHeaders;
    const kept: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) if (!touched.has(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
    for (const [k, v] of Object.entries(edits.setHeaders)) kept.push(k, v);
    raw.splice(0, raw.length, ...kept);
  }
  if (edits.removeParams.length > 0 && req.url) {
    const q = req.url.indexOf('?');
    if (q >= 0) {
      const params = new URLSearchParams(req.url.slice(q + 1));
      for (const p of edits.removeParams) params.delete(p);
      const rest = params.toString();
      req.url = req.url.slice(0, q) + (rest ? `?${rest}` : '');
    }
  }
}

/**
 * The ALPN protocol to answer with, from what the client offers: HTTP/2 when this server speaks
 * it, else HTTP/1.1 — under its own name or Istio's (a sidecar offers "istio-http/1.1" and
 * "istio"; "istio" alone is a sidecar's TCP proxy carrying whatever the app speaks). Undefined
 * (a fatal alert) when nothing offered can be served.
 */
function chooseAlpn(offered: readonly string[], http2: boolean): string | undefined {
  const order = http2 ? ['h2', 'istio-h2', 'http/1.1', 'istio-http/1.1', 'istio', 'http/1.0', 'istio-http/1.0'] : ['http/1.1', 'istio-http/1.1', 'istio', 'http/1.0', 'istio-http/1.0'];
  return order.find((p) => offered.includes(p));
}

/** The connection a request came on, as the limits count it: its HTTP/2 session, else its socket. */
function connectionOf(req: MeshServerRequest): ConnectionKey | undefined {
  return (req as Http2ServerRequest).stream?.session ?? req.socket ?? undefined;
}

/** Closes a connection once its requests are done: GOAWAY for HTTP/2, FIN for HTTP/1. */
function endConnection(key: ConnectionKey): void {
  const session = key as Partial<Http2Session>;
  if (typeof session.goaway === 'function' && typeof session.close === 'function') session.close();
  else (key as Socket).end();
}

/** A server that speaks mesh mTLS as PeerAuthentication says, with AuthorizationPolicy enforced. */
export function createMeshServer(opts: MeshServerOptions, listener: MeshRequestListener): MeshServer {
  return new MeshServer(opts, listener);
}
