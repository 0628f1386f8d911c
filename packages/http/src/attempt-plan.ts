// The host choice and retry admission of one forwarded request, shared by both HTTP adapters
// (MeshRequest for undici, NodeMeshRequest for node:http) so they pick and retry alike:
//   next(): pick an endpoint — the caller's own address on ORIGINAL_DST clusters, else the
//     cluster's balancer, avoiding hosts already tried (previous_hosts) and priority levels
//     already tried (previous_priorities) when the route's retry policy says so
//   mayRetry(outcome): the retry policy's verdict (attempts left, route deadline, retryOn) and,
//     when it says yes, a retry slot under max_retries or the retry budget
// The adapters execute; the decisions live here and in core.

import {
  EndpointState, isRetriable, NoHealthyUpstreamError, PreviousPriorities,
  type ForwardDecision, type Outcome, type RequestHash,
} from '@meshlet/core';

export class AttemptPlan {
  readonly #d: ForwardDecision;
  readonly #hash: RequestHash | undefined;
  /** The address the caller named, for ORIGINAL_DST clusters. */
  readonly #original: () => EndpointState;
  /** Hosts already tried, made on the first retry (most requests never need it). */
  #tried: Set<EndpointState> | undefined;
  /** The first attempt's host, until a retry needs the set. */
  #firstTried: EndpointState | undefined;
  /** Priority levels tried, when the route's retries leave them out (retryRemoteLocalities). */
  #priorities: PreviousPriorities | undefined;
  /** Attempts started so far. */
  attempts = 0;
  /** When the route timeout fires (ms since epoch); 0 when the route has none. */
  deadline = 0;

  constructor(d: ForwardDecision, hash: RequestHash | undefined, original: () => EndpointState) {
    this.#d = d;
    this.#hash = hash;
    this.#original = original;
  }

  /** The next attempt's endpoint, counted as attempted; undefined when no host may take it. */
  next(): EndpointState | undefined {
    const cluster = this.#d.cluster;
    const retry = this.#d.action.retry;
    if (retry?.previousPrioritiesUpdateFrequency !== undefined) this.#priorities ??= new PreviousPriorities(retry.previousPrioritiesUpdateFrequency);
    const endpoint = cluster.originalDst
      ? this.#original()
      : cluster.loadBalancer.pick(retry?.avoidPreviousHosts ? this.#triedHosts() : undefined, retry?.hostSelectionAttempts ?? 1, this.#hash?.hash, this.#priorities);
    if (!endpoint) return undefined;
    this.attempts++;
    if (retry?.avoidPreviousHosts) {
      if (this.#tried) this.#tried.add(endpoint);
      else this.#firstTried = endpoint;
    }
    this.#priorities?.onHostAttempted(endpoint);
    return endpoint;
  }

  /** The error when next() found no host. */
  noHost(): NoHealthyUpstreamError {
    const cluster = this.#d.cluster;
    return new NoHealthyUpstreamError(cluster.name, cluster.endpoints.length === 0 ? 'the cluster has no endpoints' : 'no endpoint is healthy or every one is ejected');
  }

  /**
   * May the request go again after `outcome`? `replayable`: the adapter can still send the
   * request whole (a buffered body; for node:http, nothing written to any connection yet).
   * A yes holds a retry slot: the adapter releases it with the runtime's endRetry().
   */
  mayRetry(outcome: Outcome, replayable: boolean): boolean {
    const retry = this.#d.action.retry;
    if (!retry || this.attempts > retry.numRetries || !replayable) return false;
    if (this.deadline > 0 && Date.now() >= this.deadline) return false;
    if (!isRetriable(retry, outcome)) return false;
    // The retry needs a slot under max_retries (or the retry budget); without one the failure
    // stands (Envoy's upstream_rq_retry_overflow).
    return this.#d.cluster.runtime.admitRetry();
  }

  #triedHosts(): Set<EndpointState> | undefined {
    if (!this.#tried && this.#firstTried) this.#tried = new Set([this.#firstTried]);
    return this.#tried;
  }
}
