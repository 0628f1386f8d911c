// One try of a mesh request against one endpoint: an undici handler whose events go to its
// owner (the MeshRequest), which decides what they mean. The attempt itself only keeps the
// endpoint's and the cluster's counters true (active, pending, retry slot) and runs the
// per-try timer until response headers arrive. Plain fields, not #private ones, as in
// request-lifecycle.ts.

import type { Dispatcher } from 'undici';
import { PerTryTimeoutError } from '@meshlet/core/adapter';
import type { AttemptTrace, ClusterRuntime, EndpointState } from '@meshlet/core';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/** What an attempt reports to; MeshRequest implements it. */
export interface AttemptOwner {
  /** Response headers arrived; returns true when the response goes to the caller. */
  headersArrived(attempt: Attempt, controller: Controller, status: number, headers: Headers, message: string | undefined): boolean;
  data(attempt: Attempt, chunk: Buffer): void;
  end(attempt: Attempt, trailers: Headers): void;
  failed(attempt: Attempt, err: Error, perTryTimeout: boolean): void;
}

// What a finished attempt reports to: nothing. undici may hold a finished attempt for a while
// (a caller's handler keeps the queued-abort hook that names undici's request, and that request
// its handler) and with it whatever it reports to; a finished attempt lets go of its
// MeshRequest, so a request that is over is garbage however long those live. Otherwise the
// whole request (options, headers, trace, grant) survives scavenges in a closed loop, and V8
// starts allocating its objects straight into old space (docs/benchmarks.md, "Where the time goes").
const RELEASED: AttemptOwner = {
  headersArrived: () => false,
  data() {},
  end() {},
  failed() {},
};

/** One try against one endpoint. Its events go to the MeshRequest, which decides what they mean. */
export class Attempt implements Handler {
  declare private req: AttemptOwner;
  declare private readonly runtime: ClusterRuntime;
  declare readonly endpoint: EndpointState;
  declare readonly span: AttemptTrace;
  /** Holds a retry slot until it finishes. */
  declare private readonly isRetry: boolean;
  /** Counted in the cluster's pending requests until a connection takes it. */
  private pending = true;
  private controller: Controller | null = null;
  private timer: NodeJS.Timeout | undefined = undefined;
  private timeoutError: PerTryTimeoutError | undefined = undefined;
  private finished = false;
  private forwarding = false;

  constructor(req: AttemptOwner, runtime: ClusterRuntime, endpoint: EndpointState, isRetry: boolean, span: AttemptTrace) {
    this.req = req;
    this.span = span;
    this.runtime = runtime;
    this.endpoint = endpoint;
    this.isRetry = isRetry;
  }

  private endPending(): void {
    if (!this.pending) return;
    this.pending = false;
    this.runtime.endPending();
  }

  startPerTryTimer(ms: number): void {
    this.timer = setTimeout(() => {
      const err = new PerTryTimeoutError(ms, this.endpoint.key);
      this.timeoutError = err;
      if (this.controller) this.controller.abort(err);
      else this.onResponseError(null, err);
    }, ms);
  }

  /** Stops counting this attempt against its endpoint. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.req = RELEASED;
    if (this.timer) clearTimeout(this.timer);
    this.endpoint.active--;
    this.endPending();
    if (this.isRetry) this.runtime.endRetry();
  }

  abort(err: Error): void {
    this.controller?.abort(err);
    this.finish();
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    this.endPending();
    if (this.finished) controller.abort(new Error('attempt superseded'));
  }

  onResponseStart(controller: Controller, status: number, headers: Record<string, string | string[] | undefined>, message?: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.forwarding = this.req.headersArrived(this, controller, status, headers, message);
    // A response we are not forwarding (retried, or superseded) is cut off rather than drained:
    // Envoy resets the upstream stream too.
    if (!this.forwarding) controller.abort(new Error('response discarded for a retry'));
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.forwarding) this.req.data(this, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: Record<string, string | string[] | undefined>): void {
    if (this.forwarding) this.req.end(this, trailers);
    else this.finish();
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    if (this.finished && !this.forwarding) return;
    this.req.failed(this, this.timeoutError ?? err, this.timeoutError !== undefined);
  }
}
