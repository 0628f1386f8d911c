// How an attempt that ended before its response headers reads to the retry policy. Core's
// classifier speaks Envoy's vocabulary (connect failure, reset, refused stream, a response with a
// status); a grpc-js attempt ends with a gRPC status. Two readings are given where both exist:
// Envoy's (a stream reset is `reset`, retried on 5xx/reset) and gRPC's (the same reset surfaces
// as UNAVAILABLE, retried on `unavailable` under gRFC A44). The call is retried when either
// reading is retriable under the route's policy, so a route written for Envoy and one written
// for proxyless gRPC both behave as their authors expect. The first reading is the one that
// counts for statistics.

import { constants as h2 } from 'node:http2';
import { status as Status, type StatusObject } from '@grpc/grpc-js';
import type { Outcome } from '@meshlet/core';

export interface AttemptStatus extends StatusObject {
  /** The HTTP/2 RST_STREAM code, when grpc-js saw the stream reset. */
  rstCode?: number;
}

const HTTP_STATUS = /^Received HTTP status code (\d+)$/;

// The gRPC reading of each status code, shared: outcomes are only read, and every call that
// ends reads one.
const GRPC_READINGS: readonly Outcome[] = Array.from({ length: 17 }, (_, code) => Object.freeze({ kind: 'response' as const, status: 200, grpcStatus: code }));

/** A status code as a response outcome (HTTP 200 with a grpc-status), as Envoy reads a gRPC answer. */
export function grpcReading(code: number): Outcome {
  return GRPC_READINGS[code] ?? { kind: 'response', status: 200, grpcStatus: code };
}

/** No readings: the attempt had its response headers, so its end is the call's answer. */
export const NO_OUTCOMES: readonly Outcome[] = Object.freeze([]);

/** The readings of a status that ended an attempt before response headers. */
export function statusOutcomes(s: AttemptStatus): Outcome[] {
  // Not a gRPC server at all (or a proxy answering): the HTTP status is the response.
  const http = HTTP_STATUS.exec(s.details);
  if (http) return [{ kind: 'response', status: Number(http[1]), grpcStatus: undefined }];
  if (s.rstCode === h2.NGHTTP2_REFUSED_STREAM) return [{ kind: 'refused-stream', error: new Error(s.details) }, grpcReading(s.code)];
  if ((s.rstCode !== undefined && s.rstCode !== h2.NGHTTP2_NO_ERROR) || isTransportEnd(s)) {
    return [{ kind: 'reset', error: new Error(s.details) }, grpcReading(s.code)];
  }
  // The server's own status, sent as a trailers-only response.
  return [grpcReading(s.code)];
}

// grpc-js's words for a stream that broke without the server saying anything (subchannel-call.ts).
function isTransportEnd(s: AttemptStatus): boolean {
  return s.code === Status.UNAVAILABLE && (s.details === 'Connection dropped' || s.details.startsWith('Write failed') || s.details.startsWith('Write error'));
}

/** A connection that could not be made: Envoy's connect-failure, gRPC's UNAVAILABLE. */
export function connectFailureOutcomes(error: Error): Outcome[] {
  return [{ kind: 'connect-failure', error }, grpcReading(Status.UNAVAILABLE)];
}

/** Did the attempt fail on the wire, with no answer from the server? */
export function isLocalFailure(outcomes: readonly Outcome[]): boolean {
  return outcomes[0] !== undefined && outcomes[0].kind !== 'response';
}
