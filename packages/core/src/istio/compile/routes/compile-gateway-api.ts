// Gateway API routes for the mesh (GAMMA) → VirtualServices, the way istiod converts them
// (pilot/pkg/config/kube/gateway: convertHTTPRoute, convertGRPCRoute, buildDestination,
// mergeHTTPRoutes), so the rest of the compiler treats them as it treats any VirtualService.
//
// What istiod does, and so Meshlet:
//  - a route applies to the mesh through parentRefs of kind Service (core group) — host
//    `<name>.<namespace>.svc.<domain>` — or ServiceEntry (networking.istio.io) — its hosts;
//    other parents (Gateways) are not for a client and are skipped; `hostnames` do not apply to
//    mesh parents;
//  - a parentRef port restricts the route to that service port (every match gets `port`);
//  - one VirtualService per route namespace, port and host, named `<ns>~[<port>~]<host>`,
//    holding the rules of every route attached there (oldest route first), each rule split into
//    one http route per match and sorted by Gateway API precedence (exact > prefix > regex
//    path, longer path, method, more headers, more query parameters); the object carries
//    annotation internal.istio.io/route-semantics: gateway, which makes PathPrefix a
//    path-separated prefix and a "/" prefix rewrite strip the prefix;
//  - a route in the client's namespace (a consumer route) comes before routes published with
//    the service (producer routes); a route in neither namespace does not apply to this client;
//  - backendRefs: Service (port required) or Hostname (networking.istio.io, a ServiceEntry host);
//    weight default 1, weight 0 dropped, no weight left → a 500 direct response;
//  - filters: request/response header modifiers (on rules and backends), RequestRedirect
//    (status default 302, port from the request unless a scheme is set), URLRewrite (hostname,
//    ReplaceFullPath, ReplacePrefixMatch), RequestMirror (percent or fraction);
//  - timeouts.request → timeout; timeouts.backendRequest → retries.perTryTimeout when the rule
//    retries, else the timeout; retry → attempts (default 2), retryOn connect-failure,
//    refused-stream, unavailable, cancelled plus the listed codes, backoff.
// Conversion problems are reported against the route's own file and line.

import type { CompileContext, Path } from '../common/compile-context.ts';
import { compareByCreation } from '../../object-conventions.ts';
import type {
  GatewayGRPCRoute,
  GatewayHTTPRoute,
  GatewayRoute,
  GwBackendObjectReference,
  GwBackendRef,
  GwGRPCRouteMatch,
  GwHTTPHeader,
  GwHeaderModifier,
  GwHTTPRouteMatch,
  GwRouteFilter,
  GwValueMatch,
} from '../../gateway-api-types.ts';
import { resolveShortName } from '../common/host-names.ts';
import type { Destination, HeaderOperations, HTTPMatchRequest, HTTPRedirect, HTTPRoute, HTTPRouteDestination, ServiceEntry, StringMatch, VirtualService } from '../../types.ts';

export const ROUTE_SEMANTICS_ANNOTATION = 'internal.istio.io/route-semantics';
export const PARENTS_ANNOTATION = 'internal.istio.io/parents';

/** Istio's redirect has no prefix rewrite in its API, but istiod's gateway conversion sets one. */
export type GatewayRedirect = HTTPRedirect & { prefixRewrite?: string };

/** Does this VirtualService carry Gateway API semantics (it was converted from a route)? */
export function usesGatewaySemantics(vs: VirtualService): boolean {
  return vs.metadata.annotations?.[ROUTE_SEMANTICS_ANNOTATION] === 'gateway';
}

export interface GatewayRuleSource {
  /** The route the rule was written in. */
  readonly obj: GatewayRoute;
  /** The rule inside it, e.g. ['spec','rules',2]. */
  readonly path: Path;
}

const RULE_SOURCES = new WeakMap<VirtualService, GatewayRuleSource[]>();

/** Where http rule `index` of a converted VirtualService was written (undefined for ordinary VirtualServices). */
export function gatewayRuleSource(vs: VirtualService, index: number): GatewayRuleSource | undefined {
  return RULE_SOURCES.get(vs)?.[index];
}

interface ConvertedRule {
  http: HTTPRoute;
  source: GatewayRuleSource;
}

class RuleError extends Error {
  readonly path: Path;
  constructor(path: Path, message: string) {
    super(message);
    this.path = path;
  }
}

interface Bucket {
  name: string;
  namespace: string;
  host: string;
  consumer: boolean;
  routes: GatewayRoute[];
  rules: ConvertedRule[];
}

/** Converts every route that applies to this client into VirtualServices (none when none apply). */
export function convertGatewayRoutes(ctx: CompileContext, routes: readonly GatewayRoute[], serviceEntries: readonly ServiceEntry[]): VirtualService[] {
  const domain = ctx.client.clusterDomain;
  const buckets = new Map<string, Bucket>();
  for (const route of [...routes].sort(compareByCreation)) {
    let rules: ConvertedRule[];
    try {
      rules = route.kind === 'HTTPRoute' ? convertHttpRules(ctx, route) : convertGrpcRules(ctx, route);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      ctx.problems.warn(route, err.path, `${err.message}; istiod does not program this ${route.kind}, and neither does Meshlet`);
      continue;
    }
    let meshParents = 0;
    (route.spec.parentRefs ?? []).forEach((parent, i) => {
      const kind = parent.kind ?? 'Gateway';
      const group = parent.group ?? 'gateway.networking.k8s.io';
      const isService = kind === 'Service' && (group === '' || group === 'core');
      const isServiceEntry = kind === 'ServiceEntry' && group === 'networking.istio.io';
      if (!isService && !isServiceEntry) return; // a Gateway or other parent: not for a mesh client
      meshParents++;
      const ns = parent.namespace ?? route.metadata.namespace;
      // Producer routes live with the service; consumer routes with the caller. Any other route
      // does not apply to this client (istiod's rule for gateway-semantics VirtualServices).
      const consumer = route.metadata.namespace === ctx.client.namespace;
      if (!consumer && route.metadata.namespace !== ns) return;
      let hosts: string[];
      if (isService) {
        hosts = [`${parent.name}.${ns}.svc.${domain}`];
      } else {
        const se = serviceEntries.find((s) => s.metadata.namespace === ns && s.metadata.name === parent.name);
        if (!se) return; // routes nothing; the analyzers report it (IST0101)
        hosts = se.spec.hosts.map((h) => resolveShortName(h.toLowerCase(), ns, domain));
      }
      const forParent = parent.port === undefined ? rules : withPort(rules, parent.port);
      for (const host of hosts) {
        const key = `${route.metadata.namespace}${parent.port === undefined ? '' : `/${parent.port}`}/${host}`;
        let b = buckets.get(key);
        if (!b) buckets.set(key, (b = { name: key.replaceAll('/', '~'), namespace: route.metadata.namespace, host, consumer, routes: [], rules: [] }));
        if (!b.routes.includes(route)) b.routes.push(route);
        for (const r of forParent) b.rules.push(r);
      }
    });
    if (meshParents === 0 && (route.spec.parentRefs?.length ?? 0) > 0) {
      ctx.problems.warn(route, ['spec', 'parentRefs'], 'no parentRef names a Service or ServiceEntry, so this route does not apply to mesh clients (Gateway parents are for gateways)');
    }
  }
  const out: VirtualService[] = [];
  for (const b of buckets.values()) {
    const rules = sortRules(b.rules);
    const first = b.routes[0]!;
    const metadata: VirtualService['metadata'] = {
      name: b.name,
      namespace: b.namespace,
      annotations: {
        [ROUTE_SEMANTICS_ANNOTATION]: 'gateway',
        [PARENTS_ANNOTATION]: b.routes.map((r) => `${r.kind}/${r.metadata.name}.${r.metadata.namespace}`).join(','),
      },
    };
    if (first.metadata.creationTimestamp) metadata.creationTimestamp = first.metadata.creationTimestamp;
    const vs: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata,
      // A consumer route is private to the client's namespace, so it is considered before
      // producer routes (istiod favours same-namespace gateway routes).
      spec: { hosts: [b.host], gateways: ['mesh'], http: rules.map((r) => r.http), ...(b.consumer && { exportTo: ['.'] }) },
      source: first.source,
    };
    RULE_SOURCES.set(vs, rules.map((r) => r.source));
    out.push(vs);
  }
  return out;
}

function withPort(rules: ConvertedRule[], port: number): ConvertedRule[] {
  return rules.map((r) => {
    const http = structuredClone(r.http);
    if (!http.match || http.match.length === 0) http.match = [{ port }];
    else for (const m of http.match) m.port = port;
    return { http, source: r.source };
  });
}

// Gateway API precedence among the rules of one host (istiod's sortHTTPRoutes, a stable sort;
// every converted rule has at most one match).
function sortRules(rules: ConvertedRule[]): ConvertedRule[] {
  const rank = (m: HTTPMatchRequest | undefined): number => (!m?.uri ? -1 : m.uri.exact !== undefined ? 3 : m.uri.prefix !== undefined ? 2 : m.uri.regex !== undefined ? 1 : -1);
  const len = (m: HTTPMatchRequest | undefined): number => (m?.uri ? (m.uri.exact ?? m.uri.prefix ?? m.uri.regex ?? '').length : 0);
  return rules
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const ma = a.r.http.match?.[0];
      const mb = b.r.http.match?.[0];
      const noA = (a.r.http.match?.length ?? 0) === 0;
      const noB = (b.r.http.match?.length ?? 0) === 0;
      if (noA || noB) return noA === noB ? a.i - b.i : noA ? 1 : -1;
      const d =
        rank(mb) - rank(ma) ||
        len(mb) - len(ma) ||
        (mb!.method ? 1 : 0) - (ma!.method ? 1 : 0) ||
        Object.keys(mb!.headers ?? {}).length - Object.keys(ma!.headers ?? {}).length ||
        Object.keys(mb!.queryParams ?? {}).length - Object.keys(ma!.queryParams ?? {}).length;
      return d || a.i - b.i;
    })
    .map((x) => x.r);
}

// ---- HTTPRoute ------------------------------------------------------------------------------

function convertHttpRules(ctx: CompileContext, route: GatewayHTTPRoute): ConvertedRule[] {
  const out: ConvertedRule[] = [];
  (route.spec.rules ?? []).forEach((rule, ri) => {
    const path: Path = ['spec', 'rules', ri];
    const base: HTTPRoute = { name: rule.name ?? `${route.metadata.namespace}.${route.metadata.name}.${ri}` };
    for (const [fi, f] of (rule.filters ?? []).entries()) applyRuleFilter(ctx, route, base, f, [...path, 'filters', fi]);
    if (rule.retry) {
      // "Implementations SHOULD retry on connection errors if a retry stanza is configured."
      const retryOn = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', ...(rule.retry.codes ?? []).map(String)];
      const attempts = rule.retry.attempts ?? 2;
      base.retries = { attempts, ...(attempts > 0 && { retryOn: retryOn.join(',') }) };
      if (rule.retry.backoff !== undefined) base.retries.backoff = rule.retry.backoff;
    }
    const request = rule.timeouts?.request;
    if (request !== undefined && !isZero(request)) base.timeout = request;
    const backendRequest = rule.timeouts?.backendRequest;
    if (backendRequest !== undefined && !isZero(backendRequest)) {
      // istiod's choice: with retries it bounds each try, without it replaces the route timeout.
      if (base.retries) base.retries.perTryTimeout = backendRequest;
      else base.timeout = backendRequest;
    }
    setDestinations(ctx, route, base, rule.backendRefs, [...path, 'backendRefs']);
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [undefined];
    matches.forEach((m) => {
      const http = structuredClone(base);
      if (m) http.match = [httpMatch(m)];
      out.push({ http, source: { obj: route, path } });
    });
  });
  return out;
}

function httpMatch(m: GwHTTPRouteMatch): HTTPMatchRequest {
  const out: HTTPMatchRequest = { uri: uriMatch(m.path?.type ?? 'PathPrefix', m.path?.value ?? '/') };
  const headers = valueMatches(m.headers);
  if (headers) out.headers = headers;
  const query = valueMatches(m.queryParams);
  if (query) out.queryParams = query;
  if (m.method) out.method = { exact: m.method };
  return out;
}

function uriMatch(type: string, value: string): StringMatch {
  switch (type) {
    case 'Exact':
      return { exact: value };
    case 'RegularExpression':
      return { regex: value };
    default:
      // "When specified, a trailing `/` is ignored."
      return { prefix: value !== '/' ? value.replace(/\/$/, '') : value };
  }
}

function valueMatches(list: readonly GwValueMatch[] | undefined): Record<string, StringMatch> | undefined {
  if (!list || list.length === 0) return undefined;
  const out: Record<string, StringMatch> = {};
  for (const m of list) out[m.name] = (m.type ?? 'Exact') === 'RegularExpression' ? { regex: m.value } : { exact: m.value };
  return out;
}

function applyRuleFilter(ctx: CompileContext, route: GatewayRoute, http: HTTPRoute, f: GwRouteFilter, path: Path): void {
  switch (f.type) {
    case 'RequestHeaderModifier':
      if (f.requestHeaderModifier) (http.headers ??= {}).request = headerOperations(f.requestHeaderModifier);
      return;
    case 'ResponseHeaderModifier':
      if (f.responseHeaderModifier) (http.headers ??= {}).response = headerOperations(f.responseHeaderModifier);
      return;
    case 'RequestRedirect': {
      const r = f.requestRedirect!;
      // The CRD defaults statusCode to 302; Istio's own redirect default would be 301.
      const redirect: GatewayRedirect = { redirectCode: r.statusCode ?? 302 };
      if (r.hostname !== undefined) redirect.authority = r.hostname;
      if (r.scheme !== undefined) redirect.scheme = r.scheme;
      // "When empty, port (if specified) of the request is used" — unless the scheme changes.
      if (r.port !== undefined) redirect.port = r.port;
      else redirect.derivePort = r.scheme !== undefined ? 'FROM_PROTOCOL_DEFAULT' : 'FROM_REQUEST_PORT';
      if (r.path?.type === 'ReplaceFullPath') redirect.uri = r.path.replaceFullPath ?? '';
      else if (r.path?.type === 'ReplacePrefixMatch') redirect.prefixRewrite = r.path.replacePrefixMatch ?? '';
      http.redirect = redirect;
      return;
    }
    case 'URLRewrite': {
      const w = f.urlRewrite!;
      const rewrite: NonNullable<HTTPRoute['rewrite']> = {};
      if (w.path?.type === 'ReplacePrefixMatch') rewrite.uri = (w.path.replacePrefixMatch ?? '').replace(/\/$/, '') || '/'; // "/" removes the prefix
      else if (w.path?.type === 'ReplaceFullPath') rewrite.uriRegexRewrite = { match: '/.*', rewrite: w.path.replaceFullPath ?? '' };
      if (w.hostname !== undefined) rewrite.authority = w.hostname;
      if (rewrite.uri !== undefined || rewrite.uriRegexRewrite || rewrite.authority) http.rewrite = rewrite;
      return;
    }
    case 'RequestMirror': {
      const m = f.requestMirror!;
      const destination = backendDestination(ctx, route, m.backendRef, [...path, 'requestMirror', 'backendRef']);
      const mirror: NonNullable<HTTPRoute['mirrors']>[number] = { destination };
      if (m.fraction) mirror.percentage = { value: (100 * m.fraction.numerator) / (m.fraction.denominator ?? 100) };
      else if (m.percent !== undefined) mirror.percentage = { value: m.percent };
      (http.mirrors ??= []).push(mirror);
      return;
    }
    case 'CORS':
      ctx.problems.warn(route, path, 'the CORS filter (experimental channel) is not compiled by Meshlet; it is ignored');
      return;
    default:
      throw new RuleError([...path, 'type'], `unsupported filter type "${f.type}"`);
  }
}

function headerOperations(m: GwHeaderModifier): HeaderOperations {
  const ops: HeaderOperations = {};
  const add = headerMap(m.add);
  if (add) ops.add = add;
  const set = headerMap(m.set);
  if (set) ops.set = set;
  if (m.remove && m.remove.length > 0) ops.remove = [...m.remove];
  return ops;
}

// Names are case-insensitive; "subsequent entries with an equivalent header name MUST be ignored".
function headerMap(list: readonly GwHTTPHeader[] | undefined): Record<string, string> | undefined {
  if (!list || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const h of list) {
    const k = h.name.toLowerCase();
    if (!(k in out)) out[k] = h.value;
  }
  return out;
}

function setDestinations(ctx: CompileContext, route: GatewayRoute, http: HTTPRoute, refs: readonly GwBackendRef[] | undefined, path: Path): void {
  const kept = (refs ?? []).map((b, i) => ({ b, i, weight: b.weight ?? 1 })).filter((x) => x.weight > 0);
  if (kept.length === 0) {
    // "When there are no >0 weight backends" the spec wants a 500; a redirect answers instead.
    if (!http.redirect) http.directResponse = { status: 500 };
    return;
  }
  if (http.redirect) return;
  http.route = kept.map(({ b, i, weight }): HTTPRouteDestination => {
    const d: HTTPRouteDestination = { destination: backendDestination(ctx, route, b, [...path, i]) };
    // A single backend takes everything: istiod writes no weight for it.
    if (kept.length > 1) d.weight = weight;
    for (const [fi, f] of (b.filters ?? []).entries()) {
      if (f.type === 'RequestHeaderModifier' && f.requestHeaderModifier) (d.headers ??= {}).request = headerOperations(f.requestHeaderModifier);
      else if (f.type === 'ResponseHeaderModifier' && f.responseHeaderModifier) (d.headers ??= {}).response = headerOperations(f.responseHeaderModifier);
      else throw new RuleError([...path, i, 'filters', fi, 'type'], `unsupported backendRef filter type "${f.type}"`);
    }
    return d;
  });
}

/** The host a backendRef names: a Service's FQDN, a ServiceEntry host (kind Hostname), or undefined for any other kind. */
export function backendHost(ref: GwBackendObjectReference, routeNamespace: string, clusterDomain: string): string | undefined {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  if (kind === 'Service' && (group === '' || group === 'core')) return `${ref.name}.${ref.namespace ?? routeNamespace}.svc.${clusterDomain}`;
  if (kind === 'Hostname' && group === 'networking.istio.io') return ref.name.toLowerCase();
  return undefined;
}

/** istiod's buildDestination: a Service or a ServiceEntry host (kind Hostname); anything else is an invalid backend. */
function backendDestination(ctx: CompileContext, route: GatewayRoute, ref: GwBackendObjectReference, path: Path): Destination {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  let host = backendHost(ref, route.metadata.namespace, ctx.client.clusterDomain);
  if (kind === 'Service' && (group === '' || group === 'core')) {
    if (ref.name.includes('.')) throw new RuleError([...path, 'name'], 'service name invalid; the name of the Service must be used, not the hostname');
  } else if (kind === 'Hostname' && group === 'networking.istio.io') {
    if (ref.namespace !== undefined) throw new RuleError([...path, 'namespace'], 'namespace may not be set with Hostname type');
  }
  if (host === undefined) {
    // istiod keeps an empty destination, so this share of the traffic fails (500) rather than
    // moving to the other backends; Meshlet keeps a cluster that does not exist, to the same end.
    ctx.problems.warn(route, path, `referencing unsupported backendRef: group "${group}" kind "${kind}" (use a Service, or kind Hostname of group networking.istio.io for a ServiceEntry host); requests to it fail`);
    host = `${ref.name}.${kind.toLowerCase()}.unsupported-backend.invalid`;
  }
  if (ref.port === undefined) throw new RuleError([...path, 'port'], 'port is required in backendRef');
  return { host, port: { number: ref.port } };
}

function isZero(duration: string): boolean {
  return /^(?:0+(?:h|m|s|ms))+$/.test(duration);
}

// ---- GRPCRoute ------------------------------------------------------------------------------

function convertGrpcRules(ctx: CompileContext, route: GatewayGRPCRoute): ConvertedRule[] {
  const out: ConvertedRule[] = [];
  (route.spec.rules ?? []).forEach((rule, ri) => {
    const path: Path = ['spec', 'rules', ri];
    const base: HTTPRoute = { name: rule.name ?? `${route.metadata.namespace}.${route.metadata.name}.${ri}` };
    for (const [fi, f] of (rule.filters ?? []).entries()) {
      if (f.type === 'RequestRedirect' || f.type === 'URLRewrite' || f.type === 'CORS') throw new RuleError([...path, 'filters', fi, 'type'], `unsupported filter type "${f.type}"`);
      applyRuleFilter(ctx, route, base, f, [...path, 'filters', fi]);
    }
    setDestinations(ctx, route, base, rule.backendRefs, [...path, 'backendRefs']);
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [undefined];
    matches.forEach((m) => {
      const http = structuredClone(base);
      if (m) http.match = [grpcMatch(m)];
      out.push({ http, source: { obj: route, path } });
    });
  });
  return out;
}

// gRPC paths are /<service>/<method>; a method match becomes a string match on the path.
function grpcMatch(m: GwGRPCRouteMatch): HTTPMatchRequest {
  const out: HTTPMatchRequest = {};
  const mm = m.method;
  if (mm && (mm.service !== undefined || mm.method !== undefined)) {
    const exact = (mm.type ?? 'Exact') === 'Exact';
    if (mm.method === undefined) out.uri = exact ? { prefix: `/${mm.service}/` } : { regex: `/${mm.service}/.+` };
    else if (mm.service === undefined) out.uri = { regex: `/[^/]+/${mm.method}` };
    else out.uri = exact ? { exact: `/${mm.service}/${mm.method}` } : { regex: `/${mm.service}/${mm.method}` };
  }
  const headers = valueMatches(m.headers);
  if (headers) out.headers = headers;
  return out;
}
