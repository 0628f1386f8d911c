// One VirtualService match entry → an Envoy RouteMatch (route.TranslateRouteMatch):
//  - uri exact → path, prefix → prefix, regex → safeRegex (RE2, whole-path match); no uri → "/";
//    under Gateway API semantics (a converted HTTPRoute) a prefix other than "/" is a
//    path_separated_prefix, trailing "/" trimmed: PathPrefix /foo matches /foo and /foo/bar,
//    not /foobar;
//  - caseSensitive = !ignoreUriCase, written whenever there is a match entry (Envoy applies it to
//    path and prefix only);
//  - headers → HeaderMatcher with stringMatch; `{}` or regex "*" → presentMatch; withoutHeaders
//    the same, inverted (and treating a missing header as empty unless it is a presence match);
//    header matchers sorted by name, then :method, :authority, :scheme in that order;
//  - queryParams → QueryParameterMatcher (sorted by name: istiod's order is Go map order,
//    i.e. none, and the ANDed result does not depend on it).

import type { HeaderMatcher, QueryParameterMatcher, RouteMatch, StringMatcher } from '../../../xds/resources.ts';
import type { HTTPMatchRequest, StringMatch } from '../../types.ts';

export function translateRouteMatch(m: HTTPMatchRequest | undefined, gatewaySemantics = false): RouteMatch {
  const out: RouteMatch = { prefix: '/' };
  if (!m) return out;
  const headers: HeaderMatcher[] = [];
  for (const [name, sm] of Object.entries(m.headers ?? {})) headers.push(headerMatcher(name, sm));
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    const hm = headerMatcher(name, sm);
    hm.invertMatch = true;
    // treat_missing_header_as_empty cannot be combined with present_match.
    if (!isPresenceMatch(sm)) hm.treatMissingHeaderAsEmpty = true;
    headers.push(hm);
  }
  headers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  if (m.uri) {
    if (m.uri.exact !== undefined) setPath(out, { path: m.uri.exact });
    else if (m.uri.prefix !== undefined && gatewaySemantics && m.uri.prefix !== '/') setPath(out, { pathSeparatedPrefix: m.uri.prefix.replace(/\/$/, '') });
    else if (m.uri.prefix !== undefined) setPath(out, { prefix: m.uri.prefix });
    else if (m.uri.regex !== undefined) setPath(out, { safeRegex: { regex: m.uri.regex } });
  }
  out.caseSensitive = !(m.ignoreUriCase ?? false);
  if (m.method) headers.push(headerMatcher(':method', m.method));
  if (m.authority) headers.push(headerMatcher(':authority', m.authority));
  if (m.scheme) headers.push(headerMatcher(':scheme', m.scheme));
  if (headers.length > 0) out.headers = headers;

  const params = Object.entries(m.queryParams ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (params.length > 0) out.queryParameters = params.map(([name, sm]) => queryMatcher(name, sm));
  return out;
}

function setPath(out: RouteMatch, spec: Pick<RouteMatch, 'path' | 'prefix' | 'safeRegex' | 'pathSeparatedPrefix'>): void {
  delete out.prefix;
  Object.assign(out, spec);
}

/** `{}` (no match type) or the non-RE2 regex "*" means "the header is present". */
export function isPresenceMatch(sm: StringMatch | undefined): boolean {
  if (!sm) return true;
  if (sm.exact === undefined && sm.prefix === undefined && sm.regex === undefined) return true;
  return sm.exact === undefined && sm.prefix === undefined && sm.regex === '*';
}

export function toStringMatcher(sm: StringMatch): StringMatcher | undefined {
  if (sm.exact !== undefined) return { exact: sm.exact };
  if (sm.prefix !== undefined) return { prefix: sm.prefix };
  if (sm.regex !== undefined) return { safeRegex: { regex: sm.regex } };
  return undefined;
}

function headerMatcher(name: string, sm: StringMatch): HeaderMatcher {
  if (isPresenceMatch(sm)) return { name, presentMatch: true };
  const stringMatch = toStringMatcher(sm);
  return stringMatch ? { name, stringMatch } : { name };
}

function queryMatcher(name: string, sm: StringMatch): QueryParameterMatcher {
  if (isPresenceMatch(sm)) return { name, presentMatch: true };
  const stringMatch = toStringMatcher(sm);
  return stringMatch ? { name, stringMatch } : { name };
}

/** Istio's catch-all test (route.IsCatchAllRoute): prefix "/" or regex ".*", nothing else to match. */
export function isCatchAll(m: RouteMatch): boolean {
  const pathAll = m.prefix === '/' || m.pathSeparatedPrefix === '/' || m.safeRegex?.regex === '.*';
  return pathAll && (m.headers?.length ?? 0) === 0 && (m.queryParameters?.length ?? 0) === 0;
}
