// What a matched VirtualService rule does (route.applyHTTPRouteDestination, ApplyRedirect,
// ApplyDirectResponse): forward to one cluster or a weighted set, with timeout, retries,
// rewrites, mirrors and consistent-hash keys — or answer with a redirect or a fixed response.
//
// Destination clusters are named as istiod names them even when nothing backs them (Envoy then
// answers "cluster not found"); each such reference is reported as a warning, since that is how
// istiod behaves and the config stays usable for every other route.

import type { ClusterWeight, HashPolicy, RedirectAction, Route, RouteAction } from '../../../xds/resources.ts';
import type { CompileContext, Path } from '../common/compile-context.ts';
import { clusterName } from '../clusters/compile-clusters.ts';
import { percentToFraction, integerPercentToFraction, toDuration } from '../common/compile-duration.ts';
import { toHashPolicy } from './compile-hash-policy.ts';
import { applyHeaderMutations, translateHeaders } from './compile-headers.ts';
import { convertRetryPolicy } from './compile-retry.ts';
import type { ServiceRegistry } from '../clusters/compile-services.ts';
import type { RuleOrigin } from './resolved-rule.ts';
import type { DestinationRuleIndex } from '../clusters/destination-rule-index.ts';
import { hashForDestination } from '../clusters/destination-rule-policy.ts';
import type { Destination, HTTPDirectResponse, HTTPRedirect, HTTPRoute } from '../../types.ts';
import { usesGatewaySemantics, type GatewayRedirect } from './compile-gateway-api.ts';

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** Everything a rule needs to resolve its destinations for one listener port. */
export interface RouteEnv {
  ctx: CompileContext;
  registry: ServiceRegistry;
  rules: DestinationRuleIndex;
  /** The service port the route table is for. */
  listenPort: number;
}

/**
 * The cluster a destination names: its port, or else the listener's port (istiod's
 * GetDestinationCluster only sees services that have the listener port, so an absent port
 * always means "the port the client called"). A host, port or subset the config lacks
 * altogether is an analyzer finding (IST0101, analyze/); what is reported here is what only this
 * client lacks: a service or subset not exported to its namespace, a called port the
 * destination does not have.
 */
export function destinationCluster(env: RouteEnv, dest: Destination, origin: RuleOrigin, path: Path): string {
  // istiod's GetDestinationCluster: a destination that is an ExternalName alias goes to the
  // concrete service's clusters; without a port, a service with a single port is sent to it,
  // any other to the port the request came in on.
  const host = env.registry.aliases.get(dest.host) ?? dest.host;
  const svc = env.registry.byHost.get(host);
  const port = dest.port?.number ?? (svc?.ports.length === 1 ? svc.ports[0]?.number : undefined) ?? env.listenPort;
  const name = clusterName(port, dest.subset ?? '', host);
  const problems = env.ctx.problems;
  if (!svc) {
    if (env.registry.declaredHosts.has(host)) {
      problems.warn(origin.vs, [...path, 'host'], `the Service or ServiceEntry declaring ${host} is not exported to namespace ${env.ctx.client.namespace}; the route keeps pointing at cluster ${name}, which does not exist`);
    }
    return name;
  }
  if (dest.port?.number === undefined && !svc.ports.some((p) => p.number === port)) {
    problems.warn(origin.vs, [...path, 'host'], `service ${host} has no port ${port} (no destination port is set, so the called port ${port} is used; set port.number); the route keeps pointing at cluster ${name}, which does not exist`);
  }
  if (dest.subset && env.rules.declaresSubset(host, dest.subset)) {
    const rule = env.rules.lookup(host, svc.namespace);
    if (!rule?.spec.subsets?.some((s) => s.name === dest.subset)) {
      problems.warn(origin.vs, [...path, 'subset'], `unknown subset ${dest.subset}: no DestinationRule visible to namespace ${env.ctx.client.namespace} defines it for ${host}; the route keeps pointing at cluster ${name}, which does not exist`);
    }
  }
  return name;
}

function destinationHash(env: RouteEnv, dest: Destination): HashPolicy | undefined {
  const svc = env.registry.byHost.get(dest.host);
  return toHashPolicy(hashForDestination(env.rules.lookup(dest.host, svc?.namespace), dest));
}

/** Fills `out.route` for a forwarding rule; `authority` is a host rewrite from the rule's headers. */
export function applyRouteDestination(env: RouteEnv, out: Route, rule: HTTPRoute, origin: RuleOrigin, authority: string): void {
  const action: RouteAction = {};
  const timeout = toDuration(rule.timeout) ?? '0s';
  let prefixRewrite: string | undefined;
  let regexRewrite: RouteAction['regexRewrite'];
  let hostRewrite = authority;
  if (rule.rewrite) {
    const rr = rule.rewrite.uriRegexRewrite;
    const separated = out.match.pathSeparatedPrefix;
    if (rr) regexRewrite = { pattern: { regex: rr.match ?? '' }, substitution: rr.rewrite ?? '' };
    else if (rule.rewrite.uri === '/' && separated !== undefined && usesGatewaySemantics(origin.root)) {
      // Gateway API ReplacePrefixMatch "/" removes the prefix: /foo/bar → /bar, /foo → / (istiod
      // writes this regex because a prefix rewrite to "/" would leave "//bar").
      regexRewrite = { pattern: { regex: `^${escapeRegex(separated)}(/?)(.*)` }, substitution: '/\\2' };
    } else if (rule.rewrite.uri) prefixRewrite = rule.rewrite.uri;
    if (rule.rewrite.authority) hostRewrite = rule.rewrite.authority;
  }

  const mirrors: NonNullable<RouteAction['requestMirrorPolicies']> = [];
  if (rule.mirror) {
    // mirrorPercentage 0 means "do not mirror"; absent means all traffic.
    const pct = rule.mirrorPercentage;
    if (!pct || (pct.value ?? 0) > 0) {
      const fraction = pct ? percentToFraction(pct.value) : integerPercentToFraction(100);
      mirrors.push({ cluster: destinationCluster(env, rule.mirror, origin, [...origin.path, 'mirror']), runtimeFraction: { defaultValue: fraction }, traceSampled: false, disableShadowHostSuffixAppend: true });
    }
  }
  (rule.mirrors ?? []).forEach((m, i) => {
    const pct = m.percentage;
    if (pct && !((pct.value ?? 0) > 0)) return;
    const fraction = pct ? percentToFraction(pct.value) : integerPercentToFraction(100);
    mirrors.push({ cluster: destinationCluster(env, m.destination, origin, [...origin.path, 'mirrors', i, 'destination']), runtimeFraction: { defaultValue: fraction }, traceSampled: false, disableShadowHostSuffixAppend: true });
  });

  const hashPolicy: HashPolicy[] = [];
  const dests = rule.route ?? [];
  let consistentHash = false;
  if (dests.length === 1) {
    const d = dests[0] as NonNullable<HTTPRoute['route']>[number];
    action.cluster = destinationCluster(env, d.destination, origin, [...origin.path, 'route', 0, 'destination']);
    if (d.headers) {
      // One destination: its header operations join the route's, after them.
      const m = translateHeaders(d.headers);
      applyHeaderMutations(out, m);
      // A route-level rewrite wins over the destination's, so one and several destinations agree.
      if (m.authority && !hostRewrite) hostRewrite = m.authority;
    }
    const h = destinationHash(env, d.destination);
    if (h) hashPolicy.push(h);
    consistentHash = h !== undefined;
  } else {
    const clusters: ClusterWeight[] = [];
    dests.forEach((d, i) => {
      if (!d.weight) return; // weight 0 (or none) gets nothing when there are several
      const cw: ClusterWeight = { name: destinationCluster(env, d.destination, origin, [...origin.path, 'route', i, 'destination']), weight: d.weight };
      if (d.headers) {
        const m = translateHeaders(d.headers);
        applyHeaderMutations(cw, m);
        if (m.authority) cw.hostRewriteLiteral = m.authority;
      }
      clusters.push(cw);
      const h = destinationHash(env, d.destination);
      if (h) hashPolicy.push(h);
    });
    if (clusters.length === 0) {
      const why = dests.length === 0 ? 'the rule has no destination' : 'every destination has weight 0';
      env.ctx.problems.warn(origin.vs, [...origin.path, 'route'], `${why}: the route has no cluster to send to`);
    }
    action.weightedClusters = { clusters };
  }

  if (prefixRewrite !== undefined) action.prefixRewrite = prefixRewrite;
  if (regexRewrite) action.regexRewrite = regexRewrite;
  if (hostRewrite) action.hostRewriteLiteral = hostRewrite;
  action.timeout = timeout;
  // A rule without `retries` gets MeshConfig's defaultHttpRetryPolicy (Istio's default when unset).
  const retry = convertRetryPolicy(rule.retries ?? env.ctx.mesh.defaultHttpRetryPolicy, consistentHash);
  if (retry) action.retryPolicy = retry;
  if (mirrors.length > 0) action.requestMirrorPolicies = mirrors;
  if (hashPolicy.length > 0) action.hashPolicy = hashPolicy;
  // Proxyless clients read the stream deadline from max_stream_duration, which istiod sets to the
  // route timeout for them.
  action.maxStreamDuration = { maxStreamDuration: timeout };
  out.route = action;
}

const REDIRECT_CODES: Record<number, RedirectAction['responseCode']> = {
  0: 'MOVED_PERMANENTLY',
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

/** Sets `out.redirect`; false when the code is one Envoy cannot send (the route then has no action). */
export function applyRedirect(out: Route, r: HTTPRedirect, listenPort: number): boolean {
  const action: RedirectAction = {};
  if (r.authority) action.hostRedirect = r.authority;
  if (r.uri) action.pathRedirect = r.uri;
  // Only a converted Gateway API redirect (ReplacePrefixMatch) has a prefix rewrite.
  const prefix = (r as GatewayRedirect).prefixRewrite;
  if (prefix !== undefined && !r.uri) action.prefixRewrite = prefix;
  if (r.scheme) action.schemeRedirect = r.scheme;
  if (r.port !== undefined || r.derivePort !== undefined) {
    let port = 0;
    if (r.port !== undefined) port = r.port;
    else if (r.derivePort === 'FROM_REQUEST_PORT') port = listenPort; // routes are built per port
    const scheme = r.scheme || 'http';
    // No explicit :80 for http or :443 for https.
    if ((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https')) port = 0;
    if (port !== 0) action.portRedirect = port;
  }
  const code = REDIRECT_CODES[r.redirectCode ?? 0];
  if (!code) return false;
  action.responseCode = code;
  out.redirect = action;
  return true;
}

export function applyDirectResponse(out: Route, d: HTTPDirectResponse): void {
  const dr: NonNullable<Route['directResponse']> = { status: d.status };
  if (d.body?.string !== undefined) dr.body = { inlineString: d.body.string };
  else if (d.body?.bytes !== undefined) dr.body = { inlineBytes: d.body.bytes };
  out.directResponse = dr;
}
