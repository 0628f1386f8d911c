// What one server helper (createMeshServer in @meshlet/http, bindMesh in @meshlet/grpc)
// enforces, from whichever source is in force, first match wins:
//   1. functions the caller passed (`mtls`, `rbac`), for policy from elsewhere;
//   2. in xDS mode, the server's own inbound listener (security/inbound-policy.ts), once
//      attach() has named the listening address — until it has arrived, or while the control
//      plane has none, nothing is served;
//   3. the mesh's PeerAuthentication and AuthorizationPolicy objects (embedded mode).
// Both are read per connection (mTLS mode) and per request (authorization), so an update
// applies to the next one without a restart.
//
// JWT (RequestAuthentication, embedded mode) runs before authorization, as Envoy's jwt_authn
// filter runs before RBAC: authenticate() says whether a token present is valid and returns its
// payload, which the request then carries into authorize(). Its keys are fetched as soon as the
// policies name them (on every config update), not on the first request.

import type { Mesh } from '../mesh.ts';
import type { AuthorizationPolicy } from '../istio/types.ts';
import { applicablePolicies, authorize, type AuthzDecision, type AuthzRequest } from '../security/authorization-policy.ts';
import { migrateTrustDomain, peerTrustDomainProblem } from '../security/trust-domain.ts';
import { selectSidecar } from '../istio/compile/common/sidecar-scope.ts';
import { inboundConnectionPool, ingressForEndpoint, type IngressAddress } from './sidecar-ingress.ts';
import { inboundLimits, type InboundLimits } from './inbound-limits.ts';
import type { Sidecar } from '../istio/types.ts';
import type { InboundPolicyWatch } from '../security/inbound-policy.ts';
import { mtlsModeForPort, peerAuthenticationFor, type MtlsMode } from '../security/peer-authentication.ts';
import { evaluateRbac, type RbacFilter } from '../security/rbac.ts';
import { applicableRequestAuthentications, compileJwtAuthn } from '../security/jwt/jwt-config.ts';
import { JwtAuthenticator, type JwtRequestView, type JwtResult } from '../security/jwt/jwt-authn.ts';

export interface ServerPolicySources {
  mesh: Mesh;
  /** RBAC filters in force from elsewhere; when it returns filters they decide. */
  rbac?: (() => readonly RbacFilter[] | undefined) | undefined;
  /** The mTLS mode of a port from elsewhere; undefined falls through to the next source. */
  mtls?: ((port: number) => MtlsMode | undefined) | undefined;
}

const XDS_INBOUND = 'xDS inbound listener';

export class ServerPolicy {
  readonly #opts: ServerPolicySources;
  #watch: InboundPolicyWatch | undefined;
  #authz: { version: number; policies: AuthorizationPolicy[] } = { version: -1, policies: [] };
  #jwt: { version: number; authenticator: JwtAuthenticator | undefined } = { version: -1, authenticator: undefined };
  #xdsJwt: JwtAuthenticator | undefined;
  #sidecar: { version: number; sidecar: Sidecar | undefined; limits: Map<number, InboundLimits | undefined> } = { version: -1, sidecar: undefined, limits: new Map() };
  readonly #unsubscribe: () => void;

  constructor(opts: ServerPolicySources) {
    this.#opts = opts;
    this.#refreshJwt();
    this.#unsubscribe = opts.mesh.subscribe(() => this.#refreshJwt());
  }

  get mesh(): Mesh {
    return this.#opts.mesh;
  }

  /** The inbound listener followed, if any. */
  get listener(): string | undefined {
    return this.#watch?.listener;
  }

  /**
   * Once listening on host:port: in xDS mode, subscribes to the server's inbound listener and
   * waits (bounded by the initial fetch timeout) for the control plane's answer — or, with
   * `untilServing` (gRFC A36, before listening), until the listener is serving, however long
   * that takes, or the policy is closed. A no-op in embedded mode.
   */
  async attach(host: string, port: number, untilServing = false): Promise<void> {
    if (this.#watch) return;
    this.#watch = this.#opts.mesh.watchInboundPolicy(host, port);
    await (untilServing ? this.#watch?.untilServing() : this.#watch?.ready);
  }

  /** Whether connections may be served now (always, unless an xDS inbound listener says not). */
  get serving(): boolean {
    return this.#notServing() === undefined;
  }

  /** Why no connection may be served now (the xDS inbound listener is pending, absent or rejected); undefined when serving. */
  #notServing(): string | undefined {
    const s = this.#watch?.current();
    return s?.status === 'not-serving' ? `not serving: ${s.reason}` : undefined;
  }

  /** The mTLS mode for a port, and what set it (for messages; undefined: the PERMISSIVE default). */
  mtlsMode(port: number): { mode: MtlsMode; source: string | undefined } {
    const given = this.#opts.mtls?.(port);
    if (given) return { mode: given, source: 'the mtls option' };
    const s = this.#watch?.current();
    if (s?.status === 'serving') return { mode: s.policy.mtls, source: `${XDS_INBOUND} ${s.listener}` };
    const mesh = this.#opts.mesh;
    const id = mesh.identity;
    const policy = peerAuthenticationFor(mesh.policies.peerAuthentications, { namespace: id.namespace, labels: id.labels }, id.rootNamespace);
    return { mode: mtlsModeForPort(policy, port), source: policy.from.length ? `PeerAuthentication ${policy.from.join(' > ')}` : undefined };
  }

  /**
   * Whether a new connection on `port` may go on, by what its first bytes said (TLS or not):
   * the mode in force, and the reason to refuse it when it may not — not serving, plaintext on
   * a STRICT port, TLS on a DISABLE port.
   */
  admit(port: number, tls: boolean): { mode: MtlsMode; refusal: string | undefined } {
    const { mode, source } = this.mtlsMode(port);
    const notServing = this.#notServing();
    if (notServing) return { mode, refusal: notServing };
    const by = source ? ` (${source})` : '';
    if (!tls && mode === 'STRICT') return { mode, refusal: `plaintext connection refused: port ${port} requires mTLS${by}` };
    if (tls && mode === 'DISABLE') return { mode, refusal: `TLS connection refused: mTLS is disabled on port ${port}${by}` };
    return { mode, refusal: undefined };
  }

  /**
   * JWT authentication for one request, before authorize(): undefined when no RequestAuthentication
   * applies (nothing to do), else the verdict — a refusal (401, or 403 for a wrong audience) or
   * the verified payload and the header edits to make. In xDS mode the inbound listener's
   * jwt_authn filter decides (istiod's sidecar generator writes one; its proxyless generator
   * sends none, and then nothing is checked).
   */
  authenticate(request: JwtRequestView): Promise<JwtResult> | undefined {
    if (this.#opts.rbac) return undefined;
    if (this.#watch) {
      const s = this.#watch.current();
      if (s.status !== 'serving' || !s.policy.jwt) return undefined;
      if (this.#xdsJwt?.config !== s.policy.jwt) {
        // A new listener version: hold its key sources, then let the previous ones go.
        const previous = this.#xdsJwt;
        this.#xdsJwt = new JwtAuthenticator(s.policy.jwt, this.#opts.mesh.jwks);
        previous?.release();
      }
      return this.#xdsJwt.authenticate(request);
    }
    this.#refreshJwt();
    return this.#jwt.authenticator?.authenticate(request);
  }

  /** Recompiles the JWT config when the mesh's policies changed; the previous key sources are released after the new ones are held. */
  #refreshJwt(): void {
    const mesh = this.#opts.mesh;
    if (this.#jwt.version === mesh.policies.version) return;
    const id = mesh.identity;
    const config = compileJwtAuthn(applicableRequestAuthentications(mesh.policies.requestAuthentications, { namespace: id.namespace, labels: id.labels }, id.rootNamespace));
    const previous = this.#jwt.authenticator;
    this.#jwt = { version: mesh.policies.version, authenticator: config && new JwtAuthenticator(config, mesh.jwks) };
    previous?.release();
  }

  /** The Sidecar that applies to this workload (embedded mode): its ingress and inbound pool shape the server. */
  sidecar(): Sidecar | undefined {
    return this.#sidecarState().sidecar;
  }

  /** Where to listen when asked for host:port: the Sidecar ingress listener whose defaultEndpoint that is, if any. */
  ingressAddress(host: string, port: number | string): IngressAddress | undefined {
    return ingressForEndpoint(this.sidecar(), host, port);
  }

  /** The Sidecar's inbound connection limits for a port (ingress connectionPool, else inboundConnectionPool). */
  inboundLimits(port: number): InboundLimits | undefined {
    const st = this.#sidecarState();
    if (!st.limits.has(port)) {
      const p = inboundConnectionPool(st.sidecar, port);
      st.limits.set(port, p && inboundLimits(p.pool, p.source));
    }
    return st.limits.get(port);
  }

  #sidecarState(): { sidecar: Sidecar | undefined; limits: Map<number, InboundLimits | undefined> } {
    const mesh = this.#opts.mesh;
    if (this.#sidecar.version !== mesh.policies.version) {
      this.#sidecar = { version: mesh.policies.version, sidecar: selectSidecar(mesh.policies.sidecars, mesh.identity), limits: new Map() };
    }
    return this.#sidecar;
  }

  /** Why a caller's certificate identity is refused: its trust domain is not the mesh's (MeshConfig trustDomain, trustDomainAliases). */
  peerIdentityProblem(spiffeId: string | undefined): string | undefined {
    return peerTrustDomainProblem(spiffeId, this.#opts.mesh.meshConfig);
  }

  /** The decision for one request: DENY first, then ALLOW if any applies. */
  authorize(request: AuthzRequest): AuthzDecision {
    const given = this.#opts.rbac?.();
    if (given) return evaluateRbac(given, request);
    const s = this.#watch?.current();
    if (s?.status === 'serving') return evaluateRbac(s.policy.rbac, request);
    // Not serving: connections are refused before any request; deny one that got through anyway.
    if (s) return { allowed: false, policy: undefined, reason: `not serving: ${s.reason}` };
    const mesh = this.#opts.mesh;
    if (this.#authz.version !== mesh.policies.version) {
      const id = mesh.identity;
      // Principals stand for the same identity in every trust domain of the mesh (MeshConfig aliases).
      const policies = applicablePolicies(mesh.policies.authorizationPolicies, { namespace: id.namespace, labels: id.labels }, id.rootNamespace);
      this.#authz = { version: mesh.policies.version, policies: migrateTrustDomain(policies, mesh.meshConfig) };
    }
    return authorize(this.#authz.policies, request);
  }

  close(): void {
    this.#unsubscribe();
    this.#jwt.authenticator?.release();
    this.#jwt = { version: -1, authenticator: undefined };
    this.#xdsJwt?.release();
    this.#xdsJwt = undefined;
    this.#watch?.close();
    this.#watch = undefined;
  }
}
