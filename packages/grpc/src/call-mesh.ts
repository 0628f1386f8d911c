// One gRPC call through the mesh, after the config selector chose its route and cluster. The
// order, once (the same as the HTTP adapter's, so one config means one behaviour):
//   1. fault delay, then fault abort (Envoy's fault filter runs before the router)
//   2. local answers: a route error, a direct response or a redirect ends the call here
//   3. the route timeout starts (it covers every attempt and back-off); the caller's own
//      deadline, enforced by grpc-js, still wins when it is shorter
//   4. per attempt: the cluster's balancer picks an endpoint (avoiding ones already tried when
//      the policy says so) → connect within the cluster's connect timeout → open the stream with
//      the per-try timeout until response headers → classify how it ended → retry after
//      back-off, or answer the caller
// Circuit breakers sit at the cluster, through core's ClusterRuntime as for HTTP: the call is
// admitted once (max_requests, i.e. http2MaxRequests, and the optional error-rate breaker)
// before its first attempt and fails fast with UNAVAILABLE when over; each attempt waits for its
// connection under max_pending_requests; each retry needs a retry slot (max_retries or the
// budget). Every attempt's outcome feeds the cluster's outlier detector.
// Commit rules follow gRFC A6/A44: the call commits to an attempt when response headers or a
// message arrive, or when more has been sent than the replay buffer holds; after that nothing is
// retried. Until then every message the caller sends is kept and replayed to the next attempt.
// Fields are plain rather than #private, as the HTTP adapters' request-lifecycle.ts explains.

import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import {
  backoffMs, decisionAttributes, effectiveStatus, isRetriable, NoHealthyUpstreamError, PreviousPriorities, RequestGrant, RouteTimeoutError, UpstreamError, rewritePath, routeLabel,
  type ClusterRuntime, type EndpointState, type Outcome, type RequestTrace,
} from '@meshlet/core';
import { Attempt, type AttemptOwner, type SubchannelCall, type SubchannelCallListener } from './call-attempt.ts';
import { formatGrpcTimeout, parseGrpcTimeout } from './call-deadline.ts';
import { startMirrors, type Mirrors } from './call-mirror.ts';
import { ReplayBuffer } from './call-replay-buffer.ts';
import { grpcReading, isLocalFailure, type AttemptStatus } from './call-outcome.ts';
import type { Connection, MeshLoadBalancer } from './load-balancer-mesh.ts';
import { Upstream, type CallPlan, type MeshTarget } from './mesh-target.ts';
import { mutateMetadata } from './metadata-view.ts';
import { httpToGrpcStatus, meshStatus } from './status-mesh.ts';

export type { SubchannelCallListener };

type MessageContext = Parameters<SubchannelCall['sendMessageWithContext']>[0];
type AuthContext = ReturnType<SubchannelCall['getAuthContext']>;

const PREVIOUS_ATTEMPTS = 'grpc-previous-rpc-attempts';

/** Calls that leave the mesh all go the same way. */
const PASSTHROUGH = new Upstream(undefined);

export class MeshCall implements AttemptOwner {
  private readonly lb: MeshLoadBalancer;
  private readonly target: MeshTarget;
  private readonly plan: CallPlan;
  private readonly metadata: Metadata;
  private readonly host: string;
  private readonly listener: SubchannelCallListener;
  // What every attempt reads (AttemptRequest): set before the first one starts.
  readonly callNumber: number;
  authority = '';
  path = '';
  perTryTimeoutMs = 0;
  connectTimeoutMs = 0;
  waitForReady = false;
  private readonly callerDeadline: number;
  /** grpc-js put the caller's deadline in the metadata as grpc-timeout (each attempt sends its own). */
  private readonly callerTimeout: boolean;
  private upstream: Upstream | undefined;
  private attemptMetadata: Metadata | undefined;
  private routeDeadline = Infinity;

  private current: Attempt | undefined;
  private last: Attempt | undefined;
  private attempts = 0;
  /** Endpoints already tried, when the retry policy avoids previous hosts: made on the first retry. */
  private tried: Set<EndpointState> | undefined;
  /** The first attempt's endpoint, until a retry needs the set (most calls never do). */
  private firstTried: EndpointState | undefined;
  /** Priority levels tried, when the route's retries leave them out (retryRemoteLocalities): made on the first retry. */
  private priorities: PreviousPriorities | undefined;

  /** What the caller sent, kept for replay while the call may still be retried. */
  private readonly sent: ReplayBuffer;
  private committed = false;
  private readRequested = false;
  private done = false;

  private runtime: ClusterRuntime | undefined;
  private grant: RequestGrant | undefined;
  /** A retry slot taken for the next attempt, not yet handed to it. */
  private retryHeld = false;
  private retryReason = '';
  private trace: RequestTrace | undefined;
  private mirrors: Mirrors | undefined;

  private delayTimer: NodeJS.Timeout | undefined;
  private routeTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;

  constructor(lb: MeshLoadBalancer, target: MeshTarget, plan: CallPlan, metadata: Metadata, host: string, method: string, listener: SubchannelCallListener, callNumber: number) {
    this.lb = lb;
    this.target = target;
    this.plan = plan;
    this.metadata = metadata;
    this.host = host;
    this.path = method;
    this.listener = listener;
    this.callNumber = callNumber;
    this.sent = new ReplayBuffer(lb.retryBufferBytes);
    const timeout = metadata.get('grpc-timeout');
    this.callerTimeout = timeout.length > 0;
    const callerMs = parseGrpcTimeout(timeout[0]);
    this.callerDeadline = callerMs === undefined ? Infinity : Date.now() + callerMs;
  }

  /** True while start() runs inside grpc-js's createCall: an answer then must wait a tick. */
  private starting = false;

  /**
   * Runs the call. The common path (a forward to a connected endpoint) opens the stream right
   * away; an answer the mesh gives at once (no route, abort, overflow) reaches grpc-js on the
   * next tick, after createCall has returned the call it belongs to.
   */
  start(): void {
    this.starting = true;
    try {
      this.begin();
    } finally {
      this.starting = false;
    }
  }

  private begin(): void {
    if (this.done) return;
    const d = this.plan.decision;
    const mesh = this.target.mesh;
    // No SDK listening: skip building the attributes too (they cost as much as routing).
    if (d.kind !== 'passthrough' && mesh.telemetry && !mesh.telemetry.idle()) {
      const attrs = decisionAttributes(d);
      if (mesh.mode === 'observe') attrs['meshlet.mode'] = 'observe';
      this.trace = mesh.telemetry.startRequest({
        protocol: 'grpc', method: this.plan.method, url: `grpc://${this.target.authority}${this.plan.method}`,
        serverAddress: this.target.host, serverPort: this.target.port, mesh: attrs,
        headers: metadataHeaders(this.metadata), path: this.plan.method,
      });
    }
    if (d.kind === 'passthrough' && !this.target.passthrough && mesh.mode !== 'observe') {
      this.finish(meshStatus(Status.UNAVAILABLE, `the control plane has no service ${this.target.authority} (listener ${this.target.authority}); xds:/// targets reach only services the mesh knows, use mesh:/// to send other hosts straight to their address`, 'MESHLET_NO_SERVICE'));
      return;
    }
    // Observe mode: the decision is recorded, the call goes where the caller pointed, as if
    // there were no mesh.
    if (d.kind === 'passthrough' || mesh.mode === 'observe') {
      this.upstream = PASSTHROUGH;
      this.startForwarding();
      return;
    }
    if (d.kind === 'error') {
      this.finish(meshStatus(Status.UNAVAILABLE, `${d.error.message} (target ${this.target.authority})`, d.error.code), d.error);
      return;
    }
    if (d.fault.delayMs > 0) {
      mesh.telemetry?.faultInjected('delay');
      this.startDelay(d.fault.delayMs);
      return;
    }
    this.afterDelay();
  }

  // Timers and deferred answers get their closures from small methods of their own: V8 makes a
  // function's closure context each time it runs, whichever branch is taken, and the common
  // path needs none.

  private startDelay(ms: number): void {
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.afterDelay();
    }, ms);
  }

  private startRouteTimer(up: Upstream): void {
    this.routeDeadline = Date.now() + up.timeoutMs;
    this.routeTimer = setTimeout(() => {
      this.routeTimer = undefined;
      if (this.runtime) this.runtime.counters.timeouts++;
      const err = new RouteTimeoutError(up.timeoutMs, up.label);
      this.finish(meshStatus(Status.DEADLINE_EXCEEDED, `${err.message} (cluster ${up.cluster}, ${this.attempts} attempt(s))`, err.code), err);
    }, up.timeoutMs);
  }

  private retryAfter(ms: number): void {
    this.backoffTimer = setTimeout(() => this.nextAttempt(), ms);
  }

  private answerNextTick(status: StatusObject): void {
    process.nextTick(() => this.listener.onReceiveStatus(status));
  }

  private afterDelay(): void {
    if (this.done) return;
    const d = this.plan.decision;
    if (d.kind !== 'forward' && d.kind !== 'direct' && d.kind !== 'redirect') return;
    const fault = d.fault;
    if (fault.abortGrpcStatus !== undefined || fault.abortStatus !== undefined) {
      const code = fault.abortGrpcStatus ?? httpToGrpcStatus(fault.abortStatus!);
      const what = fault.abortGrpcStatus !== undefined ? `grpc-status ${fault.abortGrpcStatus}` : `HTTP ${fault.abortStatus}`;
      this.target.mesh.telemetry?.faultInjected('abort');
      this.finish(meshStatus(code, `fault filter abort (${what}) by route ${routeLabel(d.route)}`, 'MESHLET_FAULT_ABORT'));
      return;
    }
    switch (d.kind) {
      case 'direct': {
        const body = d.action.body ? `: ${d.action.body}` : '';
        this.finish(meshStatus(httpToGrpcStatus(d.action.status), `route ${routeLabel(d.route)} answers directly with HTTP ${d.action.status}${body}`, 'MESHLET_DIRECT_RESPONSE'));
        return;
      }
      case 'redirect':
        this.finish(meshStatus(httpToGrpcStatus(d.action.status), `route ${routeLabel(d.route)} redirects (HTTP ${d.action.status}); gRPC does not follow redirects`, 'MESHLET_REDIRECT'));
        return;
      case 'forward': {
        const runtime = d.cluster.runtime;
        const admitted = runtime.admitRequest();
        if (!(admitted instanceof RequestGrant)) {
          // Overflow fails fast, is never retried, and says the mesh refused it.
          this.target.mesh.telemetry?.overflowed(runtime.name, 'limit' in admitted ? admitted.limit : 'error_rate_breaker');
          this.finish(meshStatus(Status.UNAVAILABLE, `${admitted.message} (route ${routeLabel(d.route)})`, admitted.code), admitted);
          return;
        }
        this.runtime = runtime;
        this.grant = admitted;
        // The same for every call of the plan; a kept plan serves many (config-selector-mesh.ts).
        this.upstream = this.plan.upstream ??= new Upstream(d);
        this.startForwarding();
      }
    }
  }

  private startForwarding(): void {
    const up = this.upstream!;
    const d = up.decision;
    // The request as every attempt sends it: route and weighted-cluster header mutations,
    // rewrites, and the logical authority the caller addressed.
    // grpc-js cloned this metadata for this call alone (LoadBalancingCall); it is ours to change.
    const md = this.metadata;
    if (this.callerTimeout) md.remove('grpc-timeout');
    if (d?.rewritesRequestHeaders) {
      mutateMetadata(md, d.route.requestHeaders);
      mutateMetadata(md, d.target.requestHeaders);
    }
    this.attemptMetadata = md;
    this.authority = d?.action.hostRewrite ?? this.host;
    if (d?.action.rewrite) this.path = rewritePath(d.action.rewrite, this.path);
    // A route without retries (and every passthrough call) makes one attempt: like Envoy, which
    // buffers a request body only while a retry may still need it, keep nothing for replay.
    if (!up.retry || up.retry.numRetries === 0) this.sent.noReplay();
    this.perTryTimeoutMs = up.retry?.perTryTimeoutMs ?? 0;
    this.connectTimeoutMs = up.connectTimeoutMs;
    this.waitForReady = this.metadata.getOptions().waitForReady === true;
    if (up.timeoutMs > 0) this.startRouteTimer(up);
    if (d && d.action.mirrors.length > 0) {
      this.mirrors = startMirrors(this.target.mesh, this.lb, d.action.mirrors, md, this.authority, this.path, this.callNumber);
      // What the caller sent during a fault delay is still held here, before any attempt.
      for (const m of this.sent.messages) this.mirrors?.write(m);
      if (this.sent.halfClosed) this.mirrors?.halfClose();
    }
    this.nextAttempt();
  }

  private pick(): EndpointState | undefined {
    const d = this.upstream!.decision;
    if (!d || d.cluster.originalDst) return this.lb.directEndpoint;
    const retry = d.action.retry;
    // A first attempt has no priority to leave yet: the filter is made on the first retry and
    // told where that attempt went (most calls never retry).
    if (retry?.previousPrioritiesUpdateFrequency !== undefined && this.attempts > 0 && !this.priorities) {
      this.priorities = new PreviousPriorities(retry.previousPrioritiesUpdateFrequency);
      this.priorities.onHostAttempted(this.last!.endpoint);
    }
    if (!this.tried && this.firstTried) this.tried = new Set([this.firstTried]);
    return d.cluster.loadBalancer.pick(this.tried, retry?.hostSelectionAttempts ?? 1, this.plan.hash, this.priorities);
  }

  private nextAttempt(): void {
    this.backoffTimer = undefined;
    if (this.done) return;
    const up = this.upstream!;
    const endpoint = this.pick();
    if (!endpoint) {
      const cluster = up.decision!.cluster;
      const err = new NoHealthyUpstreamError(cluster.name, cluster.endpoints.length === 0 ? 'the cluster has no endpoints' : 'no endpoint is healthy or every one is ejected');
      this.finish(meshStatus(Status.UNAVAILABLE, `${err.message} (route ${up.label})`, err.code), err);
      return;
    }
    let connection: Connection;
    try {
      connection = this.lb.connection(up.decision && !up.decision.cluster.originalDst ? up.decision.cluster : undefined, endpoint);
    } catch (err) {
      // Certificates the cluster's TLS needs are missing: nothing is sent, and never in plaintext.
      const e = err as Error & { code?: string };
      this.finish(meshStatus(Status.UNAVAILABLE, `${e.message} (cluster ${up.cluster})`, e.code ?? 'MESHLET_CERTIFICATE'), e);
      return;
    }
    const runtime = this.runtime;
    const overflow = runtime?.admitPending();
    if (overflow) {
      this.target.mesh.telemetry?.overflowed(runtime!.name, overflow.limit);
      this.finish(meshStatus(Status.UNAVAILABLE, `${overflow.message} (route ${up.label})`, overflow.code), overflow);
      return;
    }
    this.attempts++;
    if (up.retry?.avoidPreviousHosts) {
      if (this.tried) this.tried.add(endpoint);
      else this.firstTried = endpoint;
    }
    this.priorities?.onHostAttempted(endpoint);
    // The first attempt sends the call's metadata as it is; a retry sends a copy (the first
    // attempt's stream may still hold the original).
    const md = this.attempts === 1 ? this.attemptMetadata! : this.attemptMetadata!.clone();
    if (this.attempts > 1) md.set(PREVIOUS_ATTEMPTS, String(this.attempts - 1));
    const deadline = Math.min(this.callerDeadline, this.routeDeadline);
    if (deadline !== Infinity) md.set('grpc-timeout', formatGrpcTimeout(deadline - Date.now()));
    const span = this.trace?.attempt(this.attempts, endpoint);
    if (span) {
      // traceparent (and whatever else the application's propagator carries) per attempt.
      const carrier: Record<string, string | string[]> = {};
      span.inject(carrier);
      for (const [k, v] of Object.entries(carrier)) md.set(k, Array.isArray(v) ? v.join(',') : v);
    }
    if (this.attempts > 1 && runtime) this.target.mesh.telemetry?.retried(runtime.name, this.retryReason);
    const attempt = new Attempt(this, connection, endpoint, this.attempts, runtime, this.retryHeld, span);
    this.retryHeld = false;
    this.current = this.last = attempt;
    attempt.start(md);
  }

  // ---- what attempts report ----

  attemptOpened(attempt: Attempt): void {
    if (this.done || attempt !== this.current) return;
    const call = attempt.call!;
    this.sent.replayTo(call);
    if (this.readRequested) call.startRead();
  }

  attemptHeaders(attempt: Attempt, metadata: Metadata): void {
    if (this.done || attempt !== this.current) return;
    this.commit();
    const d = this.upstream?.decision;
    if (d?.rewritesResponseHeaders) {
      mutateMetadata(metadata, d.route.responseHeaders);
      mutateMetadata(metadata, d.target.responseHeaders);
    }
    if (this.attempts > 1) metadata.set(PREVIOUS_ATTEMPTS, String(this.attempts - 1));
    this.listener.onReceiveMetadata(metadata);
  }

  attemptMessage(attempt: Attempt, message: unknown): void {
    if (this.done || attempt !== this.current) return;
    this.commit();
    this.listener.onReceiveMessage(message);
  }

  attemptEnded(attempt: Attempt, status: AttemptStatus, outcomes: readonly Outcome[]): void {
    if (this.done || attempt !== this.current) return;
    this.current = undefined;
    // Outlier detection hears every attempt's verdict: how it failed on the wire, or the gRPC
    // status the server ended it with (UNAVAILABLE counts as a 503, as Envoy maps it).
    // A status the mesh produced itself (a refusal before sending) says nothing about the endpoint.
    if (this.runtime && (status.code === Status.OK || status.metadata.get('meshlet-error').length === 0)) this.runtime.record(attempt.endpoint, outcomes[0] ?? grpcReading(status.code));
    if (this.committed || status.code === Status.OK) {
      if (status.code === Status.OK && this.attempts > 1 && this.runtime) this.runtime.counters.retrySuccess++;
      attempt.span?.end(verdict(status, outcomes));
      this.finish(status);
      return;
    }
    const wait = this.retryWait(status, outcomes);
    if (wait !== undefined) {
      this.retryReason = retryReason(outcomes);
      attempt.span?.end({ ...verdict(status, outcomes), retryReason: this.retryReason });
      this.retryAfter(wait);
      return;
    }
    attempt.span?.end(verdict(status, outcomes));
    this.finish(this.finalStatus(status, outcomes));
  }

  // ---- decisions ----

  /** Milliseconds to wait before the next attempt, or undefined when this failure stands. */
  private retryWait(status: StatusObject, outcomes: readonly Outcome[]): number | undefined {
    const retry = this.upstream?.retry;
    if (!retry || this.attempts > retry.numRetries) return undefined;
    if (!this.sent.replayable) return undefined;
    const now = Date.now();
    if (now >= this.routeDeadline || now >= this.callerDeadline) return undefined;
    if (!outcomes.some((o) => isRetriable(retry, o))) return undefined;
    // gRFC A6 server pushback: a server may say when to come back, or (negative, malformed) not to.
    const pushback = status.metadata.get('grpc-retry-pushback-ms')[0];
    let wait: number;
    if (pushback !== undefined) {
      const ms = typeof pushback === 'string' && /^\d+$/.test(pushback) ? Number(pushback) : -1;
      if (ms < 0) return undefined;
      wait = ms;
    } else {
      wait = backoffMs(retry, this.attempts);
    }
    // The retry needs a slot under max_retries (or the retry budget); without one the failure
    // stands (Envoy's upstream_rq_retry_overflow).
    if (this.runtime) {
      if (!this.runtime.admitRetry()) return undefined;
      this.retryHeld = true;
    }
    return wait;
  }

  /** The status the caller sees for a failure that will not be retried. */
  private finalStatus(status: AttemptStatus, outcomes: readonly Outcome[]): StatusObject {
    const up = this.upstream!;
    const metadata = status.metadata;
    if (this.attempts > 1) metadata.set(PREVIOUS_ATTEMPTS, String(this.attempts - 1));
    const first = outcomes[0];
    if (first?.kind === 'per-try-timeout') {
      const s = meshStatus(Status.DEADLINE_EXCEEDED, `${first.error.message} (route ${up.label}, cluster ${up.cluster}, attempt ${this.attempts})`, 'MESHLET_PER_TRY_TIMEOUT');
      s.metadata.merge(metadata);
      return s;
    }
    if (isLocalFailure(outcomes)) {
      // No server answered: say which cluster and how many tries, as Envoy's local reply does.
      const err = new UpstreamError(up.cluster, this.attempts, new Error(status.details));
      const s = meshStatus(status.code, err.message, err.code);
      s.metadata.merge(metadata);
      return s;
    }
    // The server's own status is the server's answer; the mesh does not reword it.
    return { code: status.code, details: status.details, metadata };
  }

  private commit(): void {
    if (this.committed) return;
    this.committed = true;
    this.sent.commit();
  }

  /** Ends the call with `status`; `error` is the mesh's reason when the mesh ended it. */
  private finish(status: StatusObject, error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    const attempt = this.current;
    this.current = undefined;
    if (attempt && !attempt.finished) attempt.span?.end({ error: error ?? new Error(status.details) });
    attempt?.cancel(Status.CANCELLED, status.details);
    this.sent.clear();
    // Mirrors that have the whole request finish on their own; one still waiting for messages
    // would wait forever.
    if (!this.sent.halfClosed) this.mirrors?.cancel();
    this.release(status.code);
    this.trace?.end(error ? { grpcStatus: status.code, error } : { grpcStatus: status.code });
    // Only the code, details and metadata: an RST_STREAM code here would make grpc-js retry the
    // whole call transparently, behind the mesh's back. A status without one (every answer the
    // server gave in trailers) goes on as it is.
    const out = (status as AttemptStatus).rstCode === undefined ? status : { code: status.code, details: status.details, metadata: status.metadata };
    if (this.starting) this.answerNextTick(out);
    else this.listener.onReceiveStatus(out);
  }

  /** Gives back the call's circuit-breaker slots; `code` settles the error-rate breaker's verdict. */
  private release(code: number): void {
    if (this.retryHeld) {
      this.retryHeld = false;
      this.runtime?.endRetry();
    }
    this.grant?.end(effectiveStatus(grpcReading(code)) < 500);
    this.grant = undefined;
  }

  private clearTimers(): void {
    if (this.delayTimer) clearTimeout(this.delayTimer);
    if (this.routeTimer) clearTimeout(this.routeTimer);
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.delayTimer = this.routeTimer = this.backoffTimer = undefined;
  }

  // ---- the SubchannelCall surface grpc-js drives ----

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.done) {
      context.callback?.();
      return;
    }
    this.mirrors?.write(message);
    this.sent.write(context, message, this.current?.call);
  }

  halfClose(): void {
    if (this.done) return;
    this.mirrors?.halfClose();
    this.sent.halfClose(this.current?.call);
  }

  startRead(): void {
    this.readRequested = true;
    if (!this.done) this.current?.call?.startRead();
  }

  cancelWithStatus(code: number, details: string): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    const attempt = this.current;
    this.current = undefined;
    if (attempt && !attempt.finished) attempt.span?.end({ error: new Error(details) });
    attempt?.cancel(code, details);
    this.sent.clear();
    this.mirrors?.cancel();
    // A caller's own cancel or deadline says nothing about the upstream's health.
    this.release(Status.OK);
    this.trace?.end({ grpcStatus: code });
    // The caller's own end (cancel, its deadline): reported a tick later, as grpc-js transports do.
    process.nextTick(() => this.listener.onReceiveStatus({ code, details, metadata: new Metadata() }));
  }

  getPeer(): string {
    return this.last?.call?.getPeer() ?? this.last?.endpoint.key ?? this.target.authority;
  }

  getCallNumber(): number {
    return this.callNumber;
  }

  getDeadlineInfo(): string[] {
    const up = this.upstream;
    const info = [up ? `meshlet route ${up.label}, cluster ${up.cluster}` : 'meshlet: before routing'];
    if (this.attempts > 0) info.push(`attempt ${this.attempts}${this.last ? ` to ${this.last.endpoint.key}` : ''}`);
    if (this.backoffTimer) info.push('waiting to retry');
    return info;
  }

  getAuthContext(): AuthContext {
    return this.last?.call?.getAuthContext() ?? ({} as AuthContext);
  }
}

/** How an attempt ended, for its span: the failure on the wire, or the status as HTTP sees it. */
function verdict(status: StatusObject, outcomes: readonly Outcome[]): { error: Error } | { status: number } {
  const first = outcomes[0];
  return first && first.kind !== 'response' ? { error: first.error } : { status: effectiveStatus(grpcReading(status.code)) };
}

/** Why a call is retried, for the retry counter (Envoy-style reason names). */
function retryReason(outcomes: readonly Outcome[]): string {
  const o = outcomes[0];
  if (!o) return 'unknown';
  if (o.kind !== 'response') return o.kind.replace(/-/g, '_');
  return o.grpcStatus !== undefined ? `grpc_status_${o.grpcStatus}` : `status_${o.status}`;
}

/** String metadata as headers, for Telemetry custom tags and tag overrides. */
function metadataHeaders(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') out[k] = v;
  return out;
}
