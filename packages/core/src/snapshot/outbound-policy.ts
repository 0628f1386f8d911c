// The outbound traffic policy a snapshot carries, in the shape of a sidecar's catch-all — from the
// embedded compiler's decision (istio/compile/routes/compile-outbound.ts) or, in the sidecar profile,
// from istiod's virtualOutbound listener (sidecar-services.ts): REGISTRY_ONLY is a blocked
// BlackHoleCluster; an egress proxy a catch-all route table `allow_any` sending every host to
// the proxy's cluster (as istiod's buildCatchAllVirtualHost writes it: no timeout, no retry
// policy); plain ALLOW_ANY nothing at all (passthrough). Both profiles meet in the same
// snapshot field and the same router code.

import type { OutboundPolicy, ServiceRoutes } from './mesh-snapshot.ts';
import { translateRouteConfiguration } from './translate-route-config.ts';

/** What istiod names a sidecar's catch-alls. */
export const VIRTUAL_OUTBOUND_LISTENER = 'virtualOutbound';
export const BLACK_HOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

export interface OutboundDecision {
  readonly mode: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  readonly origin: string;
  readonly egressCluster: string | undefined;
}

export function outboundPolicy(d: OutboundDecision | undefined): OutboundPolicy | undefined {
  if (!d) return undefined;
  if (d.mode === 'REGISTRY_ONLY') return { blocked: true, listener: VIRTUAL_OUTBOUND_LISTENER, cluster: BLACK_HOLE_CLUSTER, origin: d.origin };
  if (d.egressCluster === undefined) return undefined;
  const routes = egressRoutes(VIRTUAL_OUTBOUND_LISTENER, d.egressCluster);
  return routes && { blocked: false, listener: VIRTUAL_OUTBOUND_LISTENER, cluster: d.egressCluster, origin: d.origin, routes };
}

/** The catch-all route table that sends every host to an egress proxy's cluster. */
export function egressRoutes(listener: string, cluster: string): ServiceRoutes | undefined {
  const name = 'allow_any';
  const table = translateRouteConfiguration({
    name,
    virtualHosts: [{ name, domains: ['*'], routes: [{ name, match: { prefix: '/' }, route: { cluster, timeout: '0s' } }] }],
  });
  // A route table this small cannot fail to translate; keep passthrough if it ever did.
  return table.ok ? { listener, routeConfig: name, virtualHosts: table.value } : undefined;
}

/** Why a request to `host:port` is blocked, naming the policy and what set it. */
export function blockedReason(o: OutboundPolicy, host: string, port: number): string {
  const by = o.origin ? ` (set by ${o.origin})` : '';
  return `${host}:${port} is not a service of the mesh and the outbound traffic policy is REGISTRY_ONLY${by}: the request is refused as Envoy's ${o.cluster} refuses it (listener ${o.listener}; a sidecar answers 502)`;
}
