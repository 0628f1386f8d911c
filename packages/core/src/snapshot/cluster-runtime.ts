// The living side of a cluster: what outlasts any one snapshot. Its endpoints' counters, the
// circuit-breaker counters, outlier detection, and the load balancer over the hosts that may
// take traffic right now. Snapshots carry immutable config and point here for state; when a
// snapshot swaps in, `configure` takes the new config and keeps every counter. Both adapters
// (undici, grpc-js) go through the same calls, so there is one resilience engine:
//
//   admitRequest → pick → [admitRetry → pick ...] → record(outcome) → endRequest

import { CircuitOpenError, OverflowError } from '../errors.ts';
import { EndpointState, endpointKey } from '../lb/endpoint-state.ts';
import type { ClusterLimits } from '../resilience/cluster-limits.ts';
import type { OutlierConfig } from '../resilience/outlier-config.ts';
import { OutlierDetector } from '../resilience/outlier-detector.ts';
import type { Outcome } from '../resilience/outcome.ts';
import type { BreakerTicket, ErrorRateBreaker } from '../resilience/error-rate-breaker.ts';
import type { LbKind, LoadBalancer, RetryPriorityFilter } from '../lb/load-balancer.ts';
import { createLoadBalancer, type HashLbOptions } from '../lb/create-load-balancer.ts';
import { PriorityLoadBalancer } from '../lb/priority-load-balancer.ts';
import { levelBalancer } from '../lb/locality-weighted-load-balancer.ts';
import type { SlowStartSettings } from '../lb/slow-start.ts';
import type { Logger } from '../logger.ts';
import type { DnsSettings, EndpointSpec } from './translate-cluster.ts';
import { DnsEndpoints, type DnsResolver } from './dns-refresh.ts';
import { RequestGrant } from './request-grant.ts';

export interface ClusterRuntimeConfig {
  readonly lbPolicy: LbKind;
  readonly endpoints: readonly EndpointState[];
  readonly limits: ClusterLimits;
  readonly outlier: OutlierConfig | undefined;
  /** Below this percentage of usable hosts, balance across all of them (Envoy's panic mode); 0 disables. */
  readonly panicThreshold: number;
  /** Ring and table sizes for RING_HASH / MAGLEV. */
  readonly hashLb?: HashLbOptions | undefined;
  /** commonLbConfig.localityWeightedLbConfig: choose a locality by weight × health first. */
  readonly localityWeighted?: boolean | undefined;
  /** slow_start_config of ROUND_ROBIN / LEAST_REQUEST. */
  readonly slowStart?: SlowStartSettings | undefined;
}

/** Counters with Envoy's names where Envoy has one, so dashboards and runbooks still mean something. */
export interface ClusterStats {
  upstream_rq_total: number;
  upstream_rq_active: number;
  upstream_rq_pending_active: number;
  upstream_rq_pending_overflow: number;
  upstream_rq_retry: number;
  upstream_rq_retry_overflow: number;
  upstream_rq_retry_success: number;
  upstream_cx_connect_fail: number;
  upstream_rq_timeout: number;
  upstream_rq_per_try_timeout: number;
  'outlier_detection.ejections_active': number;
  'outlier_detection.ejections_total': number;
  'outlier_detection.ejections_overflow': number;
  circuit_breakers_open: number;
}

export class ClusterRuntime {
  readonly name: string;
  readonly #logger: Logger;
  // Plain fields, not #private ones, for what every request reads (admission, the balancer,
  // outcomes): until V8 optimises the caller, a #field read is a keyed look-up.
  private conf: ClusterRuntimeConfig;
  private detector: OutlierDetector | undefined = undefined;
  private lb: LoadBalancer | undefined = undefined;
  private breaker: ErrorRateBreaker | undefined = undefined;
  private dnsState: DnsEndpoints | undefined = undefined;
  #endpoints = new Map<string, EndpointState>();
  #dnsSpecs: readonly EndpointSpec[] = [];
  #dnsConfig: ((endpoints: readonly EndpointState[]) => ClusterRuntimeConfig) | undefined;
  /** How DNS clusters resolve names (node:dns unless a test sets a fake before the first snapshot). */
  dnsResolver: DnsResolver | undefined;
  /** The clock slow start reads (tests inject one). */
  clock: () => number = Date.now;
  /** Set once the runtime has had a host set: hosts that arrive later are new and ramp up. */
  #hadHosts = false;

  activeRequests = 0;
  pendingRequests = 0;
  activeRetries = 0;
  readonly counters = { total: 0, pendingOverflow: 0, retries: 0, retryOverflow: 0, retrySuccess: 0, connectFail: 0, timeouts: 0, perTryTimeouts: 0 };

  constructor(name: string, logger: Logger, config: ClusterRuntimeConfig) {
    this.name = name;
    this.#logger = logger;
    this.conf = config;
  }

  /** The state object for an endpoint address, kept across snapshots. */
  endpoint(address: string, port: number): EndpointState {
    // Looked up by key before any state is made: an EDS push rebuilds a cluster whose
    // endpoints are nearly all known, and a throw-away state per endpoint was most of its garbage.
    const existing = this.#endpoints.get(endpointKey(address, port));
    if (existing) return existing;
    const probe = new EndpointState(address, port);
    // Envoy ramps hosts added to a cluster that already has some (slow start); the first host
    // set is not ramped, as every host in it would be equally new.
    if (this.#hadHosts) probe.usableSince = this.clock();
    this.#endpoints.set(probe.key, probe);
    return probe;
  }

  /** Takes the config of a new snapshot; forgets endpoints it no longer names. */
  configure(config: ClusterRuntimeConfig): void {
    this.conf = config;
    if (config.endpoints.length > 0) this.#hadHosts = true;
    const keep = new Set(config.endpoints.map((e) => e.key));
    for (const key of this.#endpoints.keys()) if (!keep.has(key)) this.#endpoints.delete(key);
    if (config.outlier) {
      if (this.detector) this.detector.update(config.outlier);
      else this.detector = new OutlierDetector(config.outlier, () => this.conf.endpoints, this.#outlierEvents());
    } else if (this.detector) {
      // Outlier detection switched off: every host returns to service.
      this.detector.stop();
      this.detector = undefined;
      for (const e of config.endpoints) e.ejectedUntil = 0;
    }
    this.lb = undefined;
  }

  /**
   * STRICT_DNS / LOGICAL_DNS: the cluster's endpoints are `specs` with host names resolved in the
   * background (dns-refresh.ts). Returns the endpoint list as of now; every later change of a
   * name's addresses re-configures this runtime with `config(newEndpoints)` — the host set
   * changes without a new snapshot, as an Envoy DNS cluster's does. `dns` undefined stops it.
   */
  setDnsEndpoints(dns: DnsSettings | undefined, specs: readonly EndpointSpec[], config: (endpoints: readonly EndpointState[]) => ClusterRuntimeConfig): readonly EndpointState[] {
    if (!dns) {
      this.dnsState?.close();
      this.dnsState = undefined;
      this.#dnsConfig = undefined;
      return [];
    }
    this.dnsState ??= new DnsEndpoints(this.name, this.#logger, () => this.#dnsChanged(), this.dnsResolver);
    this.#dnsSpecs = specs;
    this.#dnsConfig = config;
    this.dnsState.update(dns, specs);
    return this.#dnsEndpoints();
  }

  /** The DNS resolver state of this cluster (tests, diagnostics); undefined for other clusters. */
  get dns(): DnsEndpoints | undefined {
    return this.dnsState;
  }

  #dnsEndpoints(): EndpointState[] {
    const seen = new Set<string>();
    const out: EndpointState[] = [];
    for (const spec of this.dnsState?.expand(this.#dnsSpecs) ?? []) {
      const state = this.endpoint(spec.address, spec.port);
      // Two names resolving to one address are one host, as one EndpointState per address.
      if (seen.has(state.key)) continue;
      seen.add(state.key);
      state.weight = spec.weight;
      state.healthy = spec.healthy;
      state.locality = spec.locality;
      state.priority = spec.priority;
      state.localityWeight = spec.localityWeight;
      state.labels = spec.labels;
      state.socketMatch = spec.socketMatch;
      out.push(state);
    }
    return out;
  }

  #dnsChanged(): void {
    if (this.#dnsConfig) this.configure(this.#dnsConfig(this.#dnsEndpoints()));
  }

  get config(): ClusterRuntimeConfig {
    return this.conf;
  }

  setBreaker(breaker: ErrorRateBreaker | undefined): void {
    this.breaker = breaker;
  }

  // ---- admission (circuit breakers) ----

  /**
   * Admits a new request, or says which limit it overflows. The grant's end(success) must be
   * called exactly once when the request is over.
   */
  admitRequest(): RequestGrant | OverflowError | CircuitOpenError {
    const limits = this.conf.limits;
    if (this.activeRequests >= limits.maxRequests) {
      this.counters.pendingOverflow++;
      return new OverflowError(this.name, 'max_requests', limits.maxRequests);
    }
    let ticket: BreakerTicket | undefined;
    if (this.breaker) {
      ticket = this.breaker.admit();
      if (!ticket) return new CircuitOpenError(this.name, this.breaker.describe());
    }
    this.activeRequests++;
    this.counters.total++;
    return new RequestGrant(this, ticket);
  }

  /** An attempt waits for a connection; over max_pending_requests it overflows instead. */
  admitPending(): OverflowError | undefined {
    const max = this.conf.limits.maxPendingRequests;
    if (this.pendingRequests >= max) {
      this.counters.pendingOverflow++;
      return new OverflowError(this.name, 'max_pending_requests', max);
    }
    this.pendingRequests++;
    return undefined;
  }

  endPending(): void {
    this.pendingRequests--;
  }

  /** May a retry start now? max_retries, or the retry budget when the cluster has one. Pair with endRetry(). */
  admitRetry(): boolean {
    const { maxRetries, retryBudget } = this.conf.limits;
    const limit = retryBudget
      ? Math.max(retryBudget.minRetryConcurrency, Math.floor((retryBudget.percent / 100) * (this.activeRequests + this.pendingRequests)))
      : maxRetries;
    if (this.activeRetries >= limit) {
      this.counters.retryOverflow++;
      return false;
    }
    this.activeRetries++;
    this.counters.retries++;
    return true;
  }

  endRetry(): void {
    this.activeRetries--;
  }

  // ---- host choice ----

  /**
   * `hash`: the request's consistent-hash key (ForwardAction.hash); only RING_HASH and MAGLEV read it.
   * `priorities`: a retry's previous_priorities record (resilience/retry-priority.ts).
   */
  pick(exclude?: ReadonlySet<EndpointState>, attempts?: number, hash?: bigint, priorities?: RetryPriorityFilter): EndpointState | undefined {
    // A DNS cluster starts resolving on first use (dns-refresh.ts says why).
    if (this.dnsState && !this.dnsState.active) this.dnsState.activate();
    this.lb ??= this.#buildLoadBalancer();
    return this.lb.pick(exclude, attempts, hash, priorities);
  }

  /** Hosts that may take traffic: healthy in EDS and not ejected. */
  usableHosts(): EndpointState[] {
    return this.conf.endpoints.filter((e) => e.healthy && e.ejectedUntil === 0);
  }

  #buildLoadBalancer(): LoadBalancer {
    const all = this.conf.endpoints;
    const usable = this.usableHosts();
    const threshold = this.conf.panicThreshold;
    const { lbPolicy, hashLb, localityWeighted } = this.conf;
    const slowStart = this.conf.slowStart ? { ...this.conf.slowStart, now: this.clock } : undefined;
    const options = { localityWeighted, slowStart };
    // Panic: too few usable hosts, so spread over every host rather than overload the few.
    if (all.length > 0 && threshold > 0 && (100 * usable.length) / all.length < threshold) {
      return createLoadBalancer(lbPolicy, all, hashLb, slowStart);
    }
    const byPriority = (list: readonly EndpointState[]) => {
      const m = new Map<number, EndpointState[]>();
      for (const e of list) {
        const l = m.get(e.priority);
        if (l) l.push(e);
        else m.set(e.priority, [e]);
      }
      return m;
    };
    const levels = byPriority(all);
    // Hashing balancers are rebuilt only here, when the usable host set changes (an ejection,
    // a new snapshot, a DNS refresh), never per request.
    if (levels.size <= 1) return levelBalancer(lbPolicy, all, usable, hashLb, options);
    return new PriorityLoadBalancer(lbPolicy, levels, byPriority(usable), Math.random, hashLb, options);
  }

  // ---- outcomes ----

  /** One attempt's verdict, for outlier detection, the optional breaker and stats. */
  record(endpoint: EndpointState, outcome: Outcome): void {
    if (outcome.kind === 'connect-failure') this.counters.connectFail++;
    else if (outcome.kind === 'per-try-timeout') this.counters.perTryTimeouts++;
    this.detector?.record(endpoint, outcome);
  }

  stats(): ClusterStats {
    const c = this.counters;
    return {
      upstream_rq_total: c.total,
      upstream_rq_active: this.activeRequests,
      upstream_rq_pending_active: this.pendingRequests,
      upstream_rq_pending_overflow: c.pendingOverflow,
      upstream_rq_retry: c.retries,
      upstream_rq_retry_overflow: c.retryOverflow,
      upstream_rq_retry_success: c.retrySuccess,
      upstream_cx_connect_fail: c.connectFail,
      upstream_rq_timeout: c.timeouts,
      upstream_rq_per_try_timeout: c.perTryTimeouts,
      'outlier_detection.ejections_active': this.detector?.ejectionsActive ?? 0,
      'outlier_detection.ejections_total': this.detector?.ejectionsTotal ?? 0,
      'outlier_detection.ejections_overflow': this.detector?.ejectionsOverflow ?? 0,
      circuit_breakers_open: this.breaker?.isOpen() ? 1 : 0,
    };
  }

  /** Runs the outlier sweep now (tests drive time with it). */
  sweep(): void {
    this.detector?.sweep();
  }

  close(): void {
    this.dnsState?.close();
    this.dnsState = undefined;
    this.detector?.stop();
    this.detector = undefined;
    this.breaker?.close();
  }

  #outlierEvents() {
    return {
      changed: () => { this.lb = undefined; },
      ejected: (host: EndpointState, reason: string, until: number) => {
        this.#logger.warn({ cluster: this.name, endpoint: host.key, reason, ejections: host.ejections, ejectedForMs: until - Date.now() }, 'outlier ejected');
      },
      returned: (host: EndpointState) => {
        // Back from ejection: the nearest thing a proxyless client has to passing a health check
        // again, which is when Envoy restarts a host's slow start.
        host.usableSince = this.clock();
        this.#logger.info({ cluster: this.name, endpoint: host.key }, 'outlier returned to service');
      },
    };
  }
}

/** One ClusterRuntime per cluster name, across snapshots. */
export class ClusterRuntimeRegistry {
  readonly #logger: Logger;
  #byName = new Map<string, ClusterRuntime>();
  #breakerFactory: ((cluster: string) => ErrorRateBreaker) | undefined;

  constructor(logger: Logger, breakerFactory?: (cluster: string) => ErrorRateBreaker) {
    this.#logger = logger;
    this.#breakerFactory = breakerFactory;
  }

  get(name: string, initial: ClusterRuntimeConfig): ClusterRuntime {
    let rt = this.#byName.get(name);
    if (!rt) {
      rt = new ClusterRuntime(name, this.#logger, initial);
      if (this.#breakerFactory) rt.setBreaker(this.#breakerFactory(name));
      this.#byName.set(name, rt);
    }
    return rt;
  }

  all(): IterableIterator<ClusterRuntime> {
    return this.#byName.values();
  }

  /** Whether a runtime exists for `name` (a snapshot in force, or a build in progress, made it). */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Closes the runtimes of clusters the newest snapshot dropped. */
  retain(names: ReadonlySet<string>): void {
    for (const [name, rt] of this.#byName) {
      if (!names.has(name)) {
        rt.close();
        this.#byName.delete(name);
      }
    }
  }

  close(): void {
    for (const rt of this.#byName.values()) rt.close();
    this.#byName.clear();
  }
}
