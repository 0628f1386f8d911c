// xDS mode's config source: decides what the ADS client subscribes to, and publishes a
// MeshSnapshot only when what it holds is complete and consistent.
//
// Subscriptions follow the chain: the listeners this process needs (given up front, or asked
// for on first use through Mesh#ensureService — `<fqdn>:<port>`, as istiod names them), then
// every RouteConfiguration those listeners name, every Cluster those routes send to, and every
// ClusterLoadAssignment those clusters read. Whatever stops being referenced is unsubscribed.
//
// Publishing (go-control-plane's Consistent(), per listener): a listener is ready when it and
// everything it reaches is settled (a value, or known absent, or only a NACKed version). A
// snapshot is built when every listener already in force is ready — a change in progress, such
// as a route now pointing at a cluster still being fetched, waits (at most the 15 s
// does-not-exist timer) rather than publishing a route to nowhere. A new listener still warming
// does not hold back updates to the others. While the stream is down nothing changes here, so
// traffic runs on the last published snapshot.
//
// An EDS push is the common change and must stay cheap at 10k services: when a response only
// gives new values to assignments already in force (ads-client.ts says so) and nothing else
// changed since the last published set, that set is handed to the mesh again with just those
// assignments replaced (OverlayMap.replacing, which the snapshot build reads to rebuild only the
// clusters that read them). No subscription walk is needed — an assignment references nothing
// further down the chain — and no closure is assembled again. Anything else, or any doubt, takes
// the full path below.
//
// Server helpers add one more kind of subscription (watchInbound): the server's own inbound
// listener, named from the bootstrap's server_listener_resource_name_template. It is policy
// for the server side, not routes, so it never enters a snapshot; the helper reads it from the
// watch state directly.

import { responseLimits } from './response-limits.ts';
import type { Mesh } from '../../mesh.ts';
import type { XdsResources } from '../../xds/resources.ts';
import { AdsClient, type AdsClientOptions } from './ads-client.ts';
import type { Bootstrap } from './bootstrap.ts';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, inlineRouteClusters, isServerListener, LISTENER, ROUTE_CONFIGURATION, SIDECAR_RESOURCE_TYPES } from './resource-types.ts';
import { sidecarNode } from './sidecar-node.ts';
import type { ResourceWatchState } from './resource-watch-state.ts';
import { xdsStatus } from './xds-status.ts';
import { listenerClosure } from './listener-closure.ts';
import { ConfigError } from '../../errors.ts';
import type { Listener } from '../../xds/resources.ts';
import type { Result } from '../../xds/translate-result.ts';
import { serverListenerName, type InboundPolicyState, type InboundPolicyWatch } from '../../security/inbound-policy.ts';
import { translateServerListener, type ServerListenerPolicy } from '../../security/server-listener.ts';
import { runSlice } from './turn-budget.ts';
import { OverlayMap } from '../../snapshot/overlay-map.ts';

export interface XdsSourceOptions {
  /**
   * Which of istiod's generators to ask for: 'grpc' (default) identifies as a proxyless gRPC
   * client (node metadata GENERATOR grpc, per-service API listeners fetched on first use);
   * 'sidecar' identifies as an Envoy sidecar (no GENERATOR: istiod's default generator) and
   * consumes the sidecar's config — every listener, route table by port, cluster and endpoint.
   */
  generator?: 'grpc' | 'sidecar';
  /** Listener names (`<fqdn>:<port>`) to subscribe to at start; '*' = every listener the server has. */
  listeners?: readonly string[] | '*';
  backoff?: AdsClientOptions['backoff'];
  doesNotExistMs?: number;
  /** How long start() waits for the first complete config before resolving anyway (default 15 s). */
  initialFetchTimeoutMs?: number;
  /**
   * Proxyless profile: keep the server's listener names on a second, wildcard LDS stream, so a
   * host outside the mesh is known at once rather than after the 15 s does-not-exist timer
   * (default true; listener-directory.ts).
   */
  listenerDirectory?: boolean;
  /** A response larger than this many bytes is NACKed (default 128 MiB). */
  maxResponseBytes?: number;
  /** A response with more resources than this is NACKed (default 100,000). */
  maxResourcesPerResponse?: number;
}

/**
 * Listeners fetched on first use that the server does not have (plain-HTTP hosts outside the
 * mesh reach `ensureService` too) are kept subscribed, so one that appears later is picked up —
 * but at most this many; beyond it the oldest absent ones are dropped (and asked for again if
 * used again).
 */
const MAX_ABSENT_ON_DEMAND = 256;

/** Names walked between two chances to end the turn. */
const WALK_YIELD_EVERY = 256;

interface PendingApply {
  readonly all: XdsResources;
  readonly problems: string[];
  readonly published: Set<string>;
}

/** The set last handed to the mesh by the full path or the EDS fast path, and what it was published with. */
interface PublishedSet {
  readonly all: XdsResources;
  readonly problems: readonly string[];
}

interface Waiter {
  done: () => boolean;
  resolve: () => void;
}

export class XdsConfigSource {
  readonly client: AdsClient;
  readonly #mesh: Mesh;
  readonly #wildcard: boolean;
  readonly #listeners = new Set<string>();
  /** Listeners added by want(), oldest first. */
  readonly #onDemand = new Set<string>();
  /** Server helpers' own inbound listeners (watchInbound), with how many watches hold each. */
  readonly #inbound = new Map<string, number>();
  readonly #initialFetchTimeoutMs: number;
  /** The sidecar profile: wildcard LDS and CDS, Envoy's listeners. */
  readonly #sidecar: boolean;
  #published = new Set<string>();
  /** Listeners to publish next (the newest wanted list), while a publish job runs. */
  #pendingListeners: readonly string[] | undefined;
  /** Subscriptions must be worked out again (something changed). */
  #dirty = false;
  /** The subscription walk under way, when it spans turns of the event loop (#drive). */
  #reconciling: Generator<void, void> | undefined;
  /** The publish job under way, likewise. */
  #publishing: Generator<void, void> | undefined;
  #driving = false;
  #resume: NodeJS.Immediate | undefined;
  readonly #settledWaiters: (() => void)[] = [];
  #publishedGeneration = -1;
  #scheduled = false;
  #waiters: Waiter[] = [];
  #closed = false;
  /** The last published set, while it is all the client's state holds (the EDS fast path's base). */
  #lastSet: PublishedSet | undefined;
  /** The client generation #lastSet reflects (plus EDS changes noted in #edsChanges). */
  #lastSetGeneration = -1;
  /** Assignments whose new values are to be applied on #lastSet, when that is the only change. */
  #edsChanges: Set<string> | undefined;

  constructor(mesh: Mesh, bootstrap: Bootstrap, opts: XdsSourceOptions = {}) {
    this.#mesh = mesh;
    this.#sidecar = opts.generator === 'sidecar';
    // A sidecar asks for every listener, as Envoy does: a host none of them names is known to be
    // outside the mesh as soon as they arrive.
    this.#wildcard = opts.listeners === '*' || this.#sidecar;
    this.#initialFetchTimeoutMs = opts.initialFetchTimeoutMs ?? 15_000;
    if (!this.#wildcard) for (const l of opts.listeners ?? []) this.#listeners.add(l);
    const client = AdsClient.create(bootstrap, {
      logger: mesh.logger,
      onChange: (assignments) => this.#schedule(assignments),
      ...(this.#sidecar && { types: SIDECAR_RESOURCE_TYPES, node: sidecarNode(bootstrap, mesh.identity) }),
      // Wildcard subscriptions know every name already; named ones learn absence from the directory.
      listenerDirectory: !this.#wildcard && opts.listenerDirectory !== false,
      ...(opts.backoff !== undefined && { backoff: opts.backoff }),
      ...(opts.doesNotExistMs !== undefined && { doesNotExistMs: opts.doesNotExistMs }),
      limits: responseLimits({
        ...(opts.maxResponseBytes !== undefined && { maxResponseBytes: opts.maxResponseBytes }),
        ...(opts.maxResourcesPerResponse !== undefined && { maxResourcesPerResponse: opts.maxResourcesPerResponse }),
      }),
    });
    if (!client.ok) throw new ConfigError(client.error);
    this.client = client.value;
    mesh.extendConfigDump(() => ({ xds: xdsStatus(this.client) }));
    mesh.setServiceDemand((name) => this.want(name));
    mesh.setInboundDemand((host, port) => this.watchInbound(host, port));
    mesh.onClose(() => this.close());
  }

  /**
   * Connects and waits (bounded) until the initial listeners are ready. With `hold` (MeshConfig
   * defaultConfig.holdApplicationUntilProxyStarts) it also waits for the stream when no listener
   * is named, and a timeout is an error instead of a start without config.
   */
  async start(initialFetchTimeoutMs = this.#initialFetchTimeoutMs, hold = false): Promise<void> {
    this.#reconcile();
    this.client.start();
    const initial = this.#wildcard ? [] : [...this.#listeners];
    if (!this.#wildcard && initial.length === 0 && !hold) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), initialFetchTimeoutMs);
      timer.unref();
    });
    const ready = this.#wildcard ? this.#when(() => this.#settledAndPublished('*'))
      : initial.length > 0 ? Promise.all(initial.map((l) => this.#whenSettled(l)))
      : this.#connected();
    const result = await Promise.race([ready, timeout]);
    clearTimeout(timer);
    if (result === 'timeout' && hold) {
      throw new ConfigError(`holdApplicationUntilProxyStarts: no complete config from the xDS server within ${initialFetchTimeoutMs} ms (${this.client.lastError ?? 'no answer'}); check xds_servers[0].server_uri in ${this.client.bootstrap.origin}`);
    }
    if (result === 'timeout') {
      this.#mesh.logger.error(
        { server: this.client.server.serverUri, lastError: this.client.lastError },
        `no complete config from the xDS server within ${initialFetchTimeoutMs} ms; starting without it and still trying (check xds_servers[0].server_uri in ${this.client.bootstrap.origin})`,
      );
    }
  }

  /** Subscribes to one more listener (first use of a service); resolves once it is settled. */
  want(listener: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    // The sidecar holds every listener: a name is answered once they have all arrived.
    if (this.#sidecar) return this.#when(() => this.#settledAndPublished('*'));
    if (!this.#wildcard && !this.#listeners.has(listener)) {
      this.#listeners.add(listener);
      this.#onDemand.add(listener);
      this.#dropOldAbsent();
      this.#reconcile();
    }
    return this.#whenSettled(listener);
  }

  /**
   * Subscribes to the inbound listener of a server listening on host:port and follows its
   * policy (security/inbound-policy.ts). Throws a ConfigError when the bootstrap names no
   * server listener template, as a gRPC xDS server does.
   */
  watchInbound(host: string, port: number): InboundPolicyWatch {
    const bootstrap = this.client.bootstrap;
    const template = bootstrap.serverListenerResourceNameTemplate;
    if (template === undefined) {
      throw new ConfigError(`xDS bootstrap ${bootstrap.origin}: server_listener_resource_name_template is not set, so a server cannot ask for its inbound policy (istio-agent writes "xds.istio.io/grpc/lds/inbound/%s")`);
    }
    if (this.#sidecar) {
      throw new ConfigError('a server\'s inbound policy from xDS is not read in the sidecar profile (createMesh({ xds: { generator: \'sidecar\' } })): istiod sends a sidecar its inbound policy inside virtualInbound, which Meshlet does not translate; use the proxyless profile for servers');
    }
    if (this.#wildcard) {
      throw new ConfigError('a server\'s inbound policy from xDS needs listeners subscribed by name: createMesh({ listeners: \'*\' }) asks for every client listener only');
    }
    const name = serverListenerName(template, host, port);
    this.#inbound.set(name, (this.#inbound.get(name) ?? 0) + 1);
    this.#reconcile();
    const st = this.client.state;
    const translated = new WeakMap<object, Result<ServerListenerPolicy>>();
    const current = (): InboundPolicyState => {
      const w = st.get(LISTENER.typeUrl, name);
      const notServing = (reason: string): InboundPolicyState => ({ status: 'not-serving', listener: name, reason });
      if (this.#closed) return notServing('the mesh is closed');
      if (!w || !w.settled) return notServing(`waiting for Listener ${name} from ${this.client.server.serverUri}`);
      if (w.value === undefined) {
        if (w.nack) return notServing(`Listener ${name} was rejected: ${w.nack.error}`);
        return notServing(`the xDS server has no Listener ${name} (istiod sends one only for ports of a Service that selects this workload)`);
      }
      const value = w.value as Listener;
      let r = translated.get(value);
      if (!r) translated.set(value, (r = translateServerListener(value)));
      return r.ok ? { status: 'serving', listener: name, policy: r.value } : notServing(r.error);
    };
    let timer: NodeJS.Timeout | undefined;
    const ready = Promise.race([
      this.#when(() => st.get(LISTENER.typeUrl, name)?.settled === true),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#initialFetchTimeoutMs); timer.unref(); }),
    ]).finally(() => clearTimeout(timer));
    let closed = false;
    return {
      listener: name,
      current,
      ready,
      untilServing: () => this.#when(() => closed || current().status === 'serving'),
      close: () => {
        if (closed) return;
        closed = true;
        const n = (this.#inbound.get(name) ?? 1) - 1;
        if (n > 0) this.#inbound.set(name, n);
        else this.#inbound.delete(name);
        if (!this.#closed) this.#reconcile();
        this.#wake();
      },
    };
  }

  #dropOldAbsent(): void {
    const absent = [...this.#onDemand].filter((l) => this.client.state.get(LISTENER.typeUrl, l)?.status === 'DOES_NOT_EXIST');
    for (const l of absent.slice(0, Math.max(0, absent.length - MAX_ABSENT_ON_DEMAND))) {
      this.#onDemand.delete(l);
      this.#listeners.delete(l);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mesh.setServiceDemand(undefined);
    this.#mesh.setInboundDemand(undefined);
    this.client.close();
    if (this.#resume) clearImmediate(this.#resume);
    this.#reconciling = undefined;
    this.#publishing = undefined;
    this.#lastSet = undefined;
    this.#edsChanges = undefined;
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
    for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }

  /** Resolves once the ADS stream is up (checked every 20 ms: a stream with nothing subscribed has no response to wait for). */
  #connected(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.client.connected || this.#closed) resolve();
        else setTimeout(check, 20).unref();
      };
      check();
    });
  }

  #whenSettled(listener: string): Promise<void> {
    return this.#when(() => this.#settledAndPublished(listener));
  }

  /** Resolves once `done()` holds, checked after every change. */
  #when(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ done, resolve }));
  }

  // A listener is settled for a waiter once it is absent, or present and published; '*' once
  // the server has listed its listeners and every one of them is.
  #settledAndPublished(listener: string): boolean {
    if (listener === '*') {
      if (!this.client.answered.has(LISTENER.typeUrl)) return false;
      return [...this.client.state.of(LISTENER.typeUrl).keys()].every((l) => this.#settledAndPublished(l));
    }
    const w = this.client.state.get(LISTENER.typeUrl, listener);
    // Under a wildcard subscription, a name missing from the server's (complete) answer is absent.
    if (!w) return this.#wildcard && this.client.answered.has(LISTENER.typeUrl);
    if (!w.settled) return false;
    return w.value === undefined || this.#published.has(listener);
  }

  // Responses arrive in bursts (one per type); reconcile once, after the client has ACKed.
  #schedule(assignments?: readonly string[]): void {
    if (!this.#noteEdsChange(assignments)) this.#dirty = true;
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#drive();
    });
  }

  /**
   * Takes a change on the EDS fast path when it can: it is only new values for assignments
   * (`assignments`), the previous change is the one the last published set reflects (the client
   * generation says nothing else changed since — every value or status change bumps it), and
   * no walk or publish is under way or due. Otherwise the caller marks the state dirty.
   */
  #noteEdsChange(assignments: readonly string[] | undefined): boolean {
    if (!assignments || !this.#lastSet || this.#dirty || this.#reconciling || this.#publishing || this.#pendingListeners) return false;
    if (this.client.generation !== this.#lastSetGeneration + 1) return false;
    this.#lastSetGeneration = this.client.generation;
    const changes = (this.#edsChanges ??= new Set());
    for (const name of assignments) changes.add(name);
    return true;
  }

  /** Works out the subscriptions again now (a first use waits on it), in slices if large. */
  #reconcile(): void {
    this.#dirty = true;
    this.#drive();
  }

  // The subscription walk: what the wanted listeners reach, type by type, down the chain. It
  // yields every few names (#drive slices it), so at 10k services it is many short pauses. The
  // state may change between slices (a response is applied in slices too): each resource is
  // read once, old or new, and both versions' references stay subscribed, so nothing still
  // referenced is ever dropped; what only the newest state names is added by the reconcile the
  // change schedules.
  *#reconcileJob(): Generator<void, void> {
    const client = this.client;
    const st = client.state;
    yield* client.subscribe(LISTENER.typeUrl, this.#wildcard ? '*' : [...this.#listeners, ...this.#inbound.keys()]);
    // Client listeners the server's complete listing lacks do not exist: say so now. (Inbound
    // listeners are never in a wildcard answer; they keep the timer.)
    const directory = client.directory;
    if (directory?.size !== undefined) {
      for (const name of this.#listeners) if (directory.has(name) === false) client.declareAbsent(LISTENER.typeUrl, name);
    }
    yield;
    const listeners = this.#wantedListeners(st);
    const routes = new Set<string>();
    const clusters = new Set<string>();
    let n = 0;
    // References were worked out when each resource was accepted (ResourceWatch.references).
    for (const name of listeners) {
      if (++n % WALK_YIELD_EVERY === 0) yield;
      const w = st.get(LISTENER.typeUrl, name);
      if (!w?.value) continue;
      for (const r of w.references) routes.add(r);
      for (const c of inlineRouteClusters(w.value as Listener)) clusters.add(c);
    }
    yield* client.subscribe(ROUTE_CONFIGURATION.typeUrl, [...routes]);
    for (const name of routes) {
      if (++n % WALK_YIELD_EVERY === 0) yield;
      const w = st.get(ROUTE_CONFIGURATION.typeUrl, name);
      if (w?.value) for (const c of w.references) clusters.add(c);
    }
    // The sidecar takes every cluster, as Envoy does (istiod sends them all anyway).
    yield* client.subscribe(CLUSTER.typeUrl, this.#sidecar ? '*' : [...clusters]);
    const assignments = new Set<string>();
    for (const name of this.#sidecar ? [...st.of(CLUSTER.typeUrl).keys()] : clusters) {
      if (++n % WALK_YIELD_EVERY === 0) yield;
      const w = st.get(CLUSTER.typeUrl, name);
      if (w?.value) for (const e of w.references) assignments.add(e);
    }
    yield* client.subscribe(CLUSTER_LOAD_ASSIGNMENT.typeUrl, [...assignments]);
    this.#maybePublish(listeners);
    this.#wake();
  }

  // Client listeners only: a server's inbound listener is policy, not routes.
  #wantedListeners(st: ResourceWatchState): string[] {
    if (!this.#wildcard) return [...this.#listeners];
    if (this.#sidecar) return [...st.of(LISTENER.typeUrl).keys()];
    return [...st.of(LISTENER.typeUrl)].filter(([, w]) => !(w.value && isServerListener(w.value as Listener))).map(([n]) => n);
  }

  #maybePublish(listeners: readonly string[]): void {
    const client = this.client;
    if (client.generation === this.#publishedGeneration) return;
    // Until the server has said which listeners exist, an empty wildcard set means nothing.
    if (this.#wildcard && !client.answered.has(LISTENER.typeUrl)) return;
    this.#publishedGeneration = client.generation;
    this.#pendingListeners = listeners;
  }

  // The work after a change runs as jobs: the subscription walk (#reconcileJob), then the
  // publishing of the snapshot it calls for — assemble the resources the wanted listeners
  // reach, then build the snapshot (Mesh#applyResourcesInSteps). A job runs on in this turn of
  // the event loop until the turn's budget is used (turn-budget.ts), then goes on in the next
  // (setImmediate): a small change takes effect at once, a 10k-service snapshot does not stall
  // requests. A walk asked for meanwhile runs before the publishing goes on (a first use waits
  // on its subscription); a publish asked for meanwhile replaces the listener list still
  // waiting: only the newest matters.
  #drive(): void {
    if (this.#driving || this.#closed) return;
    this.#driving = true;
    try {
      for (;;) {
        if (this.#closed) return;
        if (!this.#reconciling && this.#dirty) {
          this.#dirty = false;
          if (this.#edsChanges) {
            // The full path takes over: it reads every assignment from the state, and must
            // publish even if nothing else changed.
            this.#edsChanges = undefined;
            this.#lastSet = undefined;
            this.#publishedGeneration = -1;
          }
          this.#reconciling = this.#reconcileJob();
        }
        if (!this.#reconciling && !this.#publishing && this.#edsChanges) {
          const names = this.#edsChanges;
          this.#edsChanges = undefined;
          this.#publishing = this.#publishEdsJob(names);
        }
        if (!this.#reconciling && !this.#publishing && this.#pendingListeners) {
          const listeners = this.#pendingListeners;
          this.#pendingListeners = undefined;
          this.#publishing = this.#publishJob(listeners);
        }
        const job = this.#reconciling ?? this.#publishing;
        if (!job) break;
        if (!runSlice(job)) {
          if (!this.#resume) this.#resume = setImmediate(() => { this.#resume = undefined; this.#drive(); });
          return;
        }
        if (job === this.#reconciling) this.#reconciling = undefined;
        else this.#publishing = undefined;
      }
    } catch (err) {
      // A bug, not bad config (translators return results): leave the source able to go on.
      this.#reconciling = undefined;
      this.#publishing = undefined;
      throw err;
    } finally {
      this.#driving = false;
    }
    for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }

  /**
   * Resolves once no snapshot is being published or waiting to be: a small change publishes
   * within the turn that brought it, a large one over several turns (#drive).
   */
  settled(): Promise<void> {
    if (!this.#reconciling && !this.#publishing && !this.#pendingListeners && !this.#dirty && !this.#edsChanges) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /** Listeners count as published, and waiters are woken, once their snapshot is in force. */
  *#publishJob(listeners: readonly string[]): Generator<void, void> {
    this.#lastSet = undefined;
    const generation = this.client.generation;
    const set = yield* this.#assemble(listeners);
    if (!set) {
      // A listener in force is mid-change: nothing is published until its closure is here.
      this.#publishedGeneration = -1;
      return;
    }
    yield* this.#mesh.applyResourcesInSteps(set.all, `xds:${this.client.server.serverUri}`, set.problems);
    this.#published = set.published;
    // The base for the EDS fast path, unless the state changed while this job ran in slices
    // (then the set may mix old and new, and the next change takes the full path).
    if (this.client.generation === generation) {
      this.#lastSet = { all: set.all, problems: set.problems };
      this.#lastSetGeneration = generation;
    }
    this.#wake();
  }

  /**
   * The EDS fast path: the last published set with `names`' new values, in O(changed). An
   * assignment no published cluster reads is not in that set, and stays out (the full path
   * would leave it out too: which closures are complete has not changed).
   */
  *#publishEdsJob(names: ReadonlySet<string>): Generator<void, void> {
    const last = this.#lastSet!;
    this.#publishedGeneration = this.client.generation;
    const replace = new Map<string, unknown>();
    for (const name of names) {
      if (!last.all.endpoints.has(name)) continue;
      const value = this.client.state.get(CLUSTER_LOAD_ASSIGNMENT.typeUrl, name)?.value;
      if (value !== undefined) replace.set(name, value);
    }
    if (replace.size === 0) return;
    const all: XdsResources = { ...last.all, endpoints: OverlayMap.replacing(last.all.endpoints, replace as XdsResources['endpoints']) as XdsResources['endpoints'] };
    this.#lastSet = { all, problems: last.problems };
    yield* this.#mesh.applyResourcesInSteps(all, `xds:${this.client.server.serverUri}`, last.problems);
    this.#wake();
  }

  /**
   * The resources the listeners reach, listener by listener, each closure complete on its own as
   * go-control-plane requires (every resource is read with its references, in one step); a
   * sidecar listener reaches every cluster, so its closure spans turns, and an update landing
   * meanwhile is published by the next job. Undefined when a listener in force is mid-change.
   */
  *#assemble(listeners: readonly string[]): Generator<void, PendingApply | undefined> {
    const st = this.client.state;
    const all: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
    const published = new Set<string>();
    for (const name of listeners) {
      const closure = yield* listenerClosure(st, name, (typeUrl) => st.isWildcard(typeUrl) && this.client.answered.has(typeUrl));
      if (!closure) {
        if (this.#published.has(name)) return undefined;
        // Pending closures end before their first yield: at 10k listeners waiting on their
        // clusters, that walk was about half of a 57–67 ms turn (CPU profile, proxyless SotW).
        yield;
        continue;
      }
      let copied = 0;
      for (const k of ['listeners', 'routeConfigs', 'clusters', 'endpoints'] as const) {
        for (const [n, v] of closure[k]) {
          (all[k] as Map<string, unknown>).set(n, v);
          if (++copied % WALK_YIELD_EVERY === 0) yield;
        }
      }
      if (closure.listeners.size > 0) published.add(name);
      yield;
    }
    const problems: string[] = [];
    let n = 0;
    for (const w of st.all()) {
      if (++n % WALK_YIELD_EVERY === 0) yield;
      if (w.nack) problems.push(`NACKed ${w.nack.version ? `version ${w.nack.version}: ` : ''}${w.nack.error}`);
    }
    for (const name of listeners) {
      if (st.get(LISTENER.typeUrl, name)?.status === 'DOES_NOT_EXIST') problems.push(`Listener ${name}: the xDS server has no such listener`);
    }
    return { all, problems, published };
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.done()) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }
}
