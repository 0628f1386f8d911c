// VirtualService http rules → the ordered Envoy routes of one route table
// (route.BuildHTTPRoutesForVirtualService, TranslateRoute, BuildDefaultHTTPOutboundRoute).
//
// Rules keep their order and the first matching route wins; each match entry becomes its own
// route (entries are ORed, the fields inside one are ANDed). A rule without match entries — or a
// match entry that turns out to match everything — is a catch-all, and nothing after it can be
// reached, so istiod (and Meshlet) stop there. Entries that cannot apply to this client are
// dropped at compile time: another port, other source labels or namespace, or only non-mesh
// gateways.

import type { HashPolicy, Route } from '../../../xds/resources.ts';
import { FILTER_NAME } from '../../../xds/resources.ts';
import { configPath } from '../common/compile-context.ts';
import { labelsMatch, objectKey } from '../../object-conventions.ts';
import { faultAny, translateCors, translateFault } from './compile-fault.ts';
import { applyHeaderMutations, translateHeaders } from './compile-headers.ts';
import { convertRetryPolicy } from './compile-retry.ts';
import type { RouteEnv } from './compile-route-action.ts';
import { applyDirectResponse, applyRedirect, applyRouteDestination } from './compile-route-action.ts';
import { isCatchAll, translateRouteMatch } from './compile-route-match.ts';
import type { ResolvedVirtualService } from './compile-virtual-services.ts';
import type { ResolvedRule } from './resolved-rule.ts';
import { hostPort } from '../common/host-names.ts';
import type { HTTPMatchRequest, HTTPRetry } from '../../types.ts';
import { usesGatewaySemantics } from './compile-gateway-api.ts';

/** Name istiod gives the route of a service that has no VirtualService. */
export const DEFAULT_ROUTE_NAME = 'default';

export function buildVirtualServiceRoutes(env: RouteEnv, vs: ResolvedVirtualService): Route[] {
  const out: Route[] = [];
  let catchAllAt: ResolvedRule | undefined;
  for (const rule of vs.rules) {
    if (catchAllAt) {
      // A rule after a rule of the same VirtualService that has no match at all is an analyzer
      // finding (IST0130); reported here is what is unreachable only for this client or port.
      if (!sameListAfterCatchAll(catchAllAt, rule)) {
        env.ctx.problems.warn(rule.origin.vs, rule.origin.path, `never used: the earlier rule ${fieldOf(catchAllAt)} matches every request on port ${env.listenPort}`);
      }
      break;
    }
    const matches = rule.http.match ?? [];
    if (matches.length === 0) {
      const r = translateRoute(env, rule, undefined, -1);
      if (r) out.push(r);
      catchAllAt = rule;
      continue;
    }
    for (let j = 0; j < matches.length; j++) {
      const r = translateRoute(env, rule, matches[j], j);
      if (!r) continue;
      out.push(r);
      if (isCatchAll(r.match)) {
        catchAllAt = rule;
        break;
      }
    }
  }
  return out;
}

function sameListAfterCatchAll(catchAll: ResolvedRule, rule: ResolvedRule): boolean {
  return (catchAll.http.match ?? []).length === 0
    && catchAll.origin.vs.kind === 'VirtualService'
    && catchAll.origin.vs === rule.origin.vs
    && catchAll.origin.delegate?.vs === rule.origin.delegate?.vs;
}

function fieldOf(rule: ResolvedRule): string {
  const o = rule.origin;
  // A rule converted from a Gateway API route is named in that route's terms.
  if (o.vs.kind !== 'VirtualService') return `${o.vs.kind} ${objectKey(o.vs)} spec.rules[${String(o.path[2])}]`;
  return o.delegate ? `${objectKey(o.vs)} spec.http[${o.delegate.ruleIndex}]` : `spec.http[${o.ruleIndex}]`;
}

/** Does this match entry apply to the client at all? (route.sourceMatchHTTP and the port check.) */
function appliesToClient(env: RouteEnv, m: HTTPMatchRequest | undefined): boolean {
  if (!m) return true;
  if (m.port && m.port !== env.listenPort) return false;
  // A match entry bound to gateways applies to the mesh only if it names `mesh`; istiod then
  // ignores its sourceLabels and sourceNamespace.
  if ((m.gateways?.length ?? 0) > 0) return (m.gateways as string[]).includes('mesh');
  if (!labelsMatch(m.sourceLabels, env.ctx.client.labels)) return false;
  return !m.sourceNamespace || m.sourceNamespace === env.ctx.client.namespace;
}

function translateRoute(env: RouteEnv, rule: ResolvedRule, m: HTTPMatchRequest | undefined, matchIndex: number): Route | undefined {
  if (!appliesToClient(env, m)) return undefined;
  const http = rule.http;
  const origin = rule.origin;
  warnUnsupportedMatch(env, rule, m, matchIndex);
  let name = http.name ?? '';
  if (m?.name) name = `${name}.${m.name}`;
  const meshlet: Record<string, unknown> = { virtualService: objectKey(origin.root), rule: origin.ruleIndex };
  if (matchIndex >= 0) meshlet['match'] = matchIndex;
  if (origin.delegate) meshlet['delegate'] = { virtualService: objectKey(origin.delegate.vs), rule: origin.delegate.ruleIndex };
  const gateway = usesGatewaySemantics(origin.root);
  // A converted Gateway API rule names its HTTPRoute / GRPCRoute as the config it came from.
  const fromRoute = origin.vs.kind === 'HTTPRoute' || origin.vs.kind === 'GRPCRoute' ? origin.vs : undefined;
  if (fromRoute) meshlet['route'] = { kind: fromRoute.kind, name: objectKey(fromRoute), rule: origin.path[2] };
  const match = translateRouteMatch(m, gateway);
  const out: Route = name !== '' ? { name, match } : { match };
  out.metadata = { filterMetadata: { istio: { config: configPath(fromRoute ?? origin.root) }, meshlet } };
  if (m?.statPrefix) out.statPrefix = m.statPrefix;

  let authority = '';
  if (http.headers) {
    const h = translateHeaders(http.headers);
    applyHeaderMutations(out, h);
    authority = h.authority;
  }
  if (http.redirect) {
    if (!applyRedirect(out, http.redirect, env.listenPort)) {
      env.ctx.problems.warn(origin.vs, [...origin.path, 'redirect', 'redirectCode'], `redirect code ${http.redirect.redirectCode} is not one Envoy can send (301, 302, 303, 307, 308); the route has no action`);
    }
  } else if (http.directResponse) {
    applyDirectResponse(out, http.directResponse);
  } else {
    applyRouteDestination(env, out, http, origin, authority);
  }
  out.decorator = { operation: routeOperation(out, origin.root.metadata.name, env.listenPort) };
  if (http.fault || http.corsPolicy) out.typedPerFilterConfig = {};
  if (http.fault && out.typedPerFilterConfig) {
    const { fault, dropped } = translateFault(http.fault);
    for (const d of dropped) env.ctx.problems.warn(origin.vs, [...origin.path, 'fault'], `fault ${d}; istiod drops it and so does Meshlet`);
    out.typedPerFilterConfig[FILTER_NAME.fault] = faultAny(fault);
  }
  if (http.corsPolicy && out.typedPerFilterConfig) out.typedPerFilterConfig[FILTER_NAME.cors] = translateCors(http.corsPolicy);
  return out;
}

function warnUnsupportedMatch(env: RouteEnv, rule: ResolvedRule, m: HTTPMatchRequest | undefined, matchIndex: number): void {
  if (!m) return;
  for (const key of ['headers', 'withoutHeaders'] as const) {
    for (const name of Object.keys(m[key] ?? {})) {
      if (name.startsWith('@request.auth.claims')) {
        env.ctx.problems.warn(rule.origin.vs, [...rule.origin.path, 'match', matchIndex, key, name], 'JWT claim matching needs Istio request authentication, which a Meshlet client does not run; it is kept as a header match no request header can satisfy');
      }
    }
  }
}

// Trace operation, as route.GetRouteOperation writes it: the destination `host:port` when the
// route goes to one outbound cluster, else `<VirtualService name>:<port>`, then the path.
function routeOperation(r: Route, vsName: string, port: number): string {
  let path = '/*';
  if (r.match.prefix !== undefined) path = `${r.match.prefix}*`;
  else if (r.match.path !== undefined) path = r.match.path;
  else if (r.match.safeRegex) path = r.match.safeRegex.regex;
  const cluster = r.route?.cluster;
  const parts = cluster?.split('|');
  if (parts && parts.length === 4 && /^\d+$/.test(parts[1] as string)) return `${parts[3]}:${parts[1]}${path}`;
  return `${vsName}:${port}${path}`;
}

/**
 * The route of a service without a VirtualService: everything to the default cluster, the
 * mesh's default retries (MeshConfig defaultHttpRetryPolicy, else Istio's), no timeout. istiod builds it without proxy context, which is why it carries the
 * deprecated maxGrpcTimeout rather than maxStreamDuration.
 */
export function defaultRoute(host: string, port: number, cluster: string, hash: HashPolicy | undefined, http: boolean, meshRetry?: HTTPRetry): Route {
  const route: Route = {
    name: DEFAULT_ROUTE_NAME,
    match: { prefix: '/' },
    decorator: { operation: `${hostPort(host, port)}/*` },
    route: { cluster, timeout: '0s', maxGrpcTimeout: '0s' },
  };
  const action = route.route as NonNullable<Route['route']>;
  // Non-HTTP ports have no HTTP routes in istiod (a sidecar TCP-proxies them to the default
  // cluster, a proxyless client cannot use them). Meshlet forwards to that cluster the same way,
  // without HTTP retries, which a TCP proxy would not make either.
  const retry = http ? convertRetryPolicy(meshRetry, false) : undefined;
  if (retry) action.retryPolicy = retry;
  else route.metadata = { filterMetadata: { meshlet: { protocol: 'tcp', note: 'non-HTTP port: forwarded to the default cluster, as a sidecar TCP proxy would' } } };
  if (hash) action.hashPolicy = [hash];
  return route;
}
