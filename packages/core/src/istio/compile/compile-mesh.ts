// The CRD → xDS compiler: Istio VirtualServices, DestinationRules, ServiceEntries and
// WorkloadEntries, and Kubernetes Services with their EndpointSlices and Pods, in; the
// Listener / RouteConfiguration / Cluster / ClusterLoadAssignment set
// istiod's proxyless (grpcgen) generator would send this client out — extended with what the
// sidecar generator writes where grpcgen drops a feature, since Meshlet enforces it.
//
// Stages, each in its own file; the folders hold the files every stage shares (common/), the
// registry, DestinationRules and CDS/EDS (clusters/), and VirtualServices, routes and LDS/RDS
// (routes/). Imports go one way: this file → routes → clusters → common.
//   mesh config   ../mesh-config.ts                     the MeshConfig in force (defaults, retries, exportTo, ...)
//   scope         common/sidecar-scope.ts               the Sidecar that applies to the client and what it imports
//   registry      ../../kube/kube-registry.ts           Service/EndpointSlice/Pod → Kubernetes services + endpoints
//   services      clusters/compile-services.ts          + ServiceEntry/WorkloadEntry → visible services (in scope) + endpoints
//   dest. rules   clusters/destination-rule-index.ts    which merged DestinationRule applies to each host
//   GAMMA         routes/compile-gateway-api.ts         HTTPRoute / GRPCRoute → VirtualServices
//   routing       routes/compile-virtual-services.ts    which VirtualServices apply, resolved and delegated
//   CDS + EDS     clusters/compile-clusters.ts          default and subset clusters, load assignments
//   LDS + RDS     routes/compile-service-routes.ts      API listeners and per-service route tables
//   outbound      routes/compile-outbound.ts            where hosts outside the registry go (ALLOW_ANY, REGISTRY_ONLY)
// Problems are semantic (the loader already checked the schema): references to things that do
// not exist, rules that lose to others, settings that compile to nothing. None stops the
// compile; like istiod, Meshlet builds everything it can and says what it could not.

import type { ConfigProblem } from '../../config-error.ts';
import type { XdsResources } from '../../xds/resources.ts';
import type { ClientIdentity, CompileContext } from './common/compile-context.ts';
import { Problems } from './common/compile-context.ts';
import { compileClusters } from './clusters/compile-clusters.ts';
import { compileServiceRoutes, type CompiledServicePort } from './routes/compile-service-routes.ts';
import { buildServiceRegistry } from './clusters/compile-services.ts';
import { selectVirtualServices } from './routes/compile-virtual-services.ts';
import { checkDestinationRules } from './clusters/destination-rule-checks.ts';
import { DestinationRuleIndex } from './clusters/destination-rule-index.ts';
import type { DestinationRule, MeshConfigObject, MeshObject, PeerAuthentication, ServiceEntry, Sidecar, VirtualService, WorkloadEntry } from '../types.ts';
import type { GatewayRoute } from '../gateway-api-types.ts';
import { convertGatewayRoutes, usesGatewaySemantics } from './routes/compile-gateway-api.ts';
import { buildKubeRegistry } from '../../kube/kube-registry.ts';
import { meshConfigOrigin, meshSettings, selectMeshConfig, type MeshSettings } from '../mesh-config.ts';
import { outboundChoice, selectSidecar, SidecarScope, virtualServiceDestinations } from './common/sidecar-scope.ts';
import { compileOutbound, type CompiledOutbound } from './routes/compile-outbound.ts';
import type { ResolvedVirtualService } from './routes/compile-virtual-services.ts';
import { trimPorts, type ServiceRegistry } from './clusters/compile-services.ts';

export type { ClientIdentity } from './common/compile-context.ts';
export type { CompiledOutbound } from './routes/compile-outbound.ts';

export interface CompileOptions {
  /** createMesh({ meshConfig }): in force whatever MeshConfig documents `objects` hold. */
  meshConfig?: MeshConfigObject | undefined;
}

/** The Sidecar that scoped a client's config: for configDump() and explain(). */
export interface ScopeReport {
  /** `ns/name` of the Sidecar in force. */
  readonly sidecar: string;
  readonly egressHosts: readonly string[];
  /** Services of the mesh exported to the client's namespace that the Sidecar leaves out: host → namespace. */
  readonly outOfScope: ReadonlyMap<string, string>;
  readonly servicesInScope: number;
}

export interface CompileResult {
  resources: XdsResources;
  problems: ConfigProblem[];
  /** The MeshConfig settings the compile applied. */
  mesh: MeshSettings;
  /** Where hosts outside the registry go, for this client. */
  outbound: CompiledOutbound;
  /** The Sidecar in force; undefined when none applies (no scoping). */
  scope: ScopeReport | undefined;
  /** Every service port compiled, with its protocol class. */
  servicePorts: CompiledServicePort[];
}

export function compileMesh(objects: readonly MeshObject[], identity: ClientIdentity, opts: CompileOptions = {}): CompileResult {
  const peerAuthentications = objects.filter((o): o is PeerAuthentication => o.kind === 'PeerAuthentication');
  const problems = new Problems();
  const selected = selectMeshConfig(objects, opts.meshConfig);
  for (const p of selected.problems) problems.list.push(p);
  const mesh = meshSettings(selected.inForce?.spec, { rootNamespace: identity.rootNamespace, ...(selected.inForce && { origin: meshConfigOrigin(selected.inForce) }) });
  const client: ClientIdentity = mesh.rootNamespace === identity.rootNamespace ? identity : { ...identity, rootNamespace: mesh.rootNamespace };
  const sidecar = selectSidecar(objects.filter((o): o is Sidecar => o.kind === 'Sidecar'), client);
  const scope = sidecar ? new SidecarScope(sidecar, client.namespace) : undefined;
  const ctx: CompileContext = { client, problems, mesh, scope, peerAuthentications };
  const virtualServices: VirtualService[] = [];
  const destinationRules: DestinationRule[] = [];
  const serviceEntries: ServiceEntry[] = [];
  const workloadEntries: WorkloadEntry[] = [];
  const gatewayRoutes: GatewayRoute[] = [];
  for (const o of objects) {
    switch (o.kind) {
      case 'VirtualService':
        virtualServices.push(o);
        break;
      case 'DestinationRule':
        destinationRules.push(o);
        break;
      case 'ServiceEntry':
        serviceEntries.push(o);
        break;
      case 'WorkloadEntry':
        workloadEntries.push(o);
        break;
      case 'HTTPRoute':
      case 'GRPCRoute':
        gatewayRoutes.push(o);
        break;
      default:
        // PeerAuthentication (above) only shapes auto-mTLS here; the server side reads it itself.
        // Kubernetes objects are read by the registry (buildKubeRegistry).
        break;
    }
  }

  const kube = buildKubeRegistry(objects, { clusterDomain: client.clusterDomain, trustDomain: mesh.trustDomain, rootNamespace: client.rootNamespace }, ctx.problems);
  const registry = buildServiceRegistry(ctx, serviceEntries, workloadEntries, kube);
  // Every service the namespace could see, for checks about the config itself and for the
  // destinations of selected VirtualServices that the Sidecar does not import by name.
  const visible = scope ? buildServiceRegistry({ ...ctx, scope: undefined, problems: new Problems() }, serviceEntries, workloadEntries, kube) : registry;
  const rules = new DestinationRuleIndex(ctx, destinationRules);
  checkDestinationRules(ctx, destinationRules);
  // Gateway API routes for the mesh become VirtualServices, as istiod converts them.
  for (const vs of convertGatewayRoutes(ctx, gatewayRoutes, serviceEntries)) virtualServices.push(vs);
  const vss = selectVirtualServices(ctx, virtualServices);
  if (scope) importDestinations(scope, vss, client.namespace, registry, visible);

  const resources: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
  compileClusters(ctx, registry, rules, resources);
  const servicePorts: CompiledServicePort[] = [];
  compileServiceRoutes(ctx, registry, rules, vss, resources, servicePorts);
  const outbound = compileOutbound(ctx, outboundChoice(sidecar, mesh), registry);
  const report: ScopeReport | undefined = scope && {
    sidecar: scope.name,
    egressHosts: scope.egressHosts,
    outOfScope: registry.outOfScope,
    servicesInScope: registry.services.length,
  };
  return { resources, problems: ctx.problems.list, mesh, outbound, scope: report, servicePorts };
}

/**
 * The services selected VirtualServices send to that the Sidecar's hosts do not name: istiod
 * imports them for their clusters (collectImportedServices), trimmed to the ports in use; the
 * client's own namespace's service wins, else the one the namespace would otherwise see.
 */
function importDestinations(scope: SidecarScope, vss: readonly ResolvedVirtualService[], namespace: string, registry: ServiceRegistry, visible: ServiceRegistry): void {
  for (const vs of vss) {
    const dests = virtualServiceDestinations(vs.rules.map((r) => r.http), namespace);
    for (const [host, ports] of dests) {
      const earlier = registry.byHost.get(host);
      if (earlier && !registry.destinationOnly.includes(earlier)) continue; // imported by name
      const svc = visible.byHost.get(host);
      if (!svc) continue;
      const imported = scope.destinationImport(vs.obj, vs.hosts, usesGatewaySemantics(vs.obj), ports);
      if (!imported) continue;
      const copy = { ...svc, ports: [...svc.ports] };
      if (!trimPorts(copy, imported)) continue;
      if (earlier) {
        for (const p of copy.ports) if (!earlier.ports.some((q) => q.number === p.number)) earlier.ports.push(p);
        continue;
      }
      registry.destinationOnly.push(copy);
      registry.byHost.set(host, copy);
    }
  }
}
