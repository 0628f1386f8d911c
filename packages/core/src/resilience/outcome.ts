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

/** Sorts a transport error into connect-failure / refused-stream / reset. */
export function classifyError(error: Error): Outcome {
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
