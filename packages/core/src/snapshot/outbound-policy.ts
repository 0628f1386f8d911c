// The outbound traffic policy a snapshot carries, from the embedded compiler's decision
// (istio/compile/compile-outbound.ts) in the shape of a sidecar's catch-all: REGISTRY_ONLY is a
// blocked BlackHoleCluster, an egress proxy a catch-all route table `allow_any` sending every host
// to the proxy's cluster (as istiod's buildCatchAllVirtualHost writes it: no timeout, no retry
// policy), plain ALLOW_ANY nothing at all (passthrough).

import type { OutboundPolicy } from './mesh-snapshot.ts';
import { translateRouteConfiguration } from '../xds/translate-route-config.ts';

/** What istiod names a sidecar's catch-alls. */
export const VIRTUAL_OUTBOUND_LISTENER = 'virtualOutbound';
export const BLACK_HOLE_CLUSTER = 'BlackHoleCluster';

export interface OutboundDecision {
  readonly mode: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  readonly origin: string;
  readonly egressCluster: string | undefined;
}

export function outboundPolicy(d: OutboundDecision | undefined): OutboundPolicy | undefined {
  if (!d) return undefined;
  if (d.mode === 'REGISTRY_ONLY') return { blocked: true, listener: VIRTUAL_OUTBOUND_LISTENER, cluster: BLACK_HOLE_CLUSTER, origin: d.origin };
  if (d.egressCluster === undefined) return undefined;
  const name = 'allow_any';
  const table = translateRouteConfiguration({
    name,
    virtualHosts: [{ name, domains: ['*'], routes: [{ name, match: { prefix: '/' }, route: { cluster: d.egressCluster, timeout: '0s' } }] }],
  });
  // A route table this small cannot fail to translate; keep passthrough if it ever did.
  if (!table.ok) return undefined;
  return { blocked: false, listener: VIRTUAL_OUTBOUND_LISTENER, cluster: d.egressCluster, origin: d.origin, routes: { listener: VIRTUAL_OUTBOUND_LISTENER, routeConfig: name, virtualHosts: table.value } };
}

/** Why a request to `host:port` is blocked, naming the policy and what set it. */
export function blockedReason(o: OutboundPolicy, host: string, port: number): string {
  const by = o.origin ? ` (set by ${o.origin})` : '';
  return `${host}:${port} is not a service of the mesh and the outbound traffic policy is REGISTRY_ONLY${by}: the request is refused as Envoy's ${o.cluster} refuses it (listener ${o.listener}; a sidecar answers 502)`;
}
