// LDS and RDS for every visible service port: which VirtualService (if any) routes each service,
// and the listener and route table that result.
//
// A VirtualService routes a service when one of its hosts names it exactly, or when one of its
// wildcard hosts is the most specific VirtualService host covering it
// (sidecar.computeWildcardHostVirtualServiceIndex). VirtualServices are tried in istiod's order
// (compile-virtual-services.ts), and the first that yields routes for the port takes the
// service; later ones are reported and ignored for it, as istiod drops their duplicate virtual
// host. A VirtualService none of whose rules applies to this client on this port routes nothing,
// so the service keeps its default route.

import type { Route, XdsResources } from '../../../xds/resources.ts';
import type { CompileContext } from '../common/compile-context.ts';
import { clusterName } from '../clusters/compile-clusters.ts';
import { toHashPolicy } from './compile-hash-policy.ts';
import { apiListener } from './compile-listeners.ts';
import type { RouteEnv } from './compile-route-action.ts';
import { routeConfiguration } from './compile-route-config.ts';
import { buildVirtualServiceRoutes, defaultRoute } from './compile-routes.ts';
import type { ServiceRegistry } from '../clusters/compile-services.ts';
import { isDeclared } from '../clusters/compile-services.ts';
import type { MeshService } from '../../service-model.ts';
import { isHttpOrSniffed } from '../../service-model.ts';
import type { ServicePort } from '../../types.ts';
import type { ResolvedVirtualService } from './compile-virtual-services.ts';
import type { DestinationRuleIndex } from '../clusters/destination-rule-index.ts';
import { usesGatewaySemantics } from './compile-gateway-api.ts';
import { hashForService } from '../clusters/destination-rule-policy.ts';
import { hostPort, hostsOverlap, isWildcardHost, mostSpecificHostMatch } from '../common/host-names.ts';

interface Claim {
  vs: ResolvedVirtualService;
  routes: Route[];
  /** Route tables that took these routes so far. */
  used: number;
}

/** One service port as compiled: what an Envoy sidecar's listeners are built from (xds-server/sidecar-form.ts). */
export interface CompiledServicePort {
  readonly host: string;
  readonly port: number;
  /** HTTP (or a protocol sniffed as HTTP): routed by the route table; otherwise a TCP service. */
  readonly http: boolean;
  /** Listener and route configuration the proxyless form gives it. */
  readonly listener: string;
  readonly routeConfig: string;
}

export function compileServiceRoutes(ctx: CompileContext, registry: ServiceRegistry, rules: DestinationRuleIndex, vss: ResolvedVirtualService[], out: XdsResources, ports: CompiledServicePort[] = []): void {
  reportUnmatchedHosts(ctx, registry, vss);
  // Route tables are per listener port, as istiod builds them: group the services by port once.
  const byPort = new Map<number, { svc: MeshService; port: ServicePort }[]>();
  for (const svc of registry.services) {
    for (const p of svc.ports) {
      // A service lists each port number once (compile-services merges by number).
      const list = byPort.get(p.number) ?? [];
      list.push({ svc, port: p });
      byPort.set(p.number, list);
    }
  }
  for (const [port, onPort] of byPort) {
    const env: RouteEnv = { ctx, registry, rules, listenPort: port };
    const httpServices = onPort.filter((e) => isHttpOrSniffed(e.port)).map((e) => e.svc);
    // With a Sidecar, a port's routes come from the VirtualServices its egress listener selects.
    const scope = ctx.scope;
    const onPortVss = scope ? vss.filter((vs) => scope.selects(vs.obj, vs.hosts, usesGatewaySemantics(vs.obj), port)) : vss;
    const claims = claimServices(env, httpServices, onPortVss);
    const known = new Set<string>();
    for (const s of httpServices) for (const h of [s.hostname, ...s.aliases]) known.add(h).add(hostPort(h, port));
    for (const { svc, port: sp } of onPort) {
      const rcName = clusterName(port, '', svc.hostname);
      out.listeners.set(hostPort(svc.hostname, port), apiListener(svc, port, rcName));
      // An ExternalName alias is looked up by its own name and routed by the concrete service's table.
      for (const alias of svc.aliases) out.listeners.set(hostPort(alias, port), apiListener(svc, port, rcName, alias));
      const http = isHttpOrSniffed(sp);
      ports.push({ host: svc.hostname, port, http, listener: hostPort(svc.hostname, port), routeConfig: rcName });
      const claim = http ? claims.get(svc.hostname) : undefined;
      // Routes of a VirtualService shared by several services are copied for all but the first,
      // so no two route tables share mutable objects.
      const routes = claim
        ? claim.used++ === 0
          ? claim.routes
          : structuredClone(claim.routes)
        : [defaultRoute(svc.hostname, port, rcName, http ? toHashPolicy(hashForService(rules.lookup(svc.hostname, svc.namespace), port)) : undefined, http, ctx.mesh.defaultHttpRetryPolicy)];
      out.routeConfigs.set(rcName, routeConfiguration(rcName, svc, port, routes, ctx.client, known));
    }
  }
}

function claimServices(env: RouteEnv, services: MeshService[], vss: ResolvedVirtualService[]): Map<string, Claim> {
  const index = mostSpecificVirtualService(vss, services);
  const byHost = new Map(services.map((s) => [s.hostname, s]));
  const claims = new Map<string, Claim>();
  for (const vs of vss) {
    // The services this VirtualService would route on this port, with the host that names each.
    const targets: { svc: MeshService }[] = [];
    for (const h of vs.hosts) {
      if (isWildcardHost(h)) {
        for (const svc of services) if (hostsOverlap(svc.hostname, h) && index.get(svc.hostname) === vs) targets.push({ svc });
      } else {
        const svc = byHost.get(h);
        if (svc) targets.push({ svc });
      }
    }
    if (targets.length === 0) continue;
    const routes = buildVirtualServiceRoutes(env, vs);
    if (routes.length === 0) continue;
    for (const { svc } of targets) {
      // A second VirtualService for the host is ignored here; the analyzers report it (IST0109).
      if (!claims.has(svc.hostname)) claims.set(svc.hostname, { vs, routes, used: 0 });
    }
  }
  return claims;
}

/** For each service, the first VirtualService with the most specific host covering it. */
function mostSpecificVirtualService(vss: ResolvedVirtualService[], services: MeshService[]): Map<string, ResolvedVirtualService> {
  const exact = new Map<string, ResolvedVirtualService>();
  const wildcard = new Map<string, ResolvedVirtualService>();
  for (const vs of vss) {
    for (const h of vs.hosts) {
      const map = isWildcardHost(h) ? wildcard : exact;
      if (!map.has(h)) map.set(h, vs);
    }
  }
  const out = new Map<string, ResolvedVirtualService>();
  for (const svc of services) {
    const found = mostSpecificHostMatch(svc.hostname, exact, wildcard);
    if (found) out.set(svc.hostname, found.value);
  }
  return out;
}

/**
 * VirtualService hosts whose service exists but is not exported to this client's namespace. A
 * host no service declares (or only a wildcard one) is an analyzer finding (MSH0001, analyze/).
 */
function reportUnmatchedHosts(ctx: CompileContext, registry: ServiceRegistry, vss: ResolvedVirtualService[]): void {
  for (const vs of vss) {
    vs.hosts.forEach((h, i) => {
      const matched = isWildcardHost(h) ? registry.services.some((s) => hostsOverlap(s.hostname, h)) : registry.byHost.has(h);
      if (matched) return;
      const concrete = registry.aliases.get(h);
      if (concrete) {
        ctx.problems.warn(vs.obj, ['spec', 'hosts', i], `host ${h} is an ExternalName alias of ${concrete}, which Meshlet routes by ${concrete}'s rules; route ${concrete} instead (these rules route nothing)`);
        return;
      }
      if (!isDeclared(registry, h)) return;
      if (!isWildcardHost(h) && registry.services.some((s) => isWildcardHost(s.hostname) && hostsOverlap(s.hostname, h))) return;
      ctx.problems.warn(vs.obj, ['spec', 'hosts', i], `host ${h} has no service for namespace ${ctx.client.namespace}: the Service or ServiceEntry declaring it is not exported there, so these rules route nothing for this client`);
    });
  }
}
