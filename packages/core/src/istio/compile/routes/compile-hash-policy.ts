// DestinationRule consistentHash → the route's hash key (route.ConsistentHashToHashPolicy). The
// cluster gets RING_HASH/MAGLEV; the route says what to hash: a header, a cookie (Envoy
// generates it when `ttl` is set), the source IP, or a query parameter.

import type { HashPolicy } from '../../../xds/resources.ts';
import { toDuration } from '../common/compile-duration.ts';
import type { ConsistentHash } from '../clusters/destination-rule-policy.ts';

export function toHashPolicy(ch: ConsistentHash | undefined): HashPolicy | undefined {
  if (!ch) return undefined;
  if (ch.httpHeaderName !== undefined) return { header: { headerName: ch.httpHeaderName } };
  if (ch.httpCookie !== undefined) {
    const cookie: NonNullable<HashPolicy['cookie']> = { name: ch.httpCookie.name };
    const ttl = toDuration(ch.httpCookie.ttl);
    if (ttl !== undefined) cookie.ttl = ttl;
    if (ch.httpCookie.path) cookie.path = ch.httpCookie.path;
    // SameSite, Secure, ...: written on the issued cookie after Path, as Envoy writes them.
    if (ch.httpCookie.attributes?.length) cookie.attributes = ch.httpCookie.attributes.map((a) => (a.value ? { name: a.name, value: a.value } : { name: a.name }));
    return { cookie };
  }
  if (ch.useSourceIp !== undefined) return { connectionProperties: { sourceIp: ch.useSourceIp } };
  if (ch.httpQueryParameterName !== undefined) return { queryParameter: { name: ch.httpQueryParameterName } };
  return undefined;
}
