// One forwarded request's lifecycle, for both HTTP adapters (MeshRequest for undici,
// NodeMeshRequest for node:http): the order of its steps and every decision in it live here once,
// and the adapter executes them. The order:
//   1. fault delay, then fault abort (Envoy's fault filter runs before the router, so a delay does
//      not count against the route timeout); the adapter answers the abort
//   2. admission (max_requests, the optional error-rate breaker): overflow fails at once and is
//      never retried
//   3. the route timeout starts; it covers every attempt and back-off until the response ends
//   4. per attempt: an endpoint — the caller's own address on ORIGINAL_DST clusters, else the
//      cluster's balancer, avoiding hosts (previous_hosts) and priority levels
//      (previous_priorities) already tried when the retry policy says so — then a pending slot
//      under max_pending_requests; the adapter sends it
//   5. after a failed attempt or a retriable response: the retry policy's verdict (attempts
//      left, the route deadline, retryOn) and a retry slot under max_retries or the retry
//      budget, then the next attempt after a fully jittered back-off; else the request fails
// The adapter says what it can do: whether the request can still be sent whole (a buffered body;
// for node:http, nothing written to any connection yet), how to answer a fault abort, how to send
// an attempt, how to end the request with an error.
//
// Fields here and in the adapters are plain properties, not #private ones: until V8 optimises
// this code (the first few hundred requests of a process) every #field access is a keyed lookup
// through a private symbol, and a fresh client spent ~12k more instructions per request in
// inline caches that way (callgrind, 1,000 requests through MeshAgent). Fields the constructor
// sets are `declare`d: a class field without an initializer still defines itself (as undefined)
// before the constructor stores to it, two inline-cache steps per field of every request object.

import { backoffMs, isRetriable, NoHealthyUpstreamError, PreviousPriorities, RequestGrant, RouteTimeoutError, routeLabel, UpstreamError } from '@meshlet/core/adapter';
import type { AttemptTrace, ClusterRuntime, EndpointState, ForwardDecision, Mesh, Outcome, RequestHash, RequestTrace } from '@meshlet/core';
import { faultAbortReply, type LocalReply } from './local-reply.ts';

export abstract class RequestLifecycle {
  declare protected readonly mesh: Mesh;
  declare protected readonly d: ForwardDecision;
  declare protected readonly runtime: ClusterRuntime;
  declare protected readonly trace: RequestTrace;
  /** The route's consistent-hash key for RING_HASH / MAGLEV clusters, and a cookie to set. */
  declare protected readonly hash: RequestHash | undefined;
  protected grant: RequestGrant | undefined = undefined;
  /** The request is over for the mesh: no timer, attempt or retry may act any more. */
  protected done = false;
  /** Attempts started so far. */
  protected attempts = 0;
  /** A retry slot taken for the next attempt, not yet handed to it. */
  private retryHeld = false;
  /** Why the next attempt is a retry, for the retry counter. */
  private retryReason = '';
  /** When the route timeout fires (ms since epoch); 0 when the route has none. */
  private deadline = 0;
  private routeTimer: NodeJS.Timeout | undefined = undefined;
  private waitTimer: NodeJS.Timeout | undefined = undefined;
  /** Hosts already tried, made on the first retry (most requests never need it). */
  private tried: Set<EndpointState> | undefined = undefined;
  /** The first attempt's host, until a retry needs the set. */
  private firstTried: EndpointState | undefined = undefined;
  /** Priority levels tried, when the route's retries leave them out (retryRemoteLocalities). */
  private priorities: PreviousPriorities | undefined = undefined;

  constructor(mesh: Mesh, d: ForwardDecision, trace: RequestTrace, hash: RequestHash | undefined) {
    this.mesh = mesh;
    this.d = d;
    this.runtime = d.cluster.runtime;
    this.trace = trace;
    this.hash = hash;
  }

  // ---- what the adapter does ----

  /** Answers a fault abort in place of the upstream. */
  protected abstract replyFault(reply: LocalReply): void;
  /** Sends one attempt to `endpoint`; it holds the pending slot taken for it, and a retry slot when `isRetry`. */
  protected abstract send(endpoint: EndpointState, span: AttemptTrace, isRetry: boolean): void;
  /** Ends the request with `err` (a no-op once done); starts with stop(). */
  protected abstract fail(err: Error): void;
  /** ORIGINAL_DST clusters (ServiceEntry resolution NONE): the address the caller named. */
  protected abstract originalDestination(): EndpointState;
  /** Admitted, the route timer running, before the first attempt (mirrors go out here). */
  protected admitted(): void {}

  // ---- the steps ----

  /** Runs the request: fault delay, then the rest. */
  begin(): void {
    const delay = this.d.fault.delayMs;
    if (delay > 0) {
      this.mesh.telemetry?.faultInjected('delay');
      this.waitTimer = setTimeout(() => this.afterDelay(), delay);
    } else {
      this.afterDelay();
    }
  }

  private afterDelay(): void {
    this.waitTimer = undefined;
    if (this.done) return;
    const fault = this.d.fault;
    if (fault.abortStatus !== undefined || fault.abortGrpcStatus !== undefined) {
      this.done = true;
      this.mesh.telemetry?.faultInjected('abort');
      this.trace.end({ status: fault.abortStatus ?? 200, ...(fault.abortGrpcStatus !== undefined && { grpcStatus: fault.abortGrpcStatus }) });
      this.replyFault(faultAbortReply(fault));
      return;
    }
    const admitted = this.runtime.admitRequest();
    if (!(admitted instanceof RequestGrant)) {
      this.mesh.telemetry?.overflowed(this.runtime.name, 'limit' in admitted ? admitted.limit : 'error_rate_breaker');
      this.fail(admitted);
      return;
    }
    this.grant = admitted;
    const timeout = this.d.action.timeoutMs;
    if (timeout > 0) {
      this.deadline = Date.now() + timeout;
      this.routeTimer = setTimeout(() => {
        this.runtime.counters.timeouts++;
        this.fail(new RouteTimeoutError(timeout, routeLabel(this.d.route)));
      }, timeout);
    }
    this.admitted();
    this.attempt();
  }

  private attempt(): void {
    this.waitTimer = undefined;
    if (this.done) return;
    const endpoint = this.nextEndpoint();
    if (!endpoint) {
      const cluster = this.d.cluster;
      this.fail(new NoHealthyUpstreamError(cluster.name, cluster.endpoints.length === 0 ? 'the cluster has no endpoints' : 'no endpoint is healthy or every one is ejected'));
      return;
    }
    const overflow = this.runtime.admitPending();
    if (overflow) {
      this.mesh.telemetry?.overflowed(this.runtime.name, overflow.limit);
      this.fail(overflow);
      return;
    }
    const span = this.trace.attempt(this.attempts, endpoint);
    if (this.attempts > 1) this.mesh.telemetry?.retried(this.runtime.name, this.retryReason);
    const isRetry = this.retryHeld;
    this.retryHeld = false;
    this.send(endpoint, span, isRetry);
  }

  /** The next attempt's endpoint, counted as attempted; undefined when no host may take it. */
  private nextEndpoint(): EndpointState | undefined {
    const cluster = this.d.cluster;
    const retry = this.d.action.retry;
    if (retry?.previousPrioritiesUpdateFrequency !== undefined) this.priorities ??= new PreviousPriorities(retry.previousPrioritiesUpdateFrequency);
    const avoid = retry?.avoidPreviousHosts === true;
    const endpoint = cluster.originalDst
      ? this.originalDestination()
      : cluster.loadBalancer.pick(avoid ? this.triedHosts() : undefined, retry?.hostSelectionAttempts ?? 1, this.hash?.hash, this.priorities);
    if (!endpoint) return undefined;
    this.attempts++;
    if (avoid) {
      if (this.tried) this.tried.add(endpoint);
      else this.firstTried = endpoint;
    }
    this.priorities?.onHostAttempted(endpoint);
    return endpoint;
  }

  private triedHosts(): Set<EndpointState> | undefined {
    if (!this.tried && this.firstTried) this.tried = new Set([this.firstTried]);
    return this.tried;
  }

  /**
   * May the request go again after `outcome`? `replayable`: the adapter can still send it whole.
   * A yes holds a retry slot for the next attempt; go on with retryAfterBackoff().
   */
  protected mayRetry(outcome: Outcome, replayable: boolean): boolean {
    const retry = this.d.action.retry;
    if (!retry || this.attempts > retry.numRetries || !replayable) return false;
    if (this.deadline > 0 && Date.now() >= this.deadline) return false;
    if (!isRetriable(retry, outcome)) return false;
    // The retry needs a slot under max_retries (or the retry budget); without one the failure
    // stands (Envoy's upstream_rq_retry_overflow).
    if (!this.runtime.admitRetry()) return false;
    this.retryHeld = true;
    return true;
  }

  /** The next attempt, after the route's back-off; `reason` names why for the retry counter. */
  protected retryAfterBackoff(reason: string): void {
    this.retryReason = reason;
    const wait = backoffMs(this.d.action.retry!, this.attempts);
    if (wait <= 0) queueMicrotask(() => this.attempt());
    else this.waitTimer = setTimeout(() => this.attempt(), wait);
  }

  /** A failed attempt (nothing forwarded to the caller yet): retry when allowed, else fail with it. */
  protected retryOrFail(outcome: Outcome, err: Error, replayable: boolean, reason: string): void {
    if (this.mayRetry(outcome, replayable)) {
      this.retryAfterBackoff(reason);
      return;
    }
    this.fail(outcome.kind === 'per-try-timeout' ? err : new UpstreamError(this.d.cluster.name, this.attempts, err));
  }

  /** A response that is not retried: one that followed retries and succeeded counts as such. */
  protected responded(status: number): void {
    if (this.attempts > 1 && status < 500) this.runtime.counters.retrySuccess++;
  }

  /** The request's own bookkeeping ends: no timer fires any more, a retry slot not used goes back. */
  protected stop(): void {
    this.done = true;
    if (this.routeTimer) clearTimeout(this.routeTimer);
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.routeTimer = this.waitTimer = undefined;
    if (this.retryHeld) {
      this.retryHeld = false;
      this.runtime.endRetry();
    }
  }
}
