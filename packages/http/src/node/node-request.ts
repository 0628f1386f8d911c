// One node:http request through the mesh: the concrete → endpoint half of the stack, after the
// router decided route and cluster. The lifecycle — fault, admission, route timeout, endpoint
// choice, retries — is RequestLifecycle's (shared with MeshRequest); this class executes it with
// what node:http allows:
//   - prepare(), before the request's header is written: the route's header and path rewrites
//     and the trace context go into the ClientRequest itself
//   - a fault abort is answered by a ReplySocket: the client sees a response
//   - an attempt waits for a socket that is up (endpoint-pool.ts) under max_pending and the
//     per-try timeout until response headers, and its outcome feeds outlier detection
//   - a retry happens only while no byte of the request has left (the socket is handed to the
//     ClientRequest only once connected, so a connect failure, a refused connection, a failed TLS
//     handshake or identity check, or a per-try timeout while connecting can go to another
//     endpoint). A ClientRequest cannot be written twice, so once it has its socket the outcome
//     stands: a 5xx response reaches the caller, a reset fails it.
// The caller's ClientRequest sees one socket, one response (or one error).

import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { classifyError, EndpointState, PerTryTimeoutError, UpstreamError, rewritePath } from '@meshlet/core/adapter';
import type { AttemptTrace, ClusterConfig, ForwardDecision, Mesh, MutableHeaders, Outcome, RequestHash, RequestTrace } from '@meshlet/core';
import { mutateRequestHeaders, mutateResponseHeaders, responseHeadersUnchanged } from '../header-policy.ts';
import type { LocalReply } from '../local-reply.ts';
import { RequestLifecycle } from '../request-lifecycle.ts';
import type { ClusterPool } from './cluster-pool.ts';
import type { SocketWaiter } from './endpoint-pool.ts';
import { ReplySocket } from './reply-socket.ts';

/** Where attempts get their connections. */
export interface NodePools {
  /** Throws CertificateError when the endpoint needs mesh TLS and the process has no certificates. */
  poolFor(cluster: ClusterConfig, endpoint: EndpointState): ClusterPool;
}

class Waiter implements SocketWaiter {
  cancelled = false;
  private readonly owner: NodeMeshRequest;
  constructor(owner: NodeMeshRequest) { this.owner = owner; }
  onSocket(socket: Socket, reused: boolean): void { this.owner.socketReady(this, socket, reused); }
  onConnectError(err: Error): void { this.owner.connectFailed(this, err); }
}

export class NodeMeshRequest extends RequestLifecycle {
  private readonly req: ClientRequest;
  private readonly pools: NodePools;
  /** The host and port the caller named (ORIGINAL_DST clusters connect there). */
  private readonly host: string;
  private readonly port: number;
  private perTryTimer: NodeJS.Timeout | undefined = undefined;
  private waiter: Waiter | undefined = undefined;
  // The live attempt, and what it holds: the endpoint's active count, a pending slot, a retry slot.
  private endpoint: EndpointState | undefined = undefined;
  private span: AttemptTrace | undefined = undefined;
  private active = false;
  private pending = false;
  private attemptRetry = false;
  private socket: Socket | undefined = undefined;
  private res: IncomingMessage | undefined = undefined;
  private status = 0;
  private callerAborted = false;

  constructor(mesh: Mesh, d: ForwardDecision, req: ClientRequest, pools: NodePools, trace: RequestTrace, hash: RequestHash | undefined, host: string, port: number) {
    super(mesh, d, trace, hash);
    this.req = req;
    this.pools = pools;
    this.host = host;
    this.port = port;
    // Ahead of the caller's own listener (http.request(url, cb) adds it first), so outlier
    // detection sees the status and the response headers are the route's before anyone reads them.
    req.prependListener('response', this.onResponse);
    // An upgrade (101) or CONNECT answer hands the socket to the caller: the request is over.
    req.prependListener('upgrade', this.onUpgrade);
    req.prependListener('connect', this.onUpgrade);
  }

  /** Before the request's header is written: the route's header and path rewrites, the trace context. */
  prepare(headers: MutableHeaders): void {
    const req = this.req;
    if (this.d.rewritesRequestHeaders) {
      const after: MutableHeaders = { ...headers };
      mutateRequestHeaders(this.d, after);
      for (const k in headers) if (after[k] === undefined) req.removeHeader(k);
      for (const k in after) if (after[k] !== headers[k]) req.setHeader(k, after[k]!);
    }
    const carrier: Record<string, string | string[]> = {};
    this.trace.inject(carrier);
    for (const k in carrier) req.setHeader(k, carrier[k]!);
    const path = rewritePath(this.d.action.rewrite, req.path);
    if (path !== req.path) req.path = path;
  }

  protected override replyFault(reply: LocalReply): void {
    this.req.onSocket(new ReplySocket(reply, this.req.method) as unknown as Socket);
  }

  protected override originalDestination(): EndpointState {
    return new EndpointState(this.host, this.port);
  }

  protected override send(endpoint: EndpointState, span: AttemptTrace, isRetry: boolean): void {
    this.pending = true;
    this.endpoint = endpoint;
    endpoint.active++;
    this.active = true;
    this.attemptRetry = isRetry;
    this.span = span;
    const perTry = this.d.action.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) this.perTryTimer = setTimeout(() => this.perTryTimeout(perTry), perTry);
    const waiter = new Waiter(this);
    this.waiter = waiter;
    let pool: ClusterPool;
    try {
      pool = this.pools.poolFor(this.d.cluster, endpoint);
    } catch (err) {
      this.connectFailed(waiter, err as Error);
      return;
    }
    pool.acquire(endpoint, waiter);
  }

  // ---- from the pool ----

  socketReady(w: Waiter, socket: Socket, reused: boolean): void {
    if (w !== this.waiter || this.done) {
      // Not wanted any more: straight back to the pool.
      socket.emit('free');
      return;
    }
    this.waiter = undefined;
    this.endPending();
    this.socket = socket;
    this.req.reusedSocket = reused;
    socket.on('error', this.onSocketError);
    socket.once('close', this.onSocketClose);
    this.req.onSocket(socket);
  }

  connectFailed(w: Waiter, err: Error): void {
    if (w !== this.waiter || this.done) return;
    this.waiter = undefined;
    // Nothing was sent: the connection never came up. A connect failure, whatever the cause.
    this.attemptFailed(classifyError(err, true), err, 'connect_failure');
  }

  private perTryTimeout(ms: number): void {
    this.perTryTimer = undefined;
    if (this.done) return;
    const err = new PerTryTimeoutError(ms, this.endpoint!.key);
    if (this.socket === undefined) {
      // Still connecting or queued: nothing was sent, so the request may go elsewhere.
      if (this.waiter) this.waiter.cancelled = true;
      this.waiter = undefined;
      this.attemptFailed({ kind: 'per-try-timeout', error: err }, err, 'per_try_timeout');
      return;
    }
    this.runtime.record(this.endpoint!, { kind: 'per-try-timeout', error: err });
    this.fail(err);
  }

  /** An attempt that sent nothing failed: retry it elsewhere when the policy allows. */
  private attemptFailed(outcome: Outcome, err: Error, reason: string): void {
    this.runtime.record(this.endpoint!, outcome);
    this.span?.end({ error: err });
    this.span = undefined;
    this.endAttempt();
    this.retryOrFail(outcome, err, true, reason);
  }

  // ---- from the ClientRequest and its socket ----

  private readonly onResponse = (res: IncomingMessage): void => {
    if (this.done || this.socket === undefined || this.res) return;
    this.res = res;
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
    const status = res.statusCode ?? 0;
    this.status = status;
    const grpc = res.headers['grpc-status'];
    this.runtime.record(this.endpoint!, { kind: 'response', status, grpcStatus: typeof grpc === 'string' ? Number(grpc) : undefined, headers: res.headers });
    this.span?.end({ status });
    this.span = undefined;
    this.responded(status);
    if (!responseHeadersUnchanged(this.d, this.hash)) rewriteResponseHeaders(res, this.d, this.hash);
    res.once('close', this.onResponseClose);
  };

  private readonly onUpgrade = (res: IncomingMessage): void => {
    if (this.done || this.socket === undefined || this.res) return;
    const status = res.statusCode ?? 0;
    this.runtime.record(this.endpoint!, { kind: 'response', status, grpcStatus: undefined, headers: res.headers });
    this.span?.end({ status });
    this.span = undefined;
    this.finish();
    this.grant?.end(true);
    this.trace.end({ status });
  };

  private readonly onResponseClose = (): void => {
    if (this.done) return;
    const res = this.res!;
    if (res.complete) {
      this.finish();
      this.grant?.end(this.status < 500);
      this.trace.end({ status: this.status });
      return;
    }
    // Cut off mid-body: by the upstream, or by the caller.
    const err = (res as { errored?: Error | null }).errored ?? new Error('response aborted before its end');
    this.finish();
    this.grant?.end(this.callerAborted);
    this.trace.end({ status: this.status, error: err });
  };

  // Before response headers, the connection broke: the request was (partly) sent, so the error
  // Node gives the caller stands; the mesh records it.
  private readonly onSocketError = (err: Error): void => this.brokeBeforeResponse(err);
  private readonly onSocketClose = (): void => this.brokeBeforeResponse(undefined);

  private brokeBeforeResponse(err: Error | undefined): void {
    if (this.done || this.res) return;
    const error = err ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    // A caller's own abort says nothing about the upstream's health.
    if (!this.callerAborted) this.runtime.record(this.endpoint!, classifyError(error));
    this.span?.end({ error });
    this.span = undefined;
    this.finish();
    this.grant?.end(this.callerAborted);
    this.trace.end({ error: this.callerAborted ? error : new UpstreamError(this.d.cluster.name, this.attempts, error) });
  }

  /** The caller destroyed the request (ClientRequest#destroy, abort(), an AbortSignal). */
  callerDestroyed(): void {
    if (this.done) return;
    this.callerAborted = true;
    // With a socket, Node destroys it and the socket's events end the request here.
    if (this.socket !== undefined) return;
    const err = (this.req as { errored?: Error | null }).errored ?? Object.assign(new Error('request aborted by the caller'), { code: 'ABORT_ERR' });
    this.stopAll();
    this.span?.end({ error: err });
    this.grant?.end(true);
    this.trace.end({ error: err });
    // What Node's own Agent does for a destroyed request still waiting: 'error' (unless
    // abort() was used) and 'close'.
    (this.req.onSocket as (s: Socket | undefined) => void).call(this.req, undefined);
  }

  // ---- ending ----

  /** The mesh fails the request with its own typed error. */
  protected override fail(err: Error): void {
    if (this.done) return;
    this.stopAll();
    this.span?.end({ error: err });
    this.span = undefined;
    this.grant?.end(this.callerAborted);
    this.trace.end({ ...(this.res && { status: this.status }), error: err });
    const socket = this.socket;
    if (socket === undefined) {
      // No socket yet: the request fails as a connection error would, with this error.
      (this.req.onSocket as (s: Socket | undefined, e?: Error) => void).call(this.req, undefined, err);
    } else if (this.res) {
      this.res.destroy(err);
      socket.destroy(err);
    } else {
      this.req.destroy(err);
    }
  }

  /** Ends the request's own bookkeeping (timers, slots, the live attempt). */
  private stopAll(): void {
    this.stop();
    if (this.waiter) this.waiter.cancelled = true;
    this.waiter = undefined;
    this.endAttempt();
  }

  private finish(): void {
    this.stopAll();
    const socket = this.socket;
    if (socket) {
      socket.removeListener('error', this.onSocketError);
      socket.removeListener('close', this.onSocketClose);
    }
  }

  private endPending(): void {
    if (!this.pending) return;
    this.pending = false;
    this.runtime.endPending();
  }

  /** The live attempt stops counting against its endpoint and the cluster. Idempotent. */
  private endAttempt(): void {
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
    this.endPending();
    if (this.active) {
      this.active = false;
      this.endpoint!.active--;
    }
    if (this.attemptRetry) {
      this.attemptRetry = false;
      this.runtime.endRetry();
    }
  }
}

/** The route's response-header changes, in both views of the headers a client may read. */
function rewriteResponseHeaders(res: IncomingMessage, d: ForwardDecision, hash: RequestHash | undefined): void {
  const headers: MutableHeaders = {};
  for (const k in res.headers) {
    const v = res.headers[k];
    if (v !== undefined) headers[k] = v;
  }
  mutateResponseHeaders(d, hash, headers);
  const raw: string[] = [];
  for (const k in headers) {
    const v = headers[k]!;
    if (Array.isArray(v)) for (const one of v) raw.push(k, one);
    else raw.push(k, v);
  }
  (res as { headers: unknown }).headers = headers;
  res.rawHeaders = raw;
}
