// Every error a request can meet inside the mesh, in one file (as undici keeps lib/core/errors.js).
// Each carries a stable `code` and the `reason` a user needs to act on it.

import { formatProblem, type ConfigProblem } from './config-error.ts';

export class MeshError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The request matched a service, but no route of its route table matched the request. */
export class NoRouteError extends MeshError {
  constructor(message: string) {
    super('MESHLET_NO_ROUTE', message);
  }
}

/**
 * The host is not a service of the mesh and Istio's outbound traffic policy is REGISTRY_ONLY:
 * an Envoy sidecar sends such a request to its BlackHoleCluster (502). Raised in the embedded mode
 * (MeshConfig, Sidecar) and in the sidecar profile (istiod's virtualOutbound and block_all). The
 * message names the policy, what set it, and the Sidecar that left the host out of scope when one did.
 */
export class OutboundBlockedError extends MeshError {
  constructor(message: string) {
    super('MESHLET_OUTBOUND_BLOCKED', message);
  }
}

/** The chosen cluster has no endpoint that may take traffic. */
export class NoHealthyUpstreamError extends MeshError {
  readonly cluster: string;
  constructor(cluster: string, detail: string) {
    super('MESHLET_NO_HEALTHY_UPSTREAM', `no healthy upstream in cluster ${cluster}: ${detail}`);
    this.cluster = cluster;
  }
}

/** A route named a cluster the snapshot does not hold (config still converging, or a bad reference). */
export class ClusterNotFoundError extends MeshError {
  readonly cluster: string;
  constructor(cluster: string, route: string) {
    super('MESHLET_CLUSTER_NOT_FOUND', `route ${route} sends to cluster ${cluster}, which the mesh does not know`);
    this.cluster = cluster;
  }
}

/** The route timeout elapsed before the response completed (Envoy answers 504 here). */
export class RouteTimeoutError extends MeshError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, route: string) {
    super('MESHLET_ROUTE_TIMEOUT', `upstream request timeout: route ${route} allows ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** One attempt got no response headers within the retry policy's per-try timeout. */
export class PerTryTimeoutError extends MeshError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, endpoint: string) {
    super('MESHLET_PER_TRY_TIMEOUT', `no response headers from ${endpoint} within the per-try timeout of ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** Every attempt failed without a response; `cause` is the last attempt's error. */
export class UpstreamError extends MeshError {
  readonly cluster: string;
  readonly attempts: number;
  constructor(cluster: string, attempts: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('MESHLET_UPSTREAM_FAILURE', `upstream connect error or disconnect/reset before headers in cluster ${cluster} after ${attempts} attempt(s): ${why}`, { cause });
    this.cluster = cluster;
    this.attempts = attempts;
  }
}

/**
 * Config could not be loaded at start-up: a missing path, a bad bootstrap, or config files with
 * errors (every one listed). At run time a bad edit is reported and the last good config kept.
 */
export class ConfigError extends MeshError {
  /** Each problem as one line, `file:line: Kind ns/name: field: message`. */
  readonly problems: readonly string[];
  /** The problems found in config files, as records (file, line, kind, namespace, name, field, message). */
  readonly details: readonly ConfigProblem[];
  constructor(message: string, problems: readonly string[] | readonly ConfigProblem[] = []) {
    const lines = problems.map((p) => (typeof p === 'string' ? p : formatProblem(p)));
    super('MESHLET_CONFIG', lines.length ? `${message}\n  ${lines.join('\n  ')}` : message);
    this.problems = lines;
    this.details = problems.filter((p): p is ConfigProblem => typeof p !== 'string');
  }
}

const ISTIO_FIELD: Record<string, string> = {
  max_requests: 'connectionPool.http.http2MaxRequests',
  max_pending_requests: 'connectionPool.http.http1MaxPendingRequests',
  max_connections: 'connectionPool.tcp.maxConnections',
  max_retries: 'connectionPool.http.maxRetries',
};

/** A circuit-breaker limit of the cluster was reached; the request was failed at once (Envoy: 503 with x-envoy-overloaded). */
export class OverflowError extends MeshError {
  readonly cluster: string;
  readonly limit: string;
  readonly value: number;
  constructor(cluster: string, limit: 'max_requests' | 'max_pending_requests' | 'max_connections', value: number) {
    super('MESHLET_OVERFLOW', `upstream overflow: cluster ${cluster} is at its circuit-breaker limit ${limit}=${value} (DestinationRule ${ISTIO_FIELD[limit]}); the mesh failed the request without sending it`);
    this.cluster = cluster;
    this.limit = limit;
    this.value = value;
  }
}

/** The optional error-rate breaker (createMesh({ breaker })) is open for this cluster. */
export class CircuitOpenError extends MeshError {
  readonly cluster: string;
  constructor(cluster: string, detail: string) {
    super('MESHLET_CIRCUIT_OPEN', `circuit open for cluster ${cluster}: ${detail}; the mesh failed the request without sending it`);
    this.cluster = cluster;
  }
}
