// The logical step of a request: which service, which route, which weighted cluster. Pure
// functions of one snapshot and one request; the adapters execute what comes out.

import type { CompiledRoute, ForwardAction, MeshSnapshot, ServiceRoutes, VirtualHostRoutes, WeightedClusterConfig } from '../snapshot/mesh-snapshot.ts';
import type { RequestView } from './request-view.ts';
import { lookupService, virtualHostFor, type ClientScope } from './service-lookup.ts';
import { firstMatchingRoute } from './route-index.ts';
import { blockedReason } from '../snapshot/outbound-policy.ts';

export type RouteResult =
  /** The host is not a mesh service: send the request as it is (Istio's ALLOW_ANY). */
  | { readonly kind: 'passthrough' }
  /** The host is not a mesh service and the outbound traffic policy is REGISTRY_ONLY (embedded mode, sidecar profile). */
  | { readonly kind: 'blocked'; readonly reason: string }
  | { readonly kind: 'no-route'; readonly service: ServiceRoutes; readonly fqdn: string; readonly reason: string }
  | { readonly kind: 'matched'; readonly service: ServiceRoutes; readonly fqdn: string; readonly virtualHost: VirtualHostRoutes; readonly route: CompiledRoute };

// Shared: a host outside the mesh gets the same answer on every request, with nothing to allocate.
const PASSTHROUGH: RouteResult = Object.freeze({ kind: 'passthrough' });

export function routeRequest(snapshot: MeshSnapshot, req: RequestView, host: string, port: number, scope: ClientScope): RouteResult {
  const found = lookupService(snapshot, host, port, scope) ?? outsideTheMesh(snapshot, host, port);
  if (!found) {
    const o = snapshot.outbound;
    if (o?.blocked) return { kind: 'blocked', reason: blockedReason(o, host, port) };
    return PASSTHROUGH;
  }
  const { service, fqdn } = found;
  const vh = virtualHostFor(service, req.authority, fqdn, port);
  if (!vh) return { kind: 'no-route', service, fqdn, reason: `no virtual host of ${service.routeConfig} matches ${req.authority}` };
  return routeIn(service, fqdn, vh, req);
}

/** The first route of a virtual host already found for the request's service that takes it. */
export function routeIn(service: ServiceRoutes, fqdn: string, vh: VirtualHostRoutes, req: RequestView): RouteResult {
  const route = firstMatchingRoute(vh, req);
  if (route) return { kind: 'matched', service, fqdn, virtualHost: vh, route };
  return { kind: 'no-route', service, fqdn, reason: `no route of ${service.routeConfig} (virtual host ${vh.name}) matches ${req.method} ${req.path}` };
}

/** Envoy's weighted_clusters pick: a uniform draw over the total weight. */
export function pickWeightedCluster(action: ForwardAction, random: () => number = Math.random): WeightedClusterConfig {
  const list = action.clusters;
  if (list.length === 1) return list[0]!;
  let r = random() * action.totalWeight;
  for (const c of list) {
    r -= c.weight;
    if (r < 0) return c;
  }
  return list[list.length - 1]!;
}

/**
 * A host no service takes: in the sidecar profile, on a port that has a listener, that port's
 * route table (its `*` host: allow_any to PassthroughCluster, or block_all's 502), as the Envoy
 * sidecar's port listener takes it; else the catch-all route table of an egress proxy (embedded
 * mode, ALLOW_ANY with a Sidecar egressProxy).
 */
function outsideTheMesh(snapshot: MeshSnapshot, host: string, port: number): { service: ServiceRoutes; fqdn: string } | undefined {
  const service = snapshot.portRoutes?.get(port) ?? snapshot.outbound?.routes;
  return service ? { service, fqdn: host } : undefined;
}
