// Turns one complete set of xDS resources into a MeshSnapshot. Resources are translated one by
// one; a resource that does not translate is reported with its name and field and left out (the
// caller keeps its last good version where it has one). The result is consistent in the
// go-control-plane sense: every listener's route configuration is present, or the listener is
// reported and dropped.
//
// Builds are incremental: a resource that is the very same object as in the mesh's previous
// build reuses what that build made of it (snapshot-reuse.ts), so one endpoint change in a large
// mesh retranslates one cluster, not every route table and cluster.
//
// A build can also run in slices (buildSteps), giving the event loop a turn between them so
// requests are served while a 10k-service snapshot is built. Nothing a request can see
// changes before the new snapshot is swapped in whole: the slices translate route tables,
// listeners and clusters (pure) and set up clusters that have no runtime yet (no snapshot in
// force reaches them); the runtimes of clusters already in force are reconfigured in the final,
// unbroken step, which ends with the new snapshot handed over (Mesh#applyResourcesInSteps).

import type { Cluster, ClusterLoadAssignment, XdsResources } from '../xds/resources.ts';
import { translateListener } from './translate-listener.ts';
import { translateRouteConfiguration } from './translate-route-config.ts';
import { translateCluster, translateLoadAssignment } from './translate-cluster.ts';
import type { EndpointState } from '../lb/endpoint-state.ts';
import type { ClusterTls } from '../security/cluster-tls.ts';
import type { ClusterSettings, EndpointSpec } from './translate-cluster.ts';
import { needsResolving } from './dns-refresh.ts';
import type { ClusterRuntimeRegistry } from './cluster-runtime.ts';
import type { ClusterConfig, MeshSnapshot, ServiceRoutes, VirtualHostRoutes, WildcardService } from './mesh-snapshot.ts';
import { OverlayMap } from './overlay-map.ts';
import { emptySidecarRouting, placeSidecarListener, type SidecarRouting } from './sidecar-services.ts';
import { clusterEdsName, noteClusterEndpoints, noteInlineRoutes, previousBuild, rememberBuild, reusableCluster, reusableRouteTable, reusableService, type PreviousBuild } from './snapshot-reuse.ts';

export interface BuildResult {
  snapshot: MeshSnapshot;
  /** One line per rejected resource: 'Kind name: field: reason'. */
  errors: string[];
}

/** Where a build may pause: the generator yields at these points; a sync build ignores them. */
type Steps<T> = Generator<void, T, void>;

export function buildSnapshot(resources: XdsResources, registry: ClusterRuntimeRegistry, version: number): BuildResult {
  const steps = buildSteps(resources, registry, version);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The build as steps: it yields between resources, so a caller can spread a large build over
 * turns of the event loop (Mesh#applyResourcesInSteps); abandoning it midway changes nothing in
 * force.
 */
export function* buildSteps(resources: XdsResources, registry: ClusterRuntimeRegistry, version: number): Steps<BuildResult> {
  const prev = previousBuild(registry);
  const routes = yield* buildRouteTables(resources, prev);
  const services = yield* buildServices(resources, prev, routes);
  const clusters = yield* buildClusters(resources, prev, registry);
  rememberBuild(registry, {
    resources,
    routeTables: routes.routeTables, routeErrors: routes.routeErrors,
    services: services.services, servicesByListener: services.servicesByListener, wildcards: services.wildcards, byAddress: services.byAddress, listenerErrors: services.listenerErrors, sidecar: services.sidecar,
    clusters: clusters.clusters, clusterErrors: clusters.clusterErrors, edsReaders: clusters.edsReaders,
  });
  const errors = [...routes.routeErrors, ...services.listenerErrors, ...clusters.clusterErrors.values()];
  const base = { version, services: services.services, wildcardServices: services.wildcards, addressServices: services.byAddress, clusters: clusters.clusters, resources };
  const sc = services.sidecar;
  const snapshot: MeshSnapshot = sc ? { ...base, portRoutes: sc.portRoutes, outbound: sc.outbound, notes: sc.notes } : base;
  return { snapshot, errors };
}

function* buildRouteTables(resources: XdsResources, prev: PreviousBuild | undefined): Steps<Pick<PreviousBuild, 'routeTables' | 'routeErrors'>> {
  if (prev && unchanged(prev.resources.routeConfigs, resources.routeConfigs)) return prev;
  const routeTables = new Map<string, VirtualHostRoutes[]>();
  const routeErrors: string[] = [];
  for (const [name, rc] of resources.routeConfigs) {
    const kept = reusableRouteTable(prev, resources, name);
    if (kept) { routeTables.set(name, kept); continue; }
    const r = translateRouteConfiguration(rc);
    if (r.ok) routeTables.set(name, r.value);
    else routeErrors.push(r.error);
    yield;
  }
  return { routeTables, routeErrors };
}

type ServicesBuild = Pick<PreviousBuild, 'services' | 'servicesByListener' | 'wildcards' | 'byAddress' | 'listenerErrors' | 'sidecar'>;

function* buildServices(resources: XdsResources, prev: PreviousBuild | undefined, { routeTables }: Pick<PreviousBuild, 'routeTables'>): Steps<ServicesBuild> {
  if (prev && prev.routeTables === routeTables && unchanged(prev.resources.listeners, resources.listeners)) return prev;
  const services = new Map<string, ServiceRoutes>();
  const servicesByListener = new Map<string, ServiceRoutes>();
  const wildcards: WildcardService[] = [];
  const listenerErrors: string[] = [];
  const place = (name: string, service: ServiceRoutes) => {
    servicesByListener.set(name, service);
    // Listener names are `<host>:<port>`; only wildcard hosts need splitting.
    if (!name.startsWith('*.')) { services.set(name, service); return; }
    const hp = splitHostPort(name);
    if (hp) wildcards.push({ suffix: hp.host.slice(1), port: hp.port, service });
    else services.set(name, service);
  };
  let sidecar: SidecarRouting | undefined;
  for (const [name, l] of resources.listeners) {
    // An Envoy sidecar's listener (sidecar profile): filter chains, one route table per port.
    if (!l.apiListener && l.filterChains !== undefined) {
      const error = yield* placeSidecarListener(name, l, resources.routeConfigs, routeTables, services, wildcards, (sidecar ??= emptySidecarRouting()));
      if (error) listenerErrors.push(error);
      continue;
    }
    const kept = reusableService(prev, resources, routeTables, name);
    if (kept) { place(name, kept); continue; }
    const r = translateListener(l);
    if (!r.ok) { listenerErrors.push(r.error); continue; }
    let virtualHosts: VirtualHostRoutes[] | undefined;
    let routeConfig = r.value.routeConfigName ?? `${name} (inline)`;
    if (r.value.inlineRouteConfig) {
      const inline = translateRouteConfiguration(r.value.inlineRouteConfig);
      if (!inline.ok) { listenerErrors.push(`Listener ${name}: ${inline.error}`); continue; }
      virtualHosts = inline.value;
      routeConfig = r.value.inlineRouteConfig.name || routeConfig;
    } else {
      virtualHosts = routeTables.get(r.value.routeConfigName!);
      if (!virtualHosts) { listenerErrors.push(`Listener ${name}: route configuration ${r.value.routeConfigName} is missing or invalid`); continue; }
    }
    const service: ServiceRoutes = { listener: name, routeConfig, virtualHosts };
    if (r.value.inlineRouteConfig) noteInlineRoutes(service);
    place(name, service);
    yield;
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  const byAddress = yield* indexAddresses(servicesByListener);
  return { services, servicesByListener, wildcards, byAddress, listenerErrors, sidecar };
}

// A request may name a service by its address (a Kubernetes cluster IP, a ServiceEntry
// address): every `ip:port` domain of a virtual host names the service of that listener — the
// one the virtual host belongs to when several listeners share the table (an ExternalName alias).
// Yields every INDEX_STEP services: at 10k services it walks tens of thousands of domains.
function* indexAddresses(servicesByListener: ReadonlyMap<string, ServiceRoutes>): Steps<Map<string, ServiceRoutes>> {
  const byAddress = new Map<string, ServiceRoutes>();
  let n = 0;
  for (const [name, service] of servicesByListener) {
    if (++n % INDEX_STEP === 0) yield;
    for (const vh of service.virtualHosts) {
      for (const d of vh.domains) {
        const hp = splitHostPort(d);
        if (!hp || !isIpLiteral(hp.host)) continue;
        const key = d.toLowerCase();
        const prior = byAddress.get(key);
        if (!prior || (prior.listener !== vh.name && name === vh.name)) byAddress.set(key, service);
      }
    }
  }
  return byAddress;
}

const INDEX_STEP = 256;

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || (host.startsWith('[') && host.endsWith(']'));
}

type ClustersBuild = Pick<PreviousBuild, 'clusters' | 'clusterErrors' | 'edsReaders'>;

function* buildClusters(resources: XdsResources, prev: PreviousBuild | undefined, registry: ClusterRuntimeRegistry): Steps<ClustersBuild> {
  if (prev && unchanged(prev.resources.clusters, resources.clusters)) {
    const changedEds = changedKeys(prev.resources.endpoints, resources.endpoints);
    if (changedEds.length === 0) return prev;
    // Only endpoints changed (an EDS push): rebuild just the clusters that read a changed
    // assignment, and share the rest of the cluster map with the previous snapshot. The
    // cluster set itself is the same, so no runtime is dropped unless a rebuilt cluster now
    // fails (rare: then the map is copied whole).
    const rebuilt = new Map<string, ClusterConfig>();
    let clusterErrors = prev.clusterErrors;
    let failed: string[] | undefined;
    for (const eds of changedEds) {
      for (const name of prev.edsReaders.get(eds) ?? []) {
        const c = resources.clusters.get(name);
        if (!c) continue;
        const b = buildCluster(name, c, resources, registry);
        if (clusterErrors.has(name) || !b.ok) {
          if (clusterErrors === prev.clusterErrors) clusterErrors = new Map(prev.clusterErrors);
          (clusterErrors as Map<string, string>).delete(name);
        }
        if (b.ok) rebuilt.set(name, b.config);
        else { (clusterErrors as Map<string, string>).set(name, b.error); (failed ??= []).push(name); }
      }
    }
    const fresh = [...rebuilt.keys()].filter((name) => !prev.clusters.has(name));
    if (!failed && fresh.length === 0) return { clusters: OverlayMap.replacing(prev.clusters, rebuilt), clusterErrors, edsReaders: prev.edsReaders };
    // A cluster failed or came back: the key set changed, so build a plain map.
    const clusters = new Map(prev.clusters);
    for (const [name, config] of rebuilt) clusters.set(name, config);
    for (const name of failed ?? []) clusters.delete(name);
    registry.retain(new Set(clusters.keys()));
    return { clusters, clusterErrors, edsReaders: prev.edsReaders };
  }
  const clusterErrors = new Map<string, string>();
  const edsReaders = new Map<string, string[]>();
  // The registry must forget runtimes of clusters that left; when every cluster name was in
  // the last build and the count is the same, none left and that walk is skipped.
  let allNamesKnown = prev !== undefined;
  // First, in slices and in table order, everything that changes nothing a request can reach:
  // clusters kept from the last build; clusters no snapshot in force has a runtime for, set up
  // whole; and for clusters in force whose resources changed, the translation (pure) — their
  // runtimes are reconfigured at the end, in the one unbroken step that also hands the
  // snapshot over, so a request never meets a runtime ahead of the snapshot it reads.
  const built: (ClusterConfig | PreparedCluster)[] = [];
  let n = 0;
  for (const [name, c] of resources.clusters) {
    const kept = reusableCluster(prev, resources, name);
    let b: ClusterBuild | PreparedCluster | undefined;
    if (!kept) {
      if (!prev?.clusters.has(name)) allNamesKnown = false;
      const p = prepareCluster(name, c, resources);
      b = p.ok && !registry.has(name) ? commitCluster(p, registry) : p;
    }
    const edsName = kept ? clusterEdsName(kept) : b!.edsName;
    if (edsName !== undefined) {
      const readers = edsReaders.get(edsName);
      if (readers) readers.push(name);
      else edsReaders.set(edsName, [name]);
    }
    if (kept) built.push(kept);
    else if (!b!.ok) clusterErrors.set(name, b!.error);
    else built.push('prepared' in b! ? b : b!.config);
    // A kept cluster costs a few look-ups: those yield every KEPT_STEP.
    if (!kept || ++n % KEPT_STEP === 0) yield;
  }
  // Then, unbroken: the runtimes of clusters in force are reconfigured, and the map is made
  // (in table order); the translations are done.
  const clusters = new Map<string, ClusterConfig>();
  for (const b of built) {
    if ('prepared' in b) clusters.set(b.name, commitCluster(b, registry).config);
    else clusters.set(b.name, b);
  }
  if (!allNamesKnown || clusters.size !== prev!.clusters.size) registry.retain(new Set(clusters.keys()));
  return { clusters, clusterErrors, edsReaders };
}

const KEPT_STEP = 256;

type ClusterBuild = ({ ok: true; config: ClusterConfig } | { ok: false; error: string }) & { edsName: string | undefined };

/** A cluster translated, its runtime not touched yet (commitCluster does that). */
interface PreparedCluster {
  readonly ok: true;
  readonly prepared: true;
  readonly name: string;
  readonly settings: ClusterSettings;
  readonly edsName: string | undefined;
  readonly cla: ClusterLoadAssignment | undefined;
  readonly specs: readonly EndpointSpec[] | undefined;
}

function buildCluster(name: string, c: Cluster, resources: XdsResources, registry: ClusterRuntimeRegistry): ClusterBuild {
  const p = prepareCluster(name, c, resources);
  return p.ok ? commitCluster(p, registry) : p;
}

/** The pure half of a cluster's build: translation of the cluster and of its endpoints. */
function prepareCluster(name: string, c: Cluster, resources: XdsResources): PreparedCluster | (ClusterBuild & { ok: false }) {
  const r = translateCluster(c);
  if (!r.ok) return { ok: false, error: r.error, edsName: undefined };
  const settings = r.value;
  const edsName = settings.endpointSource === 'eds' ? settings.edsName : undefined;
  const cla = settings.endpointSource === 'inline' ? c.loadAssignment : settings.endpointSource === 'eds' ? resources.endpoints.get(settings.edsName) : undefined;
  const specs = cla ? translateLoadAssignment(cla) : undefined;
  if (specs && !specs.ok) return { ok: false, error: specs.error, edsName };
  return { ok: true, prepared: true, name, settings, edsName, cla, specs: specs?.value };
}

/** The half that reconfigures the cluster's runtime (shared with the snapshot in force). */
function commitCluster({ name, settings, edsName, cla, specs }: PreparedCluster, registry: ClusterRuntimeRegistry): ClusterBuild & { ok: true } {
  const runtimeConfig = (endpoints: readonly EndpointState[]) => ({
    lbPolicy: settings.lbPolicy,
    endpoints,
    limits: settings.limits,
    outlier: settings.outlier,
    panicThreshold: settings.panicThreshold,
    hashLb: settings.hashLb,
    localityWeighted: settings.localityWeighted,
    slowStart: settings.slowStart,
  });
  const runtime = registry.get(name, runtimeConfig([]));
  let endpoints: readonly EndpointState[];
  if (settings.dns) {
    // STRICT_DNS / LOGICAL_DNS: host names are resolved in the background (dns-refresh.ts) and
    // the runtime's host set follows their answers between snapshots.
    endpoints = runtime.setDnsEndpoints(settings.dns, specs ?? [], runtimeConfig);
  } else {
    if (runtime.dns) runtime.setDnsEndpoints(undefined, [], runtimeConfig);
    endpoints = (specs ?? []).map((spec) => {
      const state = runtime.endpoint(spec.address, spec.port);
      state.weight = spec.weight;
      state.healthy = spec.healthy;
      state.locality = spec.locality;
      state.priority = spec.priority;
      state.localityWeight = spec.localityWeight;
      state.labels = spec.labels;
      state.socketMatch = spec.socketMatch;
      return state;
    });
  }
  runtime.configure(runtimeConfig(endpoints));
  const tls = dnsClusterTls(settings.tls, settings.dns ? specs : undefined);
  const config: ClusterConfig = {
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
    tls,
    tlsMatches: settings.tlsMatches,
    ownTransport: { tls, slot: '' },
  };
  // A DNS cluster's hosts change without a new snapshot: its config reads them live.
  if (settings.dns) Object.defineProperty(config, 'endpoints', { get: () => runtime.config.endpoints, enumerable: true });
  if (edsName !== undefined) noteClusterEndpoints(config, edsName, cla);
  return { ok: true, config, edsName };
}

/**
 * TLS to a DNS cluster with no SNI configured: its endpoints are dialled by resolved IP, so the
 * host name they were resolved from is the SNI (what the transport sent when it dialled the
 * name, and what Envoy's auto SNI sends for the usual Host). Only when every endpoint names the
 * same host; several names leave SNI unset, as configured.
 */
function dnsClusterTls(tls: ClusterTls | undefined, specs: readonly EndpointSpec[] | undefined): ClusterTls | undefined {
  if (!tls || tls.sni !== undefined || !specs) return tls;
  const names = new Set(specs.map((s) => s.address).filter(needsResolving));
  return names.size === 1 ? { ...tls, sni: [...names][0]! } : tls;
}

/**
 * The same map, or one with the same keys holding the very same objects. A map the source made
 * from the previous one by OverlayMap.replacing says what it replaced (O(changes)); any other
 * is compared entry by entry.
 */
function unchanged<V>(before: ReadonlyMap<string, V>, after: ReadonlyMap<string, V>): boolean {
  if (before === after) return true;
  if (before.size !== after.size) return false;
  return changedKeys(before, after).length === 0;
}

/** Keys whose value differs between two maps (added, removed or replaced). */
function changedKeys<V>(before: ReadonlyMap<string, V>, after: ReadonlyMap<string, V>): readonly string[] {
  const known = OverlayMap.changedKeys(before, after);
  if (known) return known.filter((k) => before.get(k) !== after.get(k));
  // A source that rebuilds its map in the same order (the usual case) lets the two be walked
  // side by side, sequentially, with no hash look-up per key: at 12k entries that is several
  // times cheaper (the arrays come from the engine's own fast copies), and it is what stays
  // linear in mesh size when a source hands over fresh maps.
  if (before.size === after.size) {
    const keysBefore = [...before.keys()];
    const keysAfter = [...after.keys()];
    const valuesBefore = [...before.values()];
    const valuesAfter = [...after.values()];
    const out: string[] = [];
    let aligned = true;
    for (let i = 0; i < keysAfter.length; i++) {
      if (keysBefore[i] !== keysAfter[i]) { aligned = false; break; }
      if (valuesBefore[i] !== valuesAfter[i]) out.push(keysAfter[i]!);
    }
    if (aligned) return out;
  }
  const out: string[] = [];
  let kept = 0;
  // forEach, not for-of: no entry array per key.
  after.forEach((v, k) => {
    const old = before.get(k);
    if (old === undefined) out.push(k);
    else { kept++; if (old !== v) out.push(k); }
  });
  if (kept !== before.size) for (const k of before.keys()) if (!after.has(k)) out.push(k);
  return out;
}

export function splitHostPort(authority: string): { host: string; port: number } | undefined {
  const i = authority.lastIndexOf(':');
  if (i < 0 || authority.endsWith(']')) return undefined;
  const port = Number(authority.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: authority.slice(0, i), port };
}
