// What the previous build made of each resource, so the next build can reuse it. xDS sources
// hand over a complete resource set on every change, but an unchanged resource arrives as the
// very same object; comparing by identity, a build translates only what changed, and an EDS
// push for one cluster retranslates one cluster, not every route table and cluster. Compiled
// route tables and ClusterConfigs are immutable, so sharing them between snapshots is safe; a
// cluster's mutable state already lives in its ClusterRuntime, which outlives snapshots.
//
// The check per resource is two map look-ups against the previous build's own inputs and
// outputs; nothing is copied per resource, because at 10k services every per-entry
// allocation shows up in the cost of a one-endpoint change. What a check needs beyond
// that (a cluster's EDS name, whether a listener's routes were inline) hangs off the built
// object in a WeakMap, so it carries over to the next build for free.
//
// Only successes are remembered: a resource that failed to translate is tried (and reported)
// again on every build.

import type { ClusterLoadAssignment, XdsResources } from '../xds/resources.ts';
import type { ClusterRuntimeRegistry } from './cluster-runtime.ts';
import type { ClusterConfig, ServiceRoutes, VirtualHostRoutes, WildcardService } from './mesh-snapshot.ts';
import type { SidecarRouting } from './sidecar-services.ts';

export interface PreviousBuild {
  readonly resources: XdsResources;
  readonly routeTables: ReadonlyMap<string, VirtualHostRoutes[]>;
  readonly routeErrors: readonly string[];
  /** Every service built, by listener name (wildcard ones included). */
  readonly servicesByListener: ReadonlyMap<string, ServiceRoutes>;
  readonly services: ReadonlyMap<string, ServiceRoutes>;
  readonly wildcards: readonly WildcardService[];
  /** Services by `ip:port` (a virtual host domain that is an address). */
  readonly byAddress: ReadonlyMap<string, ServiceRoutes>;
  readonly listenerErrors: readonly string[];
  /** Sidecar listeners' port route tables, catch-all and notes; undefined when there are none. */
  readonly sidecar: SidecarRouting | undefined;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  /** Rejected clusters: name → why. */
  readonly clusterErrors: ReadonlyMap<string, string>;
  /** EDS resource name → the clusters that read it, so an EDS push finds what to rebuild. */
  readonly edsReaders: ReadonlyMap<string, readonly string[]>;
}

/** Where a built cluster read its endpoints: the EDS name and the very object. */
const clusterEndpoints = new WeakMap<ClusterConfig, { edsName: string; assignment: ClusterLoadAssignment | undefined }>();
/** Services whose routes came inline in their listener (no route table to check). */
const inlineRoutes = new WeakSet<ServiceRoutes>();

export function noteClusterEndpoints(config: ClusterConfig, edsName: string, assignment: ClusterLoadAssignment | undefined): void {
  clusterEndpoints.set(config, { edsName, assignment });
}

/** The EDS resource a built cluster reads its endpoints from, if any. */
export function clusterEdsName(config: ClusterConfig): string | undefined {
  return clusterEndpoints.get(config)?.edsName;
}

export function noteInlineRoutes(service: ServiceRoutes): void {
  inlineRoutes.add(service);
}

/** The previous build's route table for `name`, if its RouteConfiguration is unchanged. */
export function reusableRouteTable(prev: PreviousBuild | undefined, resources: XdsResources, name: string): VirtualHostRoutes[] | undefined {
  if (!prev || prev.resources.routeConfigs.get(name) !== resources.routeConfigs.get(name)) return undefined;
  return prev.routeTables.get(name);
}

/** The previous build's service for listener `name`, if the listener and the route table it uses are unchanged. */
export function reusableService(prev: PreviousBuild | undefined, resources: XdsResources, routeTables: ReadonlyMap<string, VirtualHostRoutes[]>, name: string): ServiceRoutes | undefined {
  if (!prev || prev.resources.listeners.get(name) !== resources.listeners.get(name)) return undefined;
  const service = prev.servicesByListener.get(name);
  if (!service) return undefined;
  if (!inlineRoutes.has(service) && routeTables.get(service.routeConfig) !== service.virtualHosts) return undefined;
  return service;
}

/** The previous build's ClusterConfig for `name`, if the cluster and its endpoints are unchanged. */
export function reusableCluster(prev: PreviousBuild | undefined, resources: XdsResources, name: string): ClusterConfig | undefined {
  if (!prev || prev.resources.clusters.get(name) !== resources.clusters.get(name)) return undefined;
  const config = prev.clusters.get(name);
  if (!config) return undefined;
  const eds = clusterEndpoints.get(config);
  if (eds && resources.endpoints.get(eds.edsName) !== eds.assignment) return undefined;
  return config;
}

// One previous build per mesh: the registry is the mesh's own, so keying on it keeps
// buildSnapshot's signature and lets the memory go with the mesh.
const previous = new WeakMap<ClusterRuntimeRegistry, PreviousBuild>();

export function previousBuild(registry: ClusterRuntimeRegistry): PreviousBuild | undefined {
  return previous.get(registry);
}

export function rememberBuild(registry: ClusterRuntimeRegistry, build: PreviousBuild): void {
  previous.set(registry, build);
}
