// The sidecar profile's listeners → the snapshot's service model. An Envoy sidecar routes by port
// and Host header: the listener of the request's port names a route table ("9080") whose virtual
// hosts list every name a service goes by (short names, FQDN, cluster IP). Meshlet looks a
// request up by host:port instead, so each of those names becomes a service key `<name>:<port>`
// pointing at the port's whole route table — a request then picks its virtual host by Host
// header among all of them, exactly as Envoy does. The table's `*` host (allow_any or
// block_all) answers hosts no virtual host names on a port that has a listener; the
// virtualOutbound's catch-all answers ports that have none.

import type { Listener, RouteConfiguration } from '../xds/resources.ts';
import { translateSidecarListener } from './translate-sidecar-listener.ts';
import { translateRouteConfiguration } from './translate-route-config.ts';
import type { OutboundPolicy, ServiceRoutes, VirtualHostRoutes, WildcardService } from './mesh-snapshot.ts';
import { BLACK_HOLE_CLUSTER, egressRoutes, PASSTHROUGH_CLUSTER } from './outbound-policy.ts';

export { BLACK_HOLE_CLUSTER, PASSTHROUGH_CLUSTER } from './outbound-policy.ts';

export interface SidecarRouting {
  /** Per port with an HTTP listener: its whole route table, for hosts no virtual host names. */
  readonly portRoutes: Map<number, ServiceRoutes>;
  outbound: OutboundPolicy | undefined;
  /** Listeners and filter chains Meshlet holds but does not act on. */
  readonly notes: string[];
}

export function emptySidecarRouting(): SidecarRouting {
  return { portRoutes: new Map(), outbound: undefined, notes: [] };
}

/**
 * Places one sidecar listener: its virtual hosts' names into `services` / `wildcards`, its
 * route table into `routing.portRoutes`, its catch-all into `routing.outbound`. Returns an error
 * line when the listener (or its route table) does not translate. Yields after each virtual
 * host: a port's table holds one per service (10k of them, too many for one turn of the event
 * loop); what it fills is the build's own, seen by nothing until the snapshot is swapped in.
 */
export function* placeSidecarListener(
  name: string,
  l: Listener,
  routeConfigs: ReadonlyMap<string, RouteConfiguration>,
  routeTables: ReadonlyMap<string, VirtualHostRoutes[]>,
  services: Map<string, ServiceRoutes>,
  wildcards: WildcardService[],
  routing: SidecarRouting,
): Generator<void, string | undefined> {
  const r = translateSidecarListener(l);
  if (!r.ok) return r.error;
  const s = r.value;
  routing.notes.push(...s.notes);
  if (s.virtualOutbound && s.catchAllCluster !== undefined) {
    const blocked = s.catchAllCluster === BLACK_HOLE_CLUSTER;
    // An egress proxy (Sidecar outboundTrafficPolicy.egressProxy): hosts outside the mesh go to
    // its cluster, as the embedded mode sends them (outbound-policy.ts).
    const routes = !blocked && s.catchAllCluster !== PASSTHROUGH_CLUSTER ? egressRoutes(name, s.catchAllCluster) : undefined;
    routing.outbound = { blocked, listener: name, cluster: s.catchAllCluster, ...(routes && { routes }) };
  }
  let virtualHosts: readonly VirtualHostRoutes[] | undefined;
  let routeConfig: string;
  const ignorePort = (s.inlineRouteConfig ?? (s.routeConfigName !== undefined ? routeConfigs.get(s.routeConfigName) : undefined))?.ignorePortInHostMatching === true;
  if (s.inlineRouteConfig) {
    const inline = translateRouteConfiguration(s.inlineRouteConfig);
    if (!inline.ok) return `Listener ${name}: ${inline.error}`;
    virtualHosts = inline.value;
    routeConfig = s.inlineRouteConfig.name || `${name} (inline)`;
  } else if (s.routeConfigName !== undefined) {
    virtualHosts = routeTables.get(s.routeConfigName);
    routeConfig = s.routeConfigName;
    if (!virtualHosts) return `Listener ${name}: route configuration ${s.routeConfigName} is missing or invalid`;
  } else {
    return undefined;
  }
  const port = s.port;
  if (port === undefined) return `Listener ${name}: address.socketAddress.portValue: required for an HTTP listener`;
  routing.portRoutes.set(port, { listener: name, routeConfig, virtualHosts, ...(ignorePort && { ignorePort }) });
  const suffix = `:${port}`;
  for (const vh of virtualHosts) {
    if (vh.domains.includes('*')) continue;
    // istiod names a virtual host `<hostname>:<port>`; its first domain is the hostname too.
    const host = vh.name.endsWith(suffix) ? vh.name.slice(0, -suffix.length) : vh.domains[0]!;
    const service: ServiceRoutes = { listener: name, routeConfig, virtualHosts, host, ...(ignorePort && { ignorePort }) };
    for (const raw of vh.domains) {
      let d = raw.toLowerCase();
      if (d.endsWith(suffix)) d = d.slice(0, -suffix.length);
      else if (/:\d+$/.test(d) && !d.endsWith(']')) continue; // another port's form
      if (d.startsWith('*.')) wildcards.push({ suffix: d.slice(1), port, service });
      else if (!d.includes('*') && !services.has(`${d}${suffix}`)) services.set(`${d}${suffix}`, service);
    }
    yield;
  }
  return undefined;
}
