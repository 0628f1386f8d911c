// The header changes a forwarded request's route makes, in Envoy's order (route, then the
// weighted cluster's; the host rewrite last), and the response changes on the way back (with
// the consistent-hash cookie a cookie hash policy generated). Both HTTP adapters apply them
// through these functions, so undici and node:http requests leave and return alike.

import { applyHeaderMutations, setCookieHeader } from '@meshlet/core/adapter';
import type { ForwardDecision, MutableHeaders, RequestHash } from '@meshlet/core';

/** Applies the route's and the weighted cluster's request-header mutations and the host rewrite to `headers`. */
export function mutateRequestHeaders(d: ForwardDecision, headers: MutableHeaders): void {
  applyHeaderMutations(headers, d.route.requestHeaders);
  applyHeaderMutations(headers, d.target.requestHeaders);
  if (d.action.hostRewrite !== undefined) headers['host'] = d.action.hostRewrite;
}

/** Nothing to change in the response (the common case). */
export function responseHeadersUnchanged(d: ForwardDecision, hash: RequestHash | undefined): boolean {
  return !d.rewritesResponseHeaders && !hash?.setCookie;
}

/** Applies the response-header mutations and the hash cookie to `headers`. */
export function mutateResponseHeaders(d: ForwardDecision, hash: RequestHash | undefined, headers: MutableHeaders): void {
  applyHeaderMutations(headers, d.route.responseHeaders);
  applyHeaderMutations(headers, d.target.responseHeaders);
  const cookie = hash?.setCookie;
  if (cookie) {
    const prev = headers['set-cookie'];
    const line = setCookieHeader(cookie);
    headers['set-cookie'] = prev === undefined ? line : [...(Array.isArray(prev) ? prev : [prev]), line];
  }
}
