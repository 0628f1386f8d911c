// RouteConfiguration → compiled virtual hosts. Everything that can be worked out once (regexes,
// header mutation lists, fault percentages, retry flags) is worked out here, so matching a
// request does no parsing. Any invalid field rejects the whole resource with a message naming
// the field, which becomes the NACK's error detail.

import type { Any, HashPolicy, HTTPFault, RegexMatcher, Route, RouteConfiguration, VirtualHost } from '../xds/resources.ts';
import { FILTER_NAME } from '../xds/resources.ts';
import { durationToMs } from '../xds/duration.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';
import type { CompiledRoute, ForwardAction, RouteActionConfig, VirtualHostRoutes } from './mesh-snapshot.ts';
import type { PathRewrite } from '../router/rewrite.ts';
import { compileRouteMatch } from '../router/route-match.ts';
import { compileRegex, MatchCompileError } from '../xds/string-matcher.ts';
import { RegexError, type Re2Regex, type Re2Rewrite } from '../regex/re2.ts';
import { compileHeaderMutations } from '../router/header-mutations.ts';
import { compileFault, perMillion } from '../router/fault.ts';
import { compileRetryPolicy, type RetryPolicy } from '../resilience/retry-policy.ts';
import { compileHashPolicy, HashPolicyError } from '../router/hash-policy.ts';

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308,
};

/**
 * Translations remembered per decoded resource (never changed once decoded): the ADS client
 * translates each RouteConfiguration as it arrives, to NACK a bad one by name, and the snapshot
 * build takes the result from here instead of translating it again. The translation reads
 * nothing but its input, so the remembered result is the one a second run would give.
 */
const translated = new WeakMap<RouteConfiguration, Result<VirtualHostRoutes[]>>();

export function translateRouteConfiguration(rc: RouteConfiguration): Result<VirtualHostRoutes[]> {
  const known = translated.get(rc);
  if (known !== undefined) return known;
  const steps = translateRouteConfigurationSteps(rc);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * translateRouteConfiguration in steps, yielding after each virtual host: a sidecar's route
 * table per port holds one per service, 10k of them too many for one turn of the event loop.
 */
export function* translateRouteConfigurationSteps(rc: RouteConfiguration): Generator<void, Result<VirtualHostRoutes[]>> {
  const known = translated.get(rc);
  if (known !== undefined) return known;
  const r = yield* translateAll(rc);
  translated.set(rc, r);
  return r;
}

function* translateAll(rc: RouteConfiguration): Generator<void, Result<VirtualHostRoutes[]>> {
  if (!rc.name) return fail('RouteConfiguration: name is required');
  const hosts: VirtualHostRoutes[] = [];
  const vhs = rc.virtualHosts ?? [];
  for (let v = 0; v < vhs.length; v++) {
    const r = translateVirtualHost(vhs[v]!, `virtualHosts[${v}]`);
    if (!r.ok) return fail(`RouteConfiguration ${rc.name}: ${r.error}`);
    hosts.push(r.value);
    yield;
  }
  // Exact-size copies of lists grown by push (kept as long as the resource): message-decoder.ts's trimLists.
  return ok(hosts.slice());
}

function translateVirtualHost(vh: VirtualHost, field: string): Result<VirtualHostRoutes> {
  if (!vh.domains?.length) return fail(`${field}.domains: at least one domain is required`);
  const seen = new Set<string>();
  for (const d of vh.domains) {
    if (d.indexOf('*') > 0 && d.indexOf('*') < d.length - 1) return fail(`${field}.domains: ${JSON.stringify(d)}: a wildcard may only lead or trail`);
    seen.add(d);
  }
  const vhRetry = vh.retryPolicy ? compileRetryPolicy(vh.retryPolicy) : undefined;
  const vhFault = faultOf(vh.typedPerFilterConfig);
  const routes: CompiledRoute[] = [];
  const list = vh.routes ?? [];
  for (let i = 0; i < list.length; i++) {
    const f = `${field}.routes[${i}]`;
    try {
      const r = translateRoute(list[i]!, i, f, vhRetry, vhFault);
      if (!r.ok) return r;
      routes.push(r.value);
    } catch (err) {
      if (err instanceof MatchCompileError) return fail(`${f}.${err.message}`);
      throw err;
    }
  }
  return ok({ name: vh.name, domains: [...seen], routes: routes.slice() });
}

function faultOf(perFilter: Record<string, Any> | undefined): HTTPFault | undefined {
  return perFilter?.[FILTER_NAME.fault] as HTTPFault | undefined;
}

function translateRoute(r: Route, index: number, field: string, vhRetry: RetryPolicy | undefined, vhFault: HTTPFault | undefined): Result<CompiledRoute> {
  if (!r.match) return fail(`${field}.match: required`);
  const match = compileRouteMatch(r.match);
  let action: RouteActionConfig;
  if (r.route) {
    const a = translateForward(r, field, vhRetry);
    if (!a.ok) return a;
    action = a.value;
  } else if (r.redirect) {
    const rd = r.redirect;
    action = {
      kind: 'redirect',
      status: REDIRECT_CODES[rd.responseCode ?? 'MOVED_PERMANENTLY'] ?? 301,
      scheme: rd.httpsRedirect ? 'https' : rd.schemeRedirect,
      host: rd.hostRedirect,
      port: rd.portRedirect,
      path: rd.pathRedirect,
      prefixRewrite: rd.prefixRewrite,
      matchedPrefix: r.match.prefix ?? r.match.pathSeparatedPrefix,
      stripQuery: rd.stripQuery === true,
    };
  } else if (r.directResponse) {
    const status = r.directResponse.status;
    if (!(status >= 200 && status <= 599)) return fail(`${field}.directResponse.status: ${status} is not in [200, 599]`);
    const body = r.directResponse.body;
    action = {
      kind: 'direct',
      status,
      body: body?.inlineString ?? (body?.inlineBytes !== undefined ? Buffer.from(body.inlineBytes, 'base64').toString() : ''),
    };
  } else {
    return fail(`${field}: one of route, redirect or directResponse is required`);
  }
  const istio = r.metadata?.filterMetadata?.['istio'];
  const origin = typeof istio?.['config'] === 'string' ? istioConfigName(istio['config']) : undefined;
  return ok({
    name: r.name ?? '',
    index,
    origin,
    match,
    action,
    requestHeaders: compileHeaderMutations(r.requestHeadersToAdd, r.requestHeadersToRemove),
    responseHeaders: compileHeaderMutations(r.responseHeadersToAdd, r.responseHeadersToRemove),
    fault: compileFault(faultOf(r.typedPerFilterConfig) ?? vhFault),
  });
}

// '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews' → 'VirtualService default/reviews'
function istioConfigName(path: string): string {
  const m = /\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m) return path;
  const kind = m[2] === 'virtual-service' ? 'VirtualService' : m[2] === 'httproute' ? 'HTTPRoute' : m[2] === 'grpcroute' ? 'GRPCRoute' : m[2];
  return `${kind} ${m[1]}/${m[3]}`;
}

function translateForward(r: Route, field: string, vhRetry: RetryPolicy | undefined): Result<ForwardAction> {
  const a = r.route!;
  const clusters: ForwardAction['clusters'][number][] = [];
  if (a.cluster !== undefined) {
    if (a.cluster === '') return fail(`${field}.route.cluster: must not be empty`);
    clusters.push({ name: a.cluster, weight: 1, requestHeaders: compileHeaderMutations(undefined, undefined), responseHeaders: compileHeaderMutations(undefined, undefined) });
  } else if (a.weightedClusters) {
    const list = a.weightedClusters.clusters ?? [];
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (!c.name) return fail(`${field}.route.weightedClusters.clusters[${i}].name: required`);
      const w = c.weight ?? 0;
      if (!Number.isInteger(w) || w < 0) return fail(`${field}.route.weightedClusters.clusters[${i}].weight: ${w} is not a non-negative integer`);
      if (w === 0) continue;
      clusters.push({
        name: c.name,
        weight: w,
        requestHeaders: compileHeaderMutations(c.requestHeadersToAdd, c.requestHeadersToRemove),
        responseHeaders: compileHeaderMutations(c.responseHeadersToAdd, c.responseHeadersToRemove),
      });
    }
    if (clusters.length === 0) return fail(`${field}.route.weightedClusters: the weights sum to 0`);
  } else {
    return fail(`${field}.route: one of cluster or weightedClusters is required (cluster_header is not supported)`);
  }
  let timeoutMs = 0;
  // Envoy's default route timeout is 15 s; Istio always writes one ("0s" = none). Honour what is written.
  const timeout = a.timeout ?? '15s';
  const t = durationToMs(timeout);
  if (t === undefined || t < 0) return fail(`${field}.route.timeout: ${JSON.stringify(timeout)} is not a duration`);
  timeoutMs = t;
  let rewrite: PathRewrite | undefined;
  if (a.prefixRewrite !== undefined) {
    const m = r.match;
    // A path_separated_prefix match rewrites like a prefix match: the matched prefix is swapped.
    const matched = m.prefix ?? m.pathSeparatedPrefix;
    rewrite = {
      kind: 'prefix',
      prefix: a.prefixRewrite,
      replaceWholePath: matched === undefined,
      matchedPrefix: matched ?? '',
      caseSensitive: m.caseSensitive !== false,
    };
  } else if (a.regexRewrite) {
    rewrite = {
      kind: 'regex',
      ...regexRewrite(a.regexRewrite, 'route.regexRewrite'),
    };
  }
  let hash;
  try {
    hash = compileHashPolicy(a.hashPolicy as HashPolicy[] | undefined, `${field}.route.hashPolicy`);
  } catch (err) {
    if (err instanceof HashPolicyError) return fail(err.message);
    throw err;
  }
  return ok({
    kind: 'forward',
    clusters: clusters.slice(),
    totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
    timeoutMs,
    retry: a.retryPolicy ? compileRetryPolicy(a.retryPolicy) : vhRetry,
    rewrite,
    hostRewrite: a.hostRewriteLiteral,
    mirrors: (a.requestMirrorPolicies ?? []).map((m) => ({ cluster: m.cluster, perMillion: perMillion(m.runtimeFraction?.defaultValue), keepHost: m.disableShadowHostSuffixAppend === true })),
    hash,
  });
}

// regex_rewrite replaces every match anywhere in the path (RE2::GlobalReplace), so the pattern
// is not anchored; the substitution's \N must name a group the pattern has.
function regexRewrite(r: { pattern: RegexMatcher; substitution: string }, field: string): { pattern: Re2Regex; substitution: Re2Rewrite } {
  const pattern = compileRegex(r.pattern, `${field}.pattern.regex`);
  try {
    return { pattern, substitution: pattern.rewrite(r.substitution ?? '') };
  } catch (err) {
    if (err instanceof RegexError) throw new MatchCompileError(`${field}.substitution: ${err.message}`);
    throw err;
  }
}
