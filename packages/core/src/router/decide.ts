// One request's whole logical decision: service → route → weighted cluster → the policies that
// apply to it. The adapters (undici, grpc-js) execute a Decision; explain() prints one.

import type { ClusterConfig, CompiledRoute, DirectResponseConfig, ForwardAction, MeshSnapshot, ServiceRoutes, WeightedClusterConfig } from '../snapshot/mesh-snapshot.ts';
import type { RedirectActionConfig } from './rewrite.ts';
import { ClusterNotFoundError, NoRouteError, OutboundBlockedError, type MeshError } from '../errors.ts';
import { drawFault, type FaultDraw } from './fault.ts';
import type { RequestView } from './request-view.ts';
import { pickWeightedCluster, routeRequest } from './router.ts';
import { routeLabel } from './route-label.ts';
import type { ClientScope } from './service-lookup.ts';

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
}

export function decide(snapshot: MeshSnapshot, req: RequestView, host: string, port: number, scope: ClientScope, random: () => number = Math.random): Decision {
  const r = routeRequest(snapshot, req, host, port, scope);
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
      if (route.fault !== undefined) return { kind: 'forward', service: r.service, fqdn: r.fqdn, route, action, target, cluster, fault };
      const kept = decisions.get(target);
      if (kept !== undefined && kept.cluster === cluster && kept.route === route && kept.service === r.service && kept.fqdn === r.fqdn) return kept;
      const d: ForwardDecision = { kind: 'forward', service: r.service, fqdn: r.fqdn, route, action, target, cluster, fault };
      decisions.set(target, d);
      return d;
    }
  }
}

/** The last fault-free decision per weighted cluster (decide() says why); decisions are only read. */
const decisions = new WeakMap<WeightedClusterConfig, ForwardDecision>();

