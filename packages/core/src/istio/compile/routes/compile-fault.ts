// Per-route filter configs istiod attaches to a route (route.TranslateFault,
// TranslateCORSPolicy): fault injection under `envoy.filters.http.fault`, CORS under
// `envoy.filters.http.cors`.
//
// Fault percentages follow istiod exactly, and with them Istio's documented defaults: a delay
// without `percentage` takes the deprecated integer `percent` (so 0% when neither is given), an
// abort without `percentage` carries none, which Envoy reads as 0%. Only fixed delays and
// HTTP/gRPC aborts exist in Envoy; others are dropped as istiod drops them.

import type { Any, HTTPFault, StringMatcher } from '../../../xds/resources.ts';
import { TYPE_URL } from '../../../xds/resources.ts';
import { integerPercentToFraction, parseDurationNanos, percentToFraction, toDuration } from '../common/compile-duration.ts';
import { toStringMatcher } from './compile-route-match.ts';
import type { HTTPFaultInjection, StringMatch } from '../../types.ts';

/** gRPC status names Istio accepts for `abort.grpcStatus`, with their codes. */
export const GRPC_STATUS: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

export interface FaultResult {
  fault?: HTTPFault;
  /** What was dropped, for a warning. */
  dropped: string[];
}

export function translateFault(f: HTTPFaultInjection): FaultResult {
  const dropped: string[] = [];
  const out: HTTPFault = {};
  if (f.delay) {
    const fixed = toDuration(f.delay.fixedDelay);
    if (fixed !== undefined) {
      out.delay = {
        fixedDelay: fixed,
        percentage: f.delay.percentage ? percentToFraction(f.delay.percentage.value) : integerPercentToFraction(f.delay.percent ?? 0),
      };
    } else {
      dropped.push('delay (only fixedDelay is supported)');
    }
  }
  if (f.abort) {
    const abort: NonNullable<HTTPFault['abort']> = {};
    if (f.abort.percentage) abort.percentage = percentToFraction(f.abort.percentage.value);
    if (f.abort.httpStatus !== undefined) {
      out.abort = { httpStatus: f.abort.httpStatus, ...abort };
    } else if (f.abort.grpcStatus !== undefined && GRPC_STATUS[f.abort.grpcStatus] !== undefined) {
      out.abort = { grpcStatus: GRPC_STATUS[f.abort.grpcStatus] as number, ...abort };
    } else {
      dropped.push('abort (only httpStatus and grpcStatus are supported)');
    }
  }
  const result: FaultResult = { dropped };
  if (out.delay || out.abort) result.fault = out;
  return result;
}

export function faultAny(fault: HTTPFault | undefined): Any {
  return { '@type': TYPE_URL.HTTPFault, ...fault };
}

/** The VirtualService corsPolicy fields istiod reads (types.ts keeps it opaque). */
interface CorsPolicyIn {
  allowOrigins?: StringMatch[];
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  unmatchedPreflights?: string;
}

export function translateCors(raw: unknown): Any {
  const c = (raw ?? {}) as CorsPolicyIn;
  const out: Any = { '@type': TYPE_URL.CorsPolicy };
  let origins: StringMatcher[] | undefined;
  if (c.allowOrigins) origins = c.allowOrigins.map(toStringMatcher).filter((m): m is StringMatcher => m !== undefined);
  else if (c.allowOrigin) origins = c.allowOrigin.map((o) => ({ exact: o }));
  if (origins && origins.length > 0) out['allowOriginStringMatch'] = origins;
  if (c.allowMethods?.length) out['allowMethods'] = c.allowMethods.join(',');
  if (c.allowHeaders?.length) out['allowHeaders'] = c.allowHeaders.join(',');
  if (c.exposeHeaders?.length) out['exposeHeaders'] = c.exposeHeaders.join(',');
  if (c.maxAge !== undefined) {
    const ns = parseDurationNanos(c.maxAge);
    if (ns !== undefined) out['maxAge'] = String(Math.trunc(ns / 1e9));
  }
  if (c.allowCredentials !== undefined) out['allowCredentials'] = c.allowCredentials;
  out['filterEnabled'] = { defaultValue: { numerator: 100, denominator: 'HUNDRED' } };
  // Forwarding unmatched preflights was Envoy's behaviour before 1.30; istiod keeps it unless told to IGNORE.
  out['forwardNotMatchingPreflights'] = c.unmatchedPreflights !== 'IGNORE';
  return out;
}
