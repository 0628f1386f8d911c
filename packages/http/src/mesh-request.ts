// One request through the mesh: the concrete → endpoint half of the stack, after the router has
// decided the route and cluster. The order, once:
//   1. fault delay, then fault abort (Envoy's fault filter runs before the router)
//   2. route timeout starts (it covers every attempt and back-off, until the response ends)
//   3. per attempt: pick an endpoint (avoiding ones already tried when the policy says so) →
//      dispatch on the cluster's transport with the per-try timeout until response headers →
//      classify the outcome → retry after back-off, or hand the response to the caller
// The caller's handler sees one request: one controller, one response (or one error).
// Circuit breakers sit at the cluster: the request is admitted once (max_requests, and the
// optional error-rate breaker) before its first attempt, each attempt waits for a connection
// under max_pending_requests, and each retry needs a retry slot (max_retries or the budget).
// Every attempt's outcome feeds the cluster's outlier detector.

import type { Dispatcher } from 'undici';
import {
  backoffMs, EndpointState, classifyError, RouteTimeoutError,
  UpstreamError, RequestGrant, rewritePath, routeLabel,
  type ClusterRuntime, type ForwardDecision, type Mesh, type MutableHeaders, type Outcome, type RequestHash, type RequestTrace,
} from '@meshlet/core';
import type { ClusterTransports } from './cluster-transports.ts';
import { Attempt, type AttemptOwner } from './attempt.ts';
import { AttemptPlan } from './attempt-plan.ts';
import { mutateRequestHeaders, mutateResponseHeaders, requestHeadersUnchanged, responseHeadersUnchanged } from './header-policy.ts';
import { OuterController } from './outer-controller.ts';
import { faultAbortReply, sendLocalReply } from './local-reply.ts';
import { sendMirrors } from './mirror.ts';
import { isReplayableBody } from './request-headers.ts';
import { NO_ATTEMPT_TRACE } from './no-trace.ts';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

export class MeshRequest implements AttemptOwner {
  readonly #d: ForwardDecision;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #headers: MutableHeaders;
  readonly #handler: Handler;
  readonly #transports: ClusterTransports;
  readonly #outer: OuterController;
  readonly #replayable: boolean;
  readonly #path: string;
  /** Host choice and retry admission (shared with the node:http adapter). */
  readonly #plan: AttemptPlan;
  #routeTimer: NodeJS.Timeout | undefined;
  #waitTimer: NodeJS.Timeout | undefined;
  #current: Attempt | undefined;
  #done = false;
  #responded = false;
  #status = 0;
  #grant: RequestGrant | undefined;
  /** A retry slot taken for the next attempt, not yet handed to it. */
  #retryHeld = false;
  readonly #runtime: ClusterRuntime;
  readonly #trace: RequestTrace;
  readonly #mesh: Mesh;
  /** The route's consistent-hash key for RING_HASH / MAGLEV clusters, and a cookie to set. */
  readonly #hash: RequestHash | undefined;
  /** Why the next attempt is a retry, for its span and the retry counter. */
  #retryReason = '';

  constructor(mesh: Mesh, d: ForwardDecision, opts: Dispatcher.DispatchOptions, headers: MutableHeaders, handler: Handler, transports: ClusterTransports, trace: RequestTrace, hash: RequestHash | undefined) {
    this.#mesh = mesh;
    this.#hash = hash;
    this.#trace = trace;
    this.#d = d;
    this.#opts = opts;
    this.#headers = headers;
    this.#handler = handler;
    this.#transports = transports;
    this.#outer = new OuterController((reason) => this.#onCallerAbort(reason));
    this.#replayable = isReplayableBody(opts.body);
    this.#path = rewritePath(d.action.rewrite, opts.path);
    this.#runtime = d.cluster.runtime;
    this.#plan = new AttemptPlan(d, hash, () => this.#originalDestination());
  }

  start(): void {
    this.#handler.onRequestStart?.(this.#outer, {});
    if (this.#outer.aborted) return;
    const fault = this.#d.fault;
    if (fault.delayMs > 0) {
      this.#mesh.telemetry?.faultInjected('delay');
      this.#waitTimer = setTimeout(() => this.#afterDelay(), fault.delayMs);
    } else {
      this.#afterDelay();
    }
  }

  #afterDelay(): void {
    this.#waitTimer = undefined;
    if (this.#done) return;
    const fault = this.#d.fault;
    if (fault.abortStatus !== undefined || fault.abortGrpcStatus !== undefined) {
      this.#done = true;
      this.#mesh.telemetry?.faultInjected('abort');
      this.#trace.end({ status: fault.abortStatus ?? 200, ...(fault.abortGrpcStatus !== undefined && { grpcStatus: fault.abortGrpcStatus }) });
      const reply = faultAbortReply(fault);
      sendLocalReply(this.#handler, this.#outer, reply.status, reply.headers, reply.body, this.#opts.method);
      return;
    }
    const admitted = this.#runtime.admitRequest();
    if (!(admitted instanceof RequestGrant)) {
      // Overflow fails fast and is never retried.
      this.#mesh.telemetry?.overflowed(this.#runtime.name, 'limit' in admitted ? admitted.limit : 'error_rate_breaker');
      this.#fail(admitted);
      return;
    }
    this.#grant = admitted;
    const timeout = this.#d.action.timeoutMs;
    if (timeout > 0) {
      this.#plan.deadline = Date.now() + timeout;
      this.#routeTimer = setTimeout(() => {
        this.#runtime.counters.timeouts++;
        this.#fail(new RouteTimeoutError(timeout, routeLabel(this.#d.route)));
      }, timeout);
    }
    if (this.#d.action.mirrors.length > 0) sendMirrors(this.#mesh, this.#d.action.mirrors, this.#opts, this.#path, this.#upstreamHeaders(), this.#transports);
    this.#attempt();
  }

  #attempt(): void {
    this.#waitTimer = undefined;
    if (this.#done) return;
    const cluster = this.#d.cluster;
    const retry = this.#d.action.retry;
    const endpoint = this.#plan.next();
    if (!endpoint) {
      this.#fail(this.#plan.noHost());
      return;
    }
    const overflow = this.#runtime.admitPending();
    if (overflow) {
      this.#mesh.telemetry?.overflowed(this.#runtime.name, overflow.limit);
      this.#fail(overflow);
      return;
    }
    const attempts = this.#plan.attempts;
    const span = this.#trace.attempt(attempts, endpoint);
    // The first attempt sends the request's own header record (MeshAgent's copy of the
    // caller's) when nothing would change it; every other attempt, and mirrors, get a copy.
    const headers = attempts === 1 && span === NO_ATTEMPT_TRACE && requestHeadersUnchanged(this.#d) ? this.#headers : this.#upstreamHeaders();
    if (attempts > 1) headers['x-envoy-attempt-count'] = String(attempts);
    span.inject(headers);
    if (attempts > 1) this.#mesh.telemetry?.retried(this.#runtime.name, this.#retryReason);
    const attempt = new Attempt(this, this.#runtime, endpoint, this.#retryHeld, span);
    this.#retryHeld = false;
    this.#current = attempt;
    endpoint.active++;
    const perTry = retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) attempt.startPerTryTimer(perTry);
    try {
      this.#transports.for(cluster, endpoint).dispatch(
        { ...this.#opts, origin: this.#transports.origin(cluster, endpoint), path: this.#path, headers: headers as Record<string, string | string[]> },
        attempt,
      );
    } catch (err) {
      attempt.onResponseError(null, err as Error);
    }
  }

  /** The request headers as the upstream sees them: route and cluster mutations, the logical Host. */
  #upstreamHeaders(): MutableHeaders {
    // MeshAgent always sets the logical Host in the record it hands over.
    const headers: MutableHeaders = { ...this.#headers };
    mutateRequestHeaders(this.#d, headers);
    return headers;
  }

  // ORIGINAL_DST (ServiceEntry resolution NONE): the endpoint is the address the caller named.
  #originalDestination(): EndpointState {
    const origin = typeof this.#opts.origin === 'string' ? new URL(this.#opts.origin) : this.#opts.origin!;
    return new EndpointState(origin.hostname, origin.port ? Number(origin.port) : 80);
  }

  // ---- called by the live Attempt ----

  /** Response headers arrived: retry, or hand the response to the caller. Returns false to drop this attempt. */
  headersArrived(attempt: Attempt, controller: Controller, status: number, headers: Record<string, string | string[] | undefined>, message: string | undefined): boolean {
    if (this.#done || attempt !== this.#current) return false;
    const grpc = headers['grpc-status'];
    const outcome: Outcome = { kind: 'response', status, grpcStatus: typeof grpc === 'string' ? Number(grpc) : undefined, headers };
    this.#runtime.record(attempt.endpoint, outcome);
    if (this.#mayRetry(outcome)) {
      this.#retryReason = `status_${status}`;
      attempt.span.end({ status, retryReason: this.#retryReason });
      attempt.finish();
      this.#scheduleRetry();
      return false;
    }
    this.#responded = true;
    this.#status = status;
    attempt.span.end({ status });
    if (this.#plan.attempts > 1 && status < 500) this.#runtime.counters.retrySuccess++;
    this.#outer.target = controller;
    // Nothing to change (the common case): hand undici's headers on as they are, uncopied.
    if (responseHeadersUnchanged(this.#d, this.#hash)) {
      this.#handler.onResponseStart?.(this.#outer, status, headers as MutableHeaders, message);
      return true;
    }
    // A cookie hash policy that generated its key hands the cookie back, as Envoy does.
    const out: MutableHeaders = {};
    for (const k in headers) { const v = headers[k]; if (v !== undefined) out[k] = v; }
    mutateResponseHeaders(this.#d, this.#hash, out);
    this.#handler.onResponseStart?.(this.#outer, status, out, message);
    return true;
  }

  data(attempt: Attempt, chunk: Buffer): void {
    if (this.#done || attempt !== this.#current) return;
    this.#handler.onResponseData?.(this.#outer, chunk);
  }

  end(attempt: Attempt, trailers: Record<string, string | string[] | undefined>): void {
    attempt.finish();
    if (this.#done || attempt !== this.#current) return;
    this.#done = true;
    this.#clearTimers();
    this.#grant?.end(this.#status < 500);
    this.#trace.end({ status: this.#status });
    this.#handler.onResponseEnd?.(this.#outer, trailers);
    this.#outer.release();
  }

  failed(attempt: Attempt, err: Error, perTryTimeout: boolean): void {
    attempt.finish();
    if (this.#done || attempt !== this.#current) return;
    if (this.#responded) {
      this.#fail(err);
      return;
    }
    const outcome: Outcome = perTryTimeout ? { kind: 'per-try-timeout', error: err } : classifyError(err);
    if (!this.#outer.aborted) this.#runtime.record(attempt.endpoint, outcome);
    attempt.span.end({ error: err });
    if (this.#mayRetry(outcome)) {
      this.#retryReason = outcome.kind.replace(/-/g, '_');
      this.#scheduleRetry();
      return;
    }
    this.#fail(perTryTimeout ? err : new UpstreamError(this.#d.cluster.name, this.#plan.attempts, err));
  }

  // ---- decisions ----

  #mayRetry(outcome: Outcome): boolean {
    if (!this.#plan.mayRetry(outcome, this.#replayable && !this.#outer.aborted)) return false;
    this.#retryHeld = true;
    return true;
  }

  #scheduleRetry(): void {
    const retry = this.#d.action.retry!;
    this.#current = undefined;
    const wait = backoffMs(retry, this.#plan.attempts);
    if (wait <= 0) {
      queueMicrotask(() => this.#attempt());
      return;
    }
    this.#waitTimer = setTimeout(() => this.#attempt(), wait);
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimers();
    const attempt = this.#current;
    this.#current = undefined;
    attempt?.abort(err);
    if (this.#retryHeld) {
      this.#retryHeld = false;
      this.#runtime.endRetry();
    }
    // A caller's own abort says nothing about the upstream's health.
    this.#grant?.end(this.#outer.aborted);
    attempt?.span.end({ error: err });
    this.#trace.end({ ...(this.#responded && { status: this.#status }), error: err });
    this.#handler.onResponseError?.(this.#outer, err);
    this.#outer.release();
  }

  #onCallerAbort(reason: Error): void {
    if (this.#done) return;
    this.#fail(reason);
  }

  #clearTimers(): void {
    if (this.#routeTimer) clearTimeout(this.#routeTimer);
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
    this.#routeTimer = this.#waitTimer = undefined;
  }
}

