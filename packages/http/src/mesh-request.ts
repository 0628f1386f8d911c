// One request through the mesh for undici (MeshAgent): the concrete → endpoint half of the stack,
// after the router has decided the route and cluster. The lifecycle — fault, admission, route
// timeout, endpoint choice, retries — is RequestLifecycle's; this class executes it with undici:
// each attempt is an undici dispatch on its endpoint's connection pool with the per-try timeout until
// response headers (attempt.ts), its outcome classified once, and the response handed to the
// caller or retried. undici hands over the whole request, so a body held in memory can be sent
// again and every retry condition applies, response statuses included.
// The caller's handler sees one request: one controller, one response (or one error). Every
// attempt's outcome feeds the cluster's outlier detector.

import type { Dispatcher } from 'undici';
import { EndpointState, classifyError, rewritePath } from '@meshlet/core/adapter';
import type { AttemptTrace, ForwardDecision, Mesh, MutableHeaders, Outcome, RequestHash, RequestTrace } from '@meshlet/core';
import type { ClusterTransports } from './cluster-transports.ts';
import { Attempt, type AttemptOwner } from './attempt.ts';
import { mutateRequestHeaders, mutateResponseHeaders, responseHeadersUnchanged } from './header-policy.ts';
import { OuterController } from './outer-controller.ts';
import { sendLocalReply, type LocalReply } from './local-reply.ts';
import { sendMirrors } from './mirror.ts';
import { isReplayableBody, serverNameOf } from './request-headers.ts';
import { NO_ATTEMPT_TRACE, NO_TRACE } from './no-trace.ts';
import { RequestLifecycle } from './request-lifecycle.ts';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

export class MeshRequest extends RequestLifecycle implements AttemptOwner {
  declare private readonly opts: Dispatcher.DispatchOptions;
  declare private readonly headers: MutableHeaders;
  declare private readonly handler: Handler;
  declare private readonly transports: ClusterTransports;
  declare private readonly outer: OuterController;
  declare private readonly replayable: boolean;
  declare private readonly path: string;
  private current: Attempt | undefined = undefined;
  private responseStarted = false;
  private status = 0;

  constructor(mesh: Mesh, d: ForwardDecision, opts: Dispatcher.DispatchOptions, headers: MutableHeaders, handler: Handler, transports: ClusterTransports, trace: RequestTrace, hash: RequestHash | undefined) {
    super(mesh, d, trace, hash);
    this.opts = opts;
    this.headers = headers;
    this.handler = handler;
    this.transports = transports;
    this.outer = new OuterController(this);
    this.replayable = isReplayableBody(opts.body);
    this.path = rewritePath(d.action.rewrite, opts.path);
  }

  start(): void {
    this.handler.onRequestStart?.(this.outer, {});
    if (this.outer.aborted) return;
    this.begin();
  }

  protected override replyFault(reply: LocalReply): void {
    sendLocalReply(this.handler, this.outer, reply.status, reply.headers, reply.body, this.opts.method);
  }

  protected override admitted(): void {
    if (this.d.action.mirrors.length > 0) sendMirrors(this.mesh, this.d.action.mirrors, this.opts, this.path, this.upstreamHeaders(), this.transports);
  }

  protected override send(endpoint: EndpointState, span: AttemptTrace, isRetry: boolean): void {
    const cluster = this.d.cluster;
    const attempts = this.attempts;
    // The first attempt sends the request's own header record (MeshAgent's copy of the
    // caller's) when nothing would change it; every other attempt, and mirrors, get a copy.
    const headers = attempts === 1 && span === NO_ATTEMPT_TRACE && !this.d.rewritesRequestHeaders ? this.headers : this.upstreamHeaders();
    if (attempts > 1) headers['x-envoy-attempt-count'] = String(attempts);
    span.inject(headers);
    const attempt = new Attempt(this, this.runtime, endpoint, isRetry, span);
    this.current = attempt;
    endpoint.active++;
    const perTry = this.d.action.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) attempt.startPerTryTimer(perTry);
    const host = headers['host'];
    try {
      // Straight to the endpoint's own pool: the transport's look-up already knows the cluster.
      const target = this.transports.target(cluster, endpoint);
      target.pool.dispatch(
        // `servername` (read by undici's Request, though not in its types): the caller's, else
        // what undici would derive from the Host header, remembered (request-headers.ts says why).
        {
          ...this.opts, origin: target.origin, path: this.path, headers: headers as Record<string, string | string[]>,
          servername: (this.opts as { servername?: string }).servername ?? (typeof host === 'string' ? serverNameOf(host) : undefined),
        } as Dispatcher.DispatchOptions,
        attempt,
      );
    } catch (err) {
      attempt.onResponseError(null, err as Error);
    }
  }

  /** The request headers as the upstream sees them: route and cluster mutations, the logical Host. */
  private upstreamHeaders(): MutableHeaders {
    // MeshAgent always sets the logical Host in the record it hands over.
    const headers: MutableHeaders = { ...this.headers };
    mutateRequestHeaders(this.d, headers);
    return headers;
  }

  protected override originalDestination(): EndpointState {
    const origin = typeof this.opts.origin === 'string' ? new URL(this.opts.origin) : this.opts.origin!;
    return new EndpointState(origin.hostname, origin.port ? Number(origin.port) : 80);
  }

  // ---- called by the live Attempt ----

  /** Response headers arrived: retry, or hand the response to the caller. Returns false to drop this attempt. */
  headersArrived(attempt: Attempt, controller: Controller, status: number, headers: Record<string, string | string[] | undefined>, message: string | undefined): boolean {
    if (this.done || attempt !== this.current) return false;
    const grpc = headers['grpc-status'];
    const outcome: Outcome = { kind: 'response', status, grpcStatus: typeof grpc === 'string' ? Number(grpc) : undefined, headers };
    this.runtime.record(attempt.endpoint, outcome);
    if (this.mayRetry(outcome, this.replayable && !this.outer.aborted)) {
      const reason = `status_${status}`;
      attempt.span.end({ status, retryReason: reason });
      attempt.finish();
      this.current = undefined;
      this.retryAfterBackoff(reason);
      return false;
    }
    this.responseStarted = true;
    this.status = status;
    // No telemetry SDK (the shared no-op trace): no outcome record to build for it.
    if (attempt.span !== NO_ATTEMPT_TRACE) attempt.span.end({ status });
    this.responded(status);
    this.outer.steer(controller);
    // Nothing to change (the common case): hand undici's headers on as they are, uncopied.
    if (responseHeadersUnchanged(this.d, this.hash)) {
      this.handler.onResponseStart?.(this.outer, status, headers as MutableHeaders, message);
      return true;
    }
    // A cookie hash policy that generated its key hands the cookie back, as Envoy does.
    const out: MutableHeaders = {};
    for (const k in headers) { const v = headers[k]; if (v !== undefined) out[k] = v; }
    mutateResponseHeaders(this.d, this.hash, out);
    this.handler.onResponseStart?.(this.outer, status, out, message);
    return true;
  }

  data(attempt: Attempt, chunk: Buffer): void {
    if (this.done || attempt !== this.current) return;
    this.handler.onResponseData?.(this.outer, chunk);
  }

  end(attempt: Attempt, trailers: Record<string, string | string[] | undefined>): void {
    attempt.finish();
    if (this.done || attempt !== this.current) return;
    this.stop();
    this.grant?.end(this.status < 500);
    if (this.trace !== NO_TRACE) this.trace.end({ status: this.status });
    this.handler.onResponseEnd?.(this.outer, trailers);
    this.outer.release();
  }

  failed(attempt: Attempt, err: Error, perTryTimeout: boolean): void {
    attempt.finish();
    if (this.done || attempt !== this.current) return;
    if (this.responseStarted) {
      this.fail(err);
      return;
    }
    const outcome: Outcome = perTryTimeout ? { kind: 'per-try-timeout', error: err } : classifyError(err);
    if (!this.outer.aborted) this.runtime.record(attempt.endpoint, outcome);
    attempt.span.end({ error: err });
    this.current = undefined;
    this.retryOrFail(outcome, err, this.replayable && !this.outer.aborted, outcome.kind.replace(/-/g, '_'));
  }

  // ---- ending ----

  protected override fail(err: Error): void {
    if (this.done) return;
    this.stop();
    const attempt = this.current;
    this.current = undefined;
    attempt?.abort(err);
    // A caller's own abort says nothing about the upstream's health.
    this.grant?.end(this.outer.aborted);
    attempt?.span.end({ error: err });
    this.trace.end({ ...(this.responseStarted && { status: this.status }), error: err });
    this.handler.onResponseError?.(this.outer, err);
    this.outer.release();
  }

  /** The caller aborted through its controller. */
  callerAborted(reason: Error): void {
    if (this.done) return;
    this.fail(reason);
  }
}
