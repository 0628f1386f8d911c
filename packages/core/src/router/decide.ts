// One request's whole logical decision: service → route → weighted cluster → the policies that
// apply to it. The adapters (undici, grpc-js) execute a Decision; explain() prints one.

import type { ClusterConfig, CompiledRoute, DirectResponseConfig, ForwardAction, MeshSnapshot, ServiceRoutes, VirtualHostRoutes, WeightedClusterConfig } from '../snapshot/mesh-snapshot.ts';
import { hasHeaderMutations } from './header-mutations.ts';
import type { RedirectActionConfig } from './rewrite.ts';
import { ClusterNotFoundError, NoRouteError, OutboundBlockedError, type MeshError } from '../errors.ts';
import { drawFault, type FaultDraw } from './fault.ts';
import type { RequestView } from './request-view.ts';
import { pickWeightedCluster, routeIn, routeRequest } from './router.ts';
import { routeLabel } from './route-label.ts';
import { matchesEveryRequest } from './route-match.ts';
import { lookupService, virtualHostFor, type ClientScope } from './service-lookup.ts';

export type Decision =
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'error'; readonly error: MeshError; readonly route: CompiledRoute | undefined }
  | ForwardDecision
  | { readonly kind: 'redirect'; readonly route: CompiledRoute; readonly action: RedirectActionConfig; readonly fault: FaultDraw }
  | { readonly kind: 'direct'; readonly route: CompiledRoute; readonly action: DirectResponseConfig; readonly fault: FaultDraw };

export interface ForwardDecision {
  readonly kind: 'forward';
  readonly service: ServiceRoutes;
  readonly fqdn: string;
  readonly route: CompiledRoute;
  readonly action: ForwardAction;
  readonly target: WeightedClusterConfig;
  readonly cluster: ClusterConfig;
  readonly fault: FaultDraw;
  /** The route or its weighted cluster changes request headers, or the route rewrites the host. */
  readonly rewritesRequestHeaders: boolean;
  /** The route or its weighted cluster changes response headers (a hash cookie is the request's own). */
  readonly rewritesResponseHeaders: boolean;
}

/**
 * `at`: hostRoute()'s answer for this request's host, port and authority in this snapshot, when
 * the adapter has asked it already; the service and virtual host are then not looked up again.
 */
export function decide(snapshot: MeshSnapshot, req: RequestView, host: string, port: number, scope: ClientScope, random: () => number = Math.random, at?: HostRoute): Decision {
  const r = at !== undefined ? routeIn(at.service, at.fqdn, at.virtualHost, req) : routeRequest(snapshot, req, host, port, scope);
  if (r.kind === 'passthrough') return r;
  if (r.kind === 'blocked') return { kind: 'error', error: new OutboundBlockedError(r.reason), route: undefined };
  if (r.kind === 'no-route') return { kind: 'error', error: new NoRouteError(r.reason), route: undefined };
  const route = r.route;
  const action = route.action;
  const fault = drawFault(route.fault, random);
  switch (action.kind) {
    case 'redirect': return { kind: 'redirect', route, action, fault };
    case 'direct': return { kind: 'direct', route, action, fault };
    case 'forward': {
      const target = pickWeightedCluster(action, random);
      const cluster = snapshot.clusters.get(target.name);
      if (!cluster) return { kind: 'error', error: new ClusterNotFoundError(target.name, routeLabel(route)), route };
      // Without a fault to draw, the decision is the same every time for one snapshot's route,
      // weighted cluster and service name: built once, not per request (it lives as long as its
      // request, and objects that outlive scavenges get pretenured).
      if (route.fault !== undefined) return forwardDecision(r.service, r.fqdn, route, action, target, cluster, fault);
      const kept = decisions.get(target);
      if (kept !== undefined && kept.cluster === cluster && kept.route === route && kept.service === r.service && kept.fqdn === r.fqdn) return kept;
      const d = forwardDecision(r.service, r.fqdn, route, action, target, cluster, fault);
      decisions.set(target, d);
      return d;
    }
  }
}

/** The last fault-free decision per weighted cluster (decide() says why); decisions are only read. */
const decisions = new WeakMap<WeightedClusterConfig, ForwardDecision>();

/**
 * Where requests to host:port under `authority` go in this snapshot: the service, its virtual
 * host, and `fixed`, the decision every one of them gets when nothing else about a request could
 * change it (the virtual host's first route takes every request, "/" and no other condition:
 * Istio's default route, a VirtualService with one plain route; it draws no fault, has one
 * weighted cluster and hashes nothing). Undefined when no service takes the host. With `fixed`
 * the adapter builds no RequestView and routes nothing (about a tenth of Meshlet's work on a
 * request in a young process, before V8 optimises that path); without it, it hands this to
 * decide(), which then only matches the routes.
 */
export function hostRoute(snapshot: MeshSnapshot, host: string, port: number, authority: string, scope: ClientScope): HostRoute | undefined {
  const found = lookupService(snapshot, host, port, scope);
  if (found === undefined) return undefined;
  const vh = virtualHostFor(found.service, authority, found.fqdn, port);
  if (vh === undefined) return undefined;
  let kept = hostRoutes.get(vh);
  // Kept per virtual host and checked against what it was made from: a service's routes can
  // outlive a snapshot (xDS updates rebuild only what changed), its clusters need not. The
  // snapshot is known by its version, which a mesh never repeats: holding the snapshot itself
  // would keep an old one alive for every virtual host not asked since.
  if (kept === undefined || kept.version !== snapshot.version || kept.service !== found.service || kept.fqdn !== found.fqdn) {
    kept = { version: snapshot.version, service: found.service, fqdn: found.fqdn, virtualHost: vh, fixed: fixedFor(snapshot, found.service, found.fqdn, vh.routes[0]) };
    hostRoutes.set(vh, kept);
  }
  return kept;
}

export interface HostRoute {
  readonly version: number;
  readonly service: ServiceRoutes;
  readonly fqdn: string;
  readonly virtualHost: VirtualHostRoutes;
  readonly fixed: ForwardDecision | undefined;
}

function fixedFor(snapshot: MeshSnapshot, service: ServiceRoutes, fqdn: string, route: CompiledRoute | undefined): ForwardDecision | undefined {
  if (route === undefined || !matchesEveryRequest(route.match) || route.fault !== undefined) return undefined;
  const action = route.action;
  if (action.kind !== 'forward' || action.clusters.length !== 1 || action.hash !== undefined) return undefined;
  const target = action.clusters[0]!;
  const cluster = snapshot.clusters.get(target.name);
  if (cluster === undefined) return undefined;
  return forwardDecision(service, fqdn, route, action, target, cluster, drawFault(undefined));
}

// What the adapters would otherwise ask of every request (do its headers change?) is answered
// once here, where the decision is made: most decisions are built once and reused.
function forwardDecision(service: ServiceRoutes, fqdn: string, route: CompiledRoute, action: ForwardAction, target: WeightedClusterConfig, cluster: ClusterConfig, fault: FaultDraw): ForwardDecision {
  return {
    kind: 'forward', service, fqdn, route, action, target, cluster, fault,
    rewritesRequestHeaders: hasHeaderMutations(route.requestHeaders) || hasHeaderMutations(target.requestHeaders) || action.hostRewrite !== undefined,
    rewritesResponseHeaders: hasHeaderMutations(route.responseHeaders) || hasHeaderMutations(target.responseHeaders),
  };
}

const hostRoutes = new WeakMap<VirtualHostRoutes, HostRoute>();
