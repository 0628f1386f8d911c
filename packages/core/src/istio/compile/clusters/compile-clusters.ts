// CDS and EDS: for every visible service port, the default cluster `outbound|<port>||<host>`
// and one cluster per subset of the DestinationRule the client sees for the host, each with the
// policy in force for that port and subset, plus the ClusterLoadAssignment of every EDS cluster.
//
// Discovery type follows the ServiceEntry's resolution. STATIC services are EDS clusters (the
// only kind istiod's proxyless generator emits, edsConfig ADS, EDS service name = cluster
// name). DNS and NONE services, which proxyless gRPC cannot use, are written the way the sidecar
// generator writes them: STRICT_DNS / LOGICAL_DNS with the endpoints inline, ORIGINAL_DST with
// CLUSTER_PROVIDED balancing.

import type { Cluster, XdsResources } from '../../../xds/resources.ts';
import type { CompileContext } from '../common/compile-context.ts';
import { configPath } from '../common/compile-context.ts';
import { toDuration } from '../common/compile-duration.ts';
import { applyTrafficPolicy, setMetadata } from './compile-cluster-policy.ts';
import { applyClientTls } from './compile-cluster-tls.ts';
import { applyLoadBalancingPolicy } from './compile-lb-policy.ts';
import { mtlsModeForPort, peerAuthenticationFor, type MtlsMode } from '../../../security/peer-authentication.ts';
import { loadAssignment, localityEndpoints } from './compile-endpoints.ts';
import { applyLocalityLoadBalancing } from './compile-locality.ts';
import type { ServiceRegistry } from './compile-services.ts';
import type { MeshService } from '../../service-model.ts';
import type { ConsolidatedRule, DestinationRuleIndex } from './destination-rule-index.ts';
import { portLevelPolicy, subsetPolicy } from './destination-rule-policy.ts';
import type { DestinationRule, ServicePort, Subset, TrafficPolicy } from '../../types.ts';

/** istiod's cluster (and RDS) naming: model.BuildSubsetKey for the outbound direction. */
export function clusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

export function compileClusters(ctx: CompileContext, registry: ServiceRegistry, rules: DestinationRuleIndex, out: XdsResources): void {
  for (const svc of [...registry.services, ...registry.destinationOnly]) {
    const rule = rules.lookup(svc.hostname, svc.namespace);
    for (const port of svc.ports) {
      const top = portLevelPolicy(rule?.spec.trafficPolicy, port.number).policy;
      emit(out, buildCluster(ctx, svc, port, rule, undefined, top));
      (rule?.spec.subsets ?? []).forEach((subset) => {
        const policy = subsetPolicy(rule?.spec.trafficPolicy, subset.trafficPolicy, port.number);
        emit(out, buildCluster(ctx, svc, port, rule, subset, policy));
      });
    }
  }
}

function emit(out: XdsResources, built: { cluster: Cluster; assignment?: ReturnType<typeof loadAssignment> } | undefined): void {
  if (!built) return;
  out.clusters.set(built.cluster.name, built.cluster);
  if (built.assignment) out.endpoints.set(built.assignment.clusterName, built.assignment);
}

function buildCluster(
  ctx: CompileContext,
  svc: MeshService,
  port: ServicePort,
  rule: ConsolidatedRule | undefined,
  subset: Subset | undefined,
  policy: TrafficPolicy | undefined,
): { cluster: Cluster; assignment?: ReturnType<typeof loadAssignment> } | undefined {
  const name = clusterName(port.number, subset?.name ?? '', svc.hostname);
  if (ctx.client.grpcOnly && policy?.loadBalancer?.simple === 'PASSTHROUGH') {
    // A gRPC client has no ORIGINAL_DST cluster: istiod's grpc generator ignores PASSTHROUGH
    // ("cannot apply LbPolicy") and the client balances round robin over the endpoints.
    policy = { ...policy, loadBalancer: { ...policy.loadBalancer, simple: 'ROUND_ROBIN' } };
  }
  const passthrough = subset?.trafficPolicy?.loadBalancer?.simple === 'PASSTHROUGH' && !ctx.client.grpcOnly;
  const c: Cluster = { name, altStatName: `${name};`, type: discoveryType(svc, passthrough) };
  // Unhealthy endpoints go out unless panic mode could route to them (minHealthPercent > 0).
  const sendUnhealthy = !((policy?.outlierDetection?.minHealthPercent ?? 0) > 0);
  let endpoints = c.type === 'ORIGINAL_DST' ? [] : localityEndpoints(svc, port, subset?.labels, (ep, p) => workloadMtlsMode(ctx, ep.namespace, ep.labels, p) === 'DISABLE', sendUnhealthy);
  // A subset that selects no endpoint is an analyzer finding (IST0173, analyze/).
  if (c.type === 'STRICT_DNS' || c.type === 'LOGICAL_DNS') {
    // istiod drops a DNS cluster with nothing to resolve rather than send an empty one.
    if (endpoints.length === 0) return undefined;
    c.loadAssignment = loadAssignment(name, endpoints);
    // As the sidecar generator writes DNS clusters: the mesh's refresh rate, the records' TTL
    // respected, IPv4 answers only (istiod's choice for an IPv4 proxy; a client library does not
    // know its own addresses, and IPv4 is what nearly every mesh runs on).
    c.dnsRefreshRate = toDuration(ctx.mesh.dnsRefreshRate) ?? '60s';
    c.respectDnsTtl = true;
    c.dnsLookupFamily = 'V4_ONLY';
  }
  if (c.type === 'ORIGINAL_DST' && svc.resolution === 'NONE' && port.targetPort) {
    c.originalDstLbConfig = { upstreamPortOverride: port.targetPort };
  }
  applyTrafficPolicy(c, policy, ctx.mesh.connectTimeout, { port, meshH2Upgrade: ctx.mesh.h2UpgradePolicy });
  // istiod turns panic mode off where the rule leaves it unset, since unhealthy endpoints are
  // sent: Envoy's default 50% would otherwise route to not-ready pods (applyLoadBalancer).
  if (c.type !== 'ORIGINAL_DST' && c.commonLbConfig?.healthyPanicThreshold === undefined) {
    c.commonLbConfig = { ...c.commonLbConfig, healthyPanicThreshold: { value: 0 } };
  }
  if (c.type !== 'ORIGINAL_DST') {
    const located = applyLocalityLoadBalancing(endpoints, policy, ctx.client, ctx.mesh.localityLbSetting);
    endpoints = located.groups;
    // failoverPriority splits groups into new ones: a DNS cluster's inline assignment follows.
    if (c.loadAssignment) c.loadAssignment = loadAssignment(name, endpoints);
    if (located.localityWeighted) c.commonLbConfig = { ...c.commonLbConfig, localityWeightedLbConfig: {} };
  }
  applyLoadBalancingPolicy(c);
  // Auto-mTLS (Istio's default) for a mesh service without TLS settings, unless the service's
  // namespace or mesh PeerAuthentication disables mTLS (istiod's BestEffortInferServiceMTLSMode).
  // MeshConfig enableAutoMtls: false turns it off mesh-wide.
  const autoMtls = ctx.mesh.enableAutoMtls && svc.location === 'MESH_INTERNAL' && workloadMtlsMode(ctx, svc.namespace, {}, port.number) !== 'DISABLE';
  applyClientTls(c, policy?.tls, svc, ctx.mesh, autoMtls);
  let assignment: ReturnType<typeof loadAssignment> | undefined;
  if (c.type === 'EDS') {
    c.edsClusterConfig = { serviceName: name, edsConfig: { ads: {} } };
    assignment = loadAssignment(name, endpoints);
  }
  setMetadata(c, 'istio', 'services', [{ host: svc.hostname, name: svc.hostname, namespace: svc.namespace }]);
  // The sidecar marks clusters of MESH_EXTERNAL services so telemetry can tell them apart.
  if (svc.location === 'MESH_EXTERNAL') setMetadata(c, 'istio', 'external', true);
  if (rule) setMetadata(c, 'istio', 'config', configPath(rule.from[0] as DestinationRule));
  if (subset) setMetadata(c, 'istio', 'subset', subset.name);
  return assignment ? { cluster: c, assignment } : { cluster: c };
}

function discoveryType(svc: MeshService, passthrough: boolean): Cluster['type'] {
  if (passthrough) return 'ORIGINAL_DST';
  switch (svc.resolution) {
    case 'STATIC':
      return 'EDS';
    case 'DNS':
      return 'STRICT_DNS';
    case 'DNS_ROUND_ROBIN':
      return 'LOGICAL_DNS';
    default:
      return 'ORIGINAL_DST';
  }
}

/** The mTLS mode PeerAuthentication gives a workload's port (PERMISSIVE when none applies). */
function workloadMtlsMode(ctx: CompileContext, namespace: string, labels: Record<string, string>, port: number): MtlsMode {
  const policies = ctx.peerAuthentications ?? [];
  if (policies.length === 0) return 'PERMISSIVE';
  return mtlsModeForPort(peerAuthenticationFor(policies, { namespace, labels }, ctx.client.rootNamespace), port);
}
