// The CRD → xDS compiler: Istio VirtualServices, DestinationRules, ServiceEntries and
// WorkloadEntries, and Kubernetes Services with their EndpointSlices and Pods, in; the
// Listener / RouteConfiguration / Cluster / ClusterLoadAssignment set
// istiod's proxyless (grpcgen) generator would send this client out — extended with what the
// sidecar generator writes where grpcgen drops a feature, since Meshlet enforces it.
//
// Stages, each in its own file:
//   registry      ../../kube/kube-registry.ts  Service/EndpointSlice/Pod → Kubernetes services + endpoints
//   services      compile-services.ts          + ServiceEntry/WorkloadEntry → visible services + endpoints
//   dest. rules   destination-rule-index.ts    which merged DestinationRule applies to each host
//   GAMMA         compile-gateway-api.ts       HTTPRoute / GRPCRoute → VirtualServices
//   routing       compile-virtual-services.ts  which VirtualServices apply, resolved and delegated
//   CDS + EDS     compile-clusters.ts          default and subset clusters, load assignments
//   LDS + RDS     compile-service-routes.ts    API listeners and per-service route tables
// Problems are semantic (the loader already checked the schema): references to things that do
// not exist, rules that lose to others, settings that compile to nothing. None stops the
// compile; like istiod, Meshlet builds everything it can and says what it could not.

import type { ConfigProblem } from '../../config/config-error.ts';
import type { XdsResources } from '../../xds/resources.ts';
import type { ClientIdentity, CompileContext } from './compile-context.ts';
import { Problems } from './compile-context.ts';
import { compileClusters } from './compile-clusters.ts';
import { compileServiceRoutes, type CompiledServicePort } from './compile-service-routes.ts';
import { buildServiceRegistry } from './compile-services.ts';
import { selectVirtualServices } from './compile-virtual-services.ts';
import { checkDestinationRules } from './destination-rule-checks.ts';
import { DestinationRuleIndex } from './destination-rule-index.ts';
import type { DestinationRule, MeshObject, PeerAuthentication, ServiceEntry, VirtualService, WorkloadEntry } from '../types.ts';
import type { GatewayRoute } from '../gateway-api-types.ts';
import { convertGatewayRoutes } from './compile-gateway-api.ts';
import { buildKubeRegistry } from '../../kube/kube-registry.ts';

export type { ClientIdentity } from './compile-context.ts';

export interface CompileResult {
  resources: XdsResources;
  problems: ConfigProblem[];
  /** Every service port compiled, with its protocol class. */
  servicePorts: CompiledServicePort[];
}

export function compileMesh(objects: readonly MeshObject[], client: ClientIdentity): CompileResult {
  const peerAuthentications = objects.filter((o): o is PeerAuthentication => o.kind === 'PeerAuthentication');
  const ctx: CompileContext = { client, problems: new Problems(), peerAuthentications };
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

  const kube = buildKubeRegistry(objects, { clusterDomain: client.clusterDomain, trustDomain: client.clusterDomain, rootNamespace: client.rootNamespace }, ctx.problems);
  const registry = buildServiceRegistry(ctx, serviceEntries, workloadEntries, kube);
  const rules = new DestinationRuleIndex(ctx, destinationRules);
  checkDestinationRules(ctx, destinationRules);
  // Gateway API routes for the mesh become VirtualServices, as istiod converts them.
  for (const vs of convertGatewayRoutes(ctx, gatewayRoutes, serviceEntries)) virtualServices.push(vs);
  const vss = selectVirtualServices(ctx, virtualServices);

  const resources: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
  compileClusters(ctx, registry, rules, resources);
  const servicePorts: CompiledServicePort[] = [];
  compileServiceRoutes(ctx, registry, rules, vss, resources, servicePorts);
  return { resources, problems: ctx.problems.list, servicePorts };
}
