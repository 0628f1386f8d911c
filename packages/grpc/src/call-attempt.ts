// One try of a mesh call against one endpoint: wait for (or open) the endpoint's connection
// within the cluster's connect timeout, start the HTTP/2 stream, and bound it with the per-try
// timeout until response headers arrive. What its end means — retry, or the call's answer — is
// the MeshCall's decision; the attempt only reports what happened, in core's Outcome terms.
// It is its stream's listener itself (no closures per call), and keeps plain fields rather than
// #private ones, as the HTTP adapters' request-lifecycle.ts explains.

import { connectivityState as ConnectivityState, Metadata, status as Status, type experimental } from '@grpc/grpc-js';
import { PerTryTimeoutError, type AttemptTrace, type ClusterRuntime, type EndpointState, type Outcome } from '@meshlet/core';
import { connectFailureOutcomes, NO_OUTCOMES, statusOutcomes, type AttemptStatus } from './call-outcome.ts';
import type { Connection } from './load-balancer-mesh.ts';
import { meshStatus } from './status-mesh.ts';

type RealSubchannel = ReturnType<experimental.SubchannelInterface['getRealSubchannel']>;
export type SubchannelCall = ReturnType<RealSubchannel['createCall']>;
export type SubchannelCallListener = Parameters<RealSubchannel['createCall']>[3];
type StateListener = Parameters<experimental.SubchannelInterface['addConnectivityStateListener']>[0];

/**
 * What an attempt tells the call it belongs to, and what it reads of it: every attempt of a
 * call goes to the same place with the same limits, so they are the call's fields, not an
 * object made per attempt.
 */
export interface AttemptOwner extends AttemptRequest {
  /** The stream is open: send it what the call has buffered. */
  attemptOpened(attempt: Attempt): void;
  attemptHeaders(attempt: Attempt, metadata: Metadata): void;
  attemptMessage(attempt: Attempt, message: unknown): void;
  /** The attempt is over. `outcomes` reads it for the retry policy when it ended before response headers. */
  attemptEnded(attempt: Attempt, status: AttemptStatus, outcomes: readonly Outcome[]): void;
}

export interface AttemptRequest {
  readonly authority: string;
  readonly path: string;
  readonly callNumber: number;
  readonly perTryTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /**
   * The caller asked for wait-for-ready: a failed connect is waited out (until the call's
   * deadline) instead of failing the attempt, as grpc-js does for a channel in TRANSIENT_FAILURE.
   */
  readonly waitForReady: boolean;
}

export class Attempt implements SubchannelCallListener {
  readonly endpoint: EndpointState;
  readonly number: number;
  /**
   * The call, until the attempt is over. Let go then: the stream's objects can outlive the call
   * (grpc-js keeps its stream's listener, this attempt, until they are collected), and through
   * the call they held the caller's whole grpc-js call chain, which then survived scavenges.
   */
  private owner: AttemptOwner | undefined;
  private readonly subchannel: experimental.SubchannelInterface;
  private readonly connection: Connection;
  /** The open stream, once there is one. */
  call: SubchannelCall | undefined = undefined;
  private stateListener: StateListener | undefined = undefined;
  private connectTimer: NodeJS.Timeout | undefined = undefined;
  private perTryTimer: NodeJS.Timeout | undefined = undefined;
  private headers = false;
  finished = false;
  /** The cluster whose circuit-breaker slots the attempt holds (none for calls that leave the mesh). */
  private readonly runtime: ClusterRuntime | undefined;
  /** A retry slot (max_retries or the retry budget) was taken for this attempt. */
  private readonly isRetry: boolean;
  /** Counted in the cluster's pending requests (max_pending_requests) until its stream opens. */
  private pending: boolean;

  /** The attempt's span, when telemetry is on; the call ends it with the attempt's verdict. */
  readonly span: AttemptTrace | undefined;

  constructor(owner: AttemptOwner, connection: Connection, endpoint: EndpointState, number: number, runtime: ClusterRuntime | undefined, isRetry: boolean, span: AttemptTrace | undefined) {
    this.owner = owner;
    this.span = span;
    this.connection = connection;
    this.subchannel = connection.subchannel;
    this.endpoint = endpoint;
    this.number = number;
    this.runtime = runtime;
    this.isRetry = isRetry;
    this.pending = runtime !== undefined;
  }

  private endPending(): void {
    if (!this.pending) return;
    this.pending = false;
    this.runtime!.endPending();
  }

  /**
   * Starts the attempt with the metadata it sends (the call's own for the first, a copy for a
   * retry). The common case, a connected endpoint, makes no closure: the ones the other cases
   * need live in methods of their own, since V8 allocates a function's closure context each
   * time it runs, whichever branch is taken.
   */
  start(metadata: Metadata): void {
    // Counted from the start, connection wait included: least-request balancing should see
    // an endpoint that is still connecting as busy.
    this.endpoint.active++;
    this.connection.active++;
    const tls = this.connection.tls;
    if (tls && !tls.applied) {
      this.refuseWithoutTls();
      return;
    }
    const perTry = this.owner!.perTryTimeoutMs;
    if (perTry > 0) this.startPerTry(perTry);
    const state = this.subchannel.getConnectivityState();
    if (state === ConnectivityState.READY) {
      this.open(metadata);
      return;
    }
    if (state === ConnectivityState.TRANSIENT_FAILURE && !this.owner!.waitForReady) {
      // A connect to this endpoint just failed and grpc-js is backing off: as Envoy would
      // on a refused connect, fail this attempt over to another endpoint now.
      this.failInBackoff(this.connection.lastError ?? 'connection failed');
      return;
    }
    this.watch(metadata, state);
  }

  private refuseWithoutTls(): void {
    // grpc-js built this connection from credentials other than Meshlet's, so it would not
    // carry the cluster's TLS. Nothing is sent, not even a connection attempt, and it is not
    // retried: every endpoint of the cluster would be the same.
    const s = meshStatus(Status.UNAVAILABLE, `cluster ${this.connection.cluster} requires TLS, but this channel's credentials are not Meshlet's; create the client with meshCredentials() from @meshlet/grpc so each cluster gets its certificates`, 'MESHLET_CERTIFICATE');
    queueMicrotask(() => {
      if (!this.finished) this.end(s, []);
    });
  }

  private startPerTry(ms: number): void {
    this.perTryTimer = setTimeout(() => this.perTryTimeout(ms), ms);
  }

  private failInBackoff(why: string): void {
    queueMicrotask(() => this.connectFailed(`${why} (the endpoint is in reconnect back-off)`));
  }

  /** Waits for the endpoint's connection (opening it when idle) within the cluster's connect timeout. */
  private watch(metadata: Metadata, state: ConnectivityState): void {
    const req = this.owner!;
    const sc = this.subchannel;
    this.stateListener = (_sc, _prev, next, _keepalive, errorMessage) => {
      if (this.finished) return;
      if (next === ConnectivityState.READY) {
        this.stopWatching();
        // grpc-js announces READY before it stores the new transport (subchannel.ts); the
        // stream can be opened once that listener round is over.
        process.nextTick(() => this.open(metadata));
      } else if (next === ConnectivityState.TRANSIENT_FAILURE) {
        this.connection.lastError = errorMessage;
        // Wait-for-ready: grpc-js moves the subchannel back to IDLE after its back-off, and the
        // IDLE branch connects again.
        if (req.waitForReady) return;
        this.stopWatching();
        this.connectFailed(errorMessage ?? 'connection failed');
      } else if (next === ConnectivityState.IDLE) {
        sc.startConnecting();
      }
    };
    sc.addConnectivityStateListener(this.stateListener);
    if (state === ConnectivityState.IDLE) sc.startConnecting();
    if (req.connectTimeoutMs > 0 && !req.waitForReady) {
      this.connectTimer = setTimeout(() => {
        this.stopWatching();
        this.connectFailed(`no connection within the cluster's connect timeout of ${req.connectTimeoutMs} ms`);
      }, req.connectTimeoutMs);
    }
  }

  private open(metadata: Metadata): void {
    if (this.finished) return;
    const req = this.owner!;
    try {
      this.call = this.subchannel.getRealSubchannel().createCall(metadata, req.authority, req.path, this, req.callNumber);
    } catch (err) {
      // The connection went away between READY and the stream: nothing was sent.
      this.connectFailed((err as Error).message);
      return;
    }
    this.endPending();
    req.attemptOpened(this);
  }

  // ---- the stream's listener ----

  onReceiveMetadata(metadata: Metadata): void {
    if (this.finished) return;
    this.headers = true;
    this.clearPerTry();
    this.owner!.attemptHeaders(this, metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (!this.finished) this.owner!.attemptMessage(this, message);
  }

  onReceiveStatus(status: AttemptStatus): void {
    if (this.finished) return;
    this.end(status, this.headers ? NO_OUTCOMES : statusOutcomes(status));
  }

  private connectFailed(reason: string): void {
    if (this.finished) return;
    const error = new Error(`connect to ${this.endpoint.key} failed: ${reason}`);
    this.end({ code: Status.UNAVAILABLE, details: error.message, metadata: new Metadata() }, connectFailureOutcomes(error));
  }

  private perTryTimeout(ms: number): void {
    this.perTryTimer = undefined;
    if (this.finished) return;
    const error = new PerTryTimeoutError(ms, this.endpoint.key);
    const call = this.call;
    this.end({ code: Status.DEADLINE_EXCEEDED, details: error.message, metadata: new Metadata() }, [{ kind: 'per-try-timeout', error }]);
    // Envoy resets the upstream stream of a timed-out try.
    call?.cancelWithStatus(Status.CANCELLED, error.message);
  }

  /** Ends the attempt from the call's side (caller cancelled, route timeout, a retry won). */
  cancel(code: number, details: string): void {
    if (this.finished) return;
    this.finish();
    this.call?.cancelWithStatus(code, details);
  }

  private end(status: AttemptStatus, outcomes: readonly Outcome[]): void {
    const owner = this.owner!;
    this.finish();
    owner.attemptEnded(this, status, outcomes);
  }

  private finish(): void {
    this.finished = true;
    this.owner = undefined;
    this.stopWatching();
    this.clearPerTry();
    this.endpoint.active--;
    this.connection.active--;
    this.endPending();
    if (this.isRetry) this.runtime?.endRetry();
  }

  private clearPerTry(): void {
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
  }

  private stopWatching(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.stateListener) this.subchannel.removeConnectivityStateListener(this.stateListener);
    this.stateListener = undefined;
  }
}
