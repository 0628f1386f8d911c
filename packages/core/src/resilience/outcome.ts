// One classifier decides what an attempt's outcome is; retries, outlier detection, breakers and
// metrics all read the same verdict (Finagle's ResponseClassifier, linkerd's classify).

export type Outcome =
  | { readonly kind: 'response'; readonly status: number; readonly grpcStatus: number | undefined; readonly headers?: Readonly<Record<string, unknown>> }
  /** The connection could not be made (refused, unreachable, connect timeout, TLS handshake). */
  | { readonly kind: 'connect-failure'; readonly error: Error }
  /** The connection or stream broke before response headers arrived. */
  | { readonly kind: 'reset'; readonly error: Error }
  /** An HTTP/2 stream refused by the server (REFUSED_STREAM): nothing was processed. */
  | { readonly kind: 'refused-stream'; readonly error: Error }
  /** No response headers within the per-try timeout. */
  | { readonly kind: 'per-try-timeout'; readonly error: Error };

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET_BEFORE_CONNECT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EADDRNOTAVAIL',
]);

/**
 * Sorts a transport error into connect-failure / refused-stream / reset. `beforeConnect`: the
 * adapter knows the error came before the connection was up (TCP connect and TLS handshake,
 * nothing sent), so it is a connect failure whatever its code — Envoy counts a failed TLS
 * handshake (a wrong peer identity included) as upstream_cx_connect_fail too.
 */
export function classifyError(error: Error, beforeConnect = false): Outcome {
  if (beforeConnect) return { kind: 'connect-failure', error };
  const code = errorCode(error);
  if (code !== undefined && CONNECT_CODES.has(code)) return { kind: 'connect-failure', error };
  if (code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(error.message)) return { kind: 'refused-stream', error };
  return { kind: 'reset', error };
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
  }
  return undefined;
}

/** Did the attempt succeed, for outlier detection and metrics: a response below 500. */
export function isSuccess(o: Outcome): boolean {
  return o.kind === 'response' && o.status < 500;
}

const GRPC_STATUS: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };
export function grpcStatusForToken(token: string): number | undefined {
  return GRPC_STATUS[token];
}

// Envoy's Grpc::Utility::grpcToHttpStatus: how a gRPC status counts as an HTTP status for
// outlier detection and stats.
const GRPC_TO_HTTP = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/**
 * The HTTP status an outcome counts as for outlier detection: the response status (or its
 * gRPC status mapped as Envoy maps it); a connect failure or reset counts as 503 and a per-try
 * timeout as 504, as Envoy does when local-origin errors are not split out.
 */
export function effectiveStatus(o: Outcome): number {
  switch (o.kind) {
    case 'response':
      if (o.grpcStatus !== undefined && o.status === 200) return GRPC_TO_HTTP[o.grpcStatus] ?? 500;
      return o.status;
    case 'per-try-timeout': return 504;
    default: return 503;
  }
}

/** Did the failure happen on our side of the wire (no upstream response at all)? */
export function isLocalOrigin(o: Outcome): boolean {
  return o.kind !== 'response';
}
