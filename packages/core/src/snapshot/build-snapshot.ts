// Turns one complete set of xDS resources into a MeshSnapshot. Resources are translated one by
// one; a resource that does not translate is reported with its name and field and left out (the
// caller keeps its last good version where it has one). The result is consistent in the
// go-control-plane sense: every listener's route configuration is present, or the listener is
// reported and dropped.

import type { XdsResources } from '../xds/resources.ts';
import { translateListener } from '../xds/translate-listener.ts';
import { translateRouteConfiguration } from '../xds/translate-route-config.ts';
import { translateCluster, translateLoadAssignment } from '../xds/translate-cluster.ts';
import type { EndpointState } from './endpoint-state.ts';
import type { ClusterRuntimeRegistry } from './cluster-runtime.ts';
import type { ClusterConfig, MeshSnapshot, ServiceRoutes, VirtualHostRoutes, WildcardService } from './mesh-snapshot.ts';

export interface BuildResult {
  snapshot: MeshSnapshot;
  /** One line per rejected resource: 'Kind name: field: reason'. */
  errors: string[];
}

export function buildSnapshot(resources: XdsResources, registry: ClusterRuntimeRegistry, version: number): BuildResult {
  const errors: string[] = [];

  const routeTables = new Map<string, VirtualHostRoutes[]>();
  for (const [name, rc] of resources.routeConfigs) {
    const r = translateRouteConfiguration(rc);
    if (r.ok) routeTables.set(name, r.value);
    else errors.push(r.error);
  }

  const services = new Map<string, ServiceRoutes>();
  const wildcards: WildcardService[] = [];
  for (const [name, l] of resources.listeners) {
    const r = translateListener(l);
    if (!r.ok) { errors.push(r.error); continue; }
    let virtualHosts: VirtualHostRoutes[] | undefined;
    let routeConfig = r.value.routeConfigName ?? `${name} (inline)`;
    if (r.value.inlineRouteConfig) {
      const inline = translateRouteConfiguration(r.value.inlineRouteConfig);
      if (!inline.ok) { errors.push(`Listener ${name}: ${inline.error}`); continue; }
      virtualHosts = inline.value;
      routeConfig = r.value.inlineRouteConfig.name || routeConfig;
    } else {
      virtualHosts = routeTables.get(r.value.routeConfigName!);
      if (!virtualHosts) { errors.push(`Listener ${name}: route configuration ${r.value.routeConfigName} is missing or invalid`); continue; }
    }
    const service: ServiceRoutes = { listener: name, routeConfig, virtualHosts };
    const hp = splitHostPort(name);
    if (hp && hp.host.startsWith('*.')) wildcards.push({ suffix: hp.host.slice(1), port: hp.port, service });
    else services.set(name, service);
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);

  const clusters = new Map<string, ClusterConfig>();
  for (const [name, c] of resources.clusters) {
    const r = translateCluster(c);
    if (!r.ok) { errors.push(r.error); continue; }
    const settings = r.value;
    const cla = settings.endpointSource === 'inline' ? c.loadAssignment : settings.endpointSource === 'eds' ? resources.endpoints.get(settings.edsName) : undefined;
    const specs = cla ? translateLoadAssignment(cla) : undefined;
    if (specs && !specs.ok) { errors.push(specs.error); continue; }
    const runtimeConfig = (endpoints: readonly EndpointState[]) => ({
      lbPolicy: settings.lbPolicy,
      endpoints,
      limits: settings.limits,
      outlier: settings.outlier,
      panicThreshold: settings.panicThreshold,
    });
    const runtime = registry.get(name, runtimeConfig([]));
    const endpoints = (specs?.value ?? []).map((spec) => {
      const state = runtime.endpoint(spec.address, spec.port);
      state.weight = spec.weight;
      state.healthy = spec.healthy;
      state.locality = spec.locality;
      state.priority = spec.priority;
      state.labels = spec.labels;
      return state;
    });
    runtime.configure(runtimeConfig(endpoints));
    clusters.set(name, {
      name,
      lbPolicy: settings.lbPolicy,
      connectTimeoutMs: settings.connectTimeoutMs,
      originalDst: settings.endpointSource === 'original-dst',
      endpoints,
      loadBalancer: runtime,
      limits: settings.limits,
      outlier: settings.outlier,
      connections: settings.connections,
      runtime,
      tls: settings.tls,
    });
  }
  registry.retain(new Set(clusters.keys()));

  return { snapshot: { version, services, wildcardServices: wildcards, clusters, resources }, errors };
}

export function splitHostPort(authority: string): { host: string; port: number } | undefined {
  const i = authority.lastIndexOf(':');
  if (i < 0 || authority.endsWith(']')) return undefined;
  const port = Number(authority.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: authority.slice(0, i), port };
}
