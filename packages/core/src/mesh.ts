// The Mesh: one process's view of the service mesh. A config source (CRD files, or an xDS
// client) hands it complete resource sets; it builds the next immutable MeshSnapshot and swaps
// it in whole, then tells the adapters. Requests read `mesh.snapshot` once and use only that.

import type { XdsResources } from './xds/resources.ts';
import { buildSnapshot, buildSteps, type BuildResult } from './snapshot/build-snapshot.ts';
import { ClusterRuntimeRegistry } from './snapshot/cluster-runtime.ts';
import { BreakerGroup, type BreakerOptions } from './resilience/error-rate-breaker.ts';
import type { MeshSnapshot } from './snapshot/mesh-snapshot.ts';
import type { ClientScope } from './router/service-lookup.ts';
import { decide, hostRoute, type Decision, type HostRoute } from './router/decide.ts';
import { requestView, type HeaderRecord, type RequestView } from './router/request-view.ts';
import { explainDecision, type Explanation } from './explain.ts';
import { defaultLogger, type Logger } from './logger.ts';
import type { MeshTelemetry } from './telemetry/mesh-telemetry.ts';
import { clientStatus, type ClientStatusResponse } from './xds/client-status.ts';

/**
 * 'enforce' (default): requests follow the mesh. 'observe': every decision is computed and
 * recorded (spans, metrics, logs) but requests go out as if Meshlet were absent, so a team can
 * compare before switching on.
 */
export type MeshMode = 'enforce' | 'observe';

export interface MeshRuntimeOptions {
  /** The MeshConfig settings in force at start (createMesh({ meshConfig })); config sources replace them. */
  meshConfig?: MeshSettings;
  breaker?: BreakerOptions;
  /** JWKS fetching for RequestAuthentication (refresh interval). */
  jwks?: JwksCacheOptions;
  telemetry?: MeshTelemetry;
  mode?: MeshMode;
  /** The server helpers' path normalization over the MeshConfig's pathNormalization (default: the MeshConfig's, BASE). */
  pathNormalization?: PathNormalization;
}
import { TlsCredentials } from './security/tls-credentials.ts';
import type { InboundDemand, InboundPolicyWatch } from './security/inbound-policy.ts';
import { SecurityPolicies } from './security/security-policies.ts';
import type { PathNormalization } from './security/request-target.ts';
import { JwksCache, type JwksCacheOptions } from './security/jwt/jwks-cache.ts';
import { candidateHosts } from './router/service-lookup.ts';
import { meshSettings, type MeshSettings } from './istio/mesh-config.ts';
import type { ScopeReport } from './istio/compile/compile-mesh.ts';
import { blockedReason, outboundPolicy, type OutboundDecision } from './snapshot/outbound-policy.ts';
import { lookupService } from './router/service-lookup.ts';
import { OutboundBlockedError } from './errors.ts';
import type { ConfigDump } from './config-dump.ts';

export interface ClientIdentity extends ClientScope {
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string | undefined;
  readonly rootNamespace: string;
  readonly locality: string | undefined;
}

export interface ExplainRequest {
  method?: string;
  url: string | URL;
  headers?: Record<string, string>;
}

/** What a config source knows besides the resources: how hosts outside them are treated, and why. */
export interface ResourceContext {
  /** The outbound traffic policy (embedded mode; in xDS mode a sidecar listener carries it). */
  outbound?: OutboundDecision;
  /** The Sidecar that scoped the resources, and what it left out. */
  scope?: ScopeReport | undefined;
}

/**
 * Fetches a service's config on first use (xDS mode): resolves once the listener
 * `<fqdn>:<port>` is in the snapshot or known not to exist.
 */
export type ServiceDemand = (listenerName: string) => Promise<void>;

const EMPTY_RESOURCES: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };

export class Mesh {
  readonly #baseIdentity: ClientIdentity;
  #identity: ClientIdentity;
  #meshConfig: MeshSettings;
  #context: ResourceContext = {};
  readonly logger: Logger;
  /** Traces and metrics; undefined when @opentelemetry/api is not installed or telemetry is off. */
  readonly telemetry: MeshTelemetry | undefined;
  readonly mode: MeshMode;
  /** Certificates for mesh TLS: provider instances (createMesh({ certs }), the bootstrap) and files. */
  readonly credentials: TlsCredentials;
  /** PeerAuthentication and AuthorizationPolicy in force, for the server helpers. */
  readonly policies = new SecurityPolicies();
  readonly #pathNormalization: PathNormalization | undefined;
  /** JWT public keys for RequestAuthentication, shared by the server helpers. */
  readonly jwks: JwksCache;
  #snapshot: MeshSnapshot;
  readonly #registry: ClusterRuntimeRegistry;
  readonly #breakers: BreakerGroup | undefined;
  #subscribers = new Set<(s: MeshSnapshot) => void>();
  #closers: (() => void | Promise<void>)[] = [];
  #problems: readonly string[] = [];
  #source = 'none';
  #closed = false;
  #dumpExtensions: (() => Partial<ConfigDump>)[] = [];
  #demand: ServiceDemand | undefined;
  #inboundDemand: InboundDemand | undefined;

  constructor(identity: ClientIdentity, logger: Logger = defaultLogger, options: MeshRuntimeOptions = {}) {
    this.#baseIdentity = identity;
    this.#meshConfig = options.meshConfig ?? meshSettings(undefined, { rootNamespace: identity.rootNamespace });
    this.#identity = this.#meshConfig.rootNamespace === identity.rootNamespace ? identity : { ...identity, rootNamespace: this.#meshConfig.rootNamespace };
    this.logger = logger;
    this.telemetry = options.telemetry;
    this.mode = options.mode ?? 'enforce';
    this.#pathNormalization = options.pathNormalization;
    this.telemetry?.observe(this);
    this.credentials = new TlsCredentials(logger);
    this.jwks = new JwksCache(logger, options.jwks);
    this.#breakers = options.breaker ? new BreakerGroup(options.breaker) : undefined;
    const breakers = this.#breakers;
    this.#registry = new ClusterRuntimeRegistry(logger, breakers && ((name) => breakers.create(name)));
    this.#snapshot = buildSnapshot(EMPTY_RESOURCES, this.#registry, 0).snapshot;
  }

  /** Who this client is; `rootNamespace` follows the MeshConfig in force. */
  get identity(): ClientIdentity {
    return this.#identity;
  }

  /** The identity createMesh was given, before any MeshConfig: what config sources compile against. */
  get baseIdentity(): ClientIdentity {
    return this.#baseIdentity;
  }

  /**
   * How the server helpers normalize a request's path before authorization and the handler
   * (security/request-target.ts): createMesh({ pathNormalization }) when given, else the
   * MeshConfig's pathNormalization in force (BASE by default) — one value, followed live.
   */
  get pathNormalization(): PathNormalization {
    return this.#pathNormalization ?? this.#meshConfig.pathNormalization;
  }

  /** The MeshConfig settings in force (istiod's defaults until a MeshConfig is read). */
  get meshConfig(): MeshSettings {
    return this.#meshConfig;
  }

  /**
   * Puts a MeshConfig in force (config sources call it before applying what they compiled with
   * it). The root namespace it names becomes the identity's.
   */
  setMeshConfig(settings: MeshSettings): void {
    this.#meshConfig = settings;
    if (settings.rootNamespace !== this.#identity.rootNamespace) this.#identity = { ...this.#identity, rootNamespace: settings.rootNamespace };
  }

  /** The snapshot in force. Read it once per request. */
  get snapshot(): MeshSnapshot {
    return this.#snapshot;
  }

  /** Problems the last config update reported (rejected objects or resources), one line each. */
  get problems(): readonly string[] {
    return this.#problems;
  }

  /**
   * Builds and publishes a snapshot from a complete resource set. Resources that do not
   * translate are left out and reported; the rest applies. Returns the rejection messages.
   */
  applyResources(resources: XdsResources, source: string, problems: readonly string[] = [], context: ResourceContext = {}): string[] {
    return this.#publish(buildSnapshot(resources, this.#registry, this.#snapshot.version + 1), source, problems, context);
  }

  /**
   * applyResources as steps, for large sets: the caller runs them in slices with turns of the
   * event loop between, so requests keep being served on the snapshot in force, which is
   * replaced whole by the last step. One such build at a time (the xDS source runs them in
   * turn); one abandoned midway publishes nothing.
   */
  *applyResourcesInSteps(resources: XdsResources, source: string, problems: readonly string[] = [], context: ResourceContext = {}): Generator<void, string[]> {
    const built = yield* buildSteps(resources, this.#registry, this.#snapshot.version + 1);
    return this.#publish(built, source, problems, context);
  }

  #publish(built: BuildResult, source: string, problems: readonly string[], context: ResourceContext): string[] {
    const errors = built.errors;
    // The embedded compile's outbound policy, else the one the resources carry (sidecar profile).
    const outbound = outboundPolicy(context.outbound) ?? built.snapshot.outbound;
    const snapshot = outbound === built.snapshot.outbound ? built.snapshot : { ...built.snapshot, outbound };
    this.#snapshot = snapshot;
    this.#context = context;
    this.#source = source;
    this.#problems = [...problems, ...errors];
    for (const e of errors) this.logger.warn({ source, error: e }, 'xDS resource rejected');
    this.telemetry?.configApplied(source, errors.length);
    this.logger.info({ source, version: snapshot.version, services: snapshot.services.size, clusters: snapshot.clusters.size }, 'config applied');
    for (const fn of this.#subscribers) fn(snapshot);
    return errors;
  }

  /** Records problems found while keeping the current snapshot (a broken edit, a NACK). */
  reportProblems(problems: readonly string[]): void {
    this.#problems = problems;
  }

  /** Calls `fn` with every new snapshot; returns the unsubscribe function. */
  subscribe(fn: (s: MeshSnapshot) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /**
   * The decision for one request, read from the current snapshot. `at`: hostRoute()'s answer for
   * the request, asked in the same turn, so the service and virtual host are not looked up again.
   */
  decide(req: RequestView, host: string, port: number, at?: HostRoute): Decision {
    const d = decide(this.#snapshot, req, host, port, this.#identity, Math.random, at);
    // xDS mode: a host the snapshot does not know may simply not be subscribed yet. This
    // request passes through; asking now makes the next ones routed (adapters that can wait
    // call ensureService first).
    if (d.kind === 'passthrough' && this.#demand) void this.ensureService(host, port);
    if (d.kind === 'error' && d.error instanceof OutboundBlockedError) {
      const hidden = this.outOfScope(host);
      if (hidden) return { ...d, error: new OutboundBlockedError(`${d.error.message}; ${hidden}`) };
    }
    return d;
  }

  /**
   * Where requests to host:port under `authority` go: the service, its virtual host and, when the
   * route table decides without looking further at a request, that decision (`fixed`;
   * router/decide.ts, hostRoute). Undefined when no service of the mesh takes the host.
   */
  hostRoute(host: string, port: number, authority: string): HostRoute | undefined {
    return hostRoute(this.#snapshot, host, port, authority, this.#identity);
  }

  /**
   * For a request the adapter sends as it is (an https:// URL through MeshAgent): the error when
   * the outbound traffic policy is REGISTRY_ONLY and no service of the mesh is host:port.
   */
  outboundRefusal(host: string, port: number): OutboundBlockedError | undefined {
    const o = this.#snapshot.outbound;
    if (!o?.blocked || lookupService(this.#snapshot, host, port, this.#identity)) return undefined;
    const hidden = this.outOfScope(host);
    const reason = blockedReason(o, host, port);
    return new OutboundBlockedError(hidden ? `${reason}; ${hidden}` : reason);
  }

  /**
   * When `host` names a service of the mesh that the client's Sidecar leaves out of its scope:
   * which one, and which Sidecar (a sentence); undefined otherwise.
   */
  outOfScope(host: string): string | undefined {
    const scope = this.#context.scope;
    if (!scope || scope.outOfScope.size === 0) return undefined;
    for (const fqdn of candidateHosts(host, this.#identity)) {
      const ns = scope.outOfScope.get(fqdn);
      if (ns !== undefined) return `${fqdn} (namespace ${ns}) is out of this client's scope: Sidecar ${scope.sidecar} does not import it (egress hosts ${scope.egressHosts.join(', ')})`;
    }
    return undefined;
  }

  /**
   * Makes sure the mesh has what it needs to route `host:port`, fetching it on first use in
   * xDS mode (the listener `<fqdn>:<port>`, then its routes, clusters and endpoints). Resolves
   * true when the snapshot then routes the host, false when the control plane has no such
   * service. Immediate in embedded mode, where every service is always known.
   */
  async ensureService(host: string, port: number): Promise<boolean> {
    const scope = this.identity;
    const known = (): boolean => candidateHosts(host, scope).some((h) => this.#snapshot.services.has(`${h}:${port}`));
    if (known() || !this.#demand) return known();
    // The fully qualified candidate: `reviews` → reviews.<ns>.svc.<domain>. Listener names
    // are always FQDNs, so the short forms are never asked for.
    const candidates = candidateHosts(host, scope);
    try {
      await this.#demand(`${candidates[candidates.length - 1]}:${port}`);
    } catch (err) {
      this.logger.warn({ host, port, error: String(err) }, 'fetching service config failed');
    }
    return known();
  }

  /** True when services are fetched on first use (xDS mode): adapters await ensureService() for unknown hosts. */
  get fetchesOnDemand(): boolean {
    return this.#demand !== undefined;
  }

  /** Lets a config source fetch services on first use (see ensureService). */
  setServiceDemand(fn: ServiceDemand | undefined): void {
    this.#demand = fn;
  }

  /**
   * In xDS mode, follows the policy the control plane sends a server listening on host:port
   * (its inbound listener: mTLS mode and RBAC filters); undefined in embedded mode, where the
   * PeerAuthentication and AuthorizationPolicy objects in `policies` decide. Server helpers
   * (createMeshServer, bindMesh) call it once they are listening; close the watch with them.
   */
  watchInboundPolicy(host: string, port: number): InboundPolicyWatch | undefined {
    return this.#inboundDemand?.(host, port);
  }

  /** Lets a config source serve watchInboundPolicy. */
  setInboundDemand(fn: InboundDemand | undefined): void {
    this.#inboundDemand = fn;
  }

  /** Adds fields to configDump() (a config source's own status, e.g. `xds`). */
  extendConfigDump(fn: () => Partial<ConfigDump>): void {
    this.#dumpExtensions.push(fn);
  }

  /** What would happen to this request, without sending it. */
  explain(req: ExplainRequest): Explanation {
    const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
    const method = (req.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const scheme = url.protocol.slice(0, -1);
    const view = requestView(method, scheme, headers['host'] ?? url.host, url.pathname + url.search, headers);
    return explainDecision(this.#snapshot, view, url.hostname, port, this.#identity, this.outOfScope(url.hostname));
  }

  /** The xDS resources in force, with the snapshot version (CSDS-like JSON). */
  configDump(): ConfigDump {
    const r = this.#snapshot.resources;
    const extra: Partial<ConfigDump> = {};
    for (const fn of this.#dumpExtensions) Object.assign(extra, fn());
    const mc = this.#meshConfig;
    const ctx = this.#context;
    const defaults = meshSettings(undefined, { rootNamespace: this.#baseIdentity.rootNamespace });
    const changed: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(mc)) {
      if (k !== 'origin' && JSON.stringify(v) !== JSON.stringify(defaults[k as keyof MeshSettings])) changed[k] = v;
    }
    return {
      version: this.#snapshot.version,
      source: this.#source,
      ...(mc.origin !== 'defaults' && { meshConfig: { origin: mc.origin, settings: changed } }),
      ...(ctx.outbound && {
        outboundTrafficPolicy: { mode: ctx.outbound.mode, origin: ctx.outbound.origin, ...(ctx.outbound.egressCluster !== undefined && { egressCluster: ctx.outbound.egressCluster }) },
      }),
      ...(ctx.scope && {
        sidecarScope: { sidecar: ctx.scope.sidecar, egressHosts: [...ctx.scope.egressHosts], servicesInScope: ctx.scope.servicesInScope, outOfScope: Object.fromEntries(ctx.scope.outOfScope) },
      }),
      listeners: [...r.listeners.values()],
      routeConfigs: [...r.routeConfigs.values()],
      clusters: [...r.clusters.values()],
      endpoints: [...r.endpoints.values()],
      problems: [...this.#problems],
      ...(this.#snapshot.notes?.length && { notes: [...this.#snapshot.notes] }),
      ...extra,
    };
  }

  /**
   * configDump() as CSDS: an envoy.service.status.v3.ClientStatusResponse (proto3 JSON), what
   * CSDS tools read. The node id is the xDS node's, or one naming this embedded client.
   */
  clientStatus(): ClientStatusResponse {
    const dump = this.configDump();
    return clientStatus(dump, dump.xds?.node ?? `meshlet~embedded~${this.identity.namespace}`);
  }

  /** Registers cleanup run by close() (config watchers, xDS streams, transports). */
  onClose(fn: () => void | Promise<void>): void {
    this.#closers.push(fn);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribers.clear();
    for (const fn of this.#closers.reverse()) await fn();
    this.credentials.close();
    this.jwks.close();
    this.#registry.close();
    this.#breakers?.close();
  }
}

export { requestView, type HeaderRecord, type RequestView };
