// Cluster and ClusterLoadAssignment → what the data path needs. Like Envoy, a cluster is only
// usable together with its endpoints; the snapshot builder joins them.

import type { Cluster, ClusterLoadAssignment, HealthStatus, Locality } from './resources.ts';
import { HTTP_PROTOCOL_OPTIONS } from './resources.ts';
import { durationToMs } from './duration.ts';
import { fail, ok, type Result } from './translate-result.ts';
import type { LbKind } from '../snapshot/mesh-snapshot.ts';
import { translateTransportSocket, type ClusterTls } from '../security/cluster-tls.ts';
import { clusterLimits, type ClusterLimits } from '../resilience/cluster-limits.ts';
import { outlierConfig, type OutlierConfig } from '../resilience/outlier-config.ts';

export interface ClusterSettings {
  readonly name: string;
  /** The ClusterLoadAssignment that feeds this cluster. */
  readonly edsName: string;
  readonly lbPolicy: LbKind;
  readonly connectTimeoutMs: number;
  /** Endpoints come from EDS, from the cluster's own loadAssignment (STATIC and DNS types, where an address may be a host name undici resolves on connect), or are the address the caller asked for (ORIGINAL_DST: ServiceEntry resolution NONE). */
  readonly endpointSource: 'eds' | 'inline' | 'original-dst';
  readonly limits: ClusterLimits;
  readonly outlier: OutlierConfig | undefined;
  /** Envoy's healthy_panic_threshold: 50% unless the cluster says (Istio writes minHealthPercent when outlier detection is on). */
  readonly panicThreshold: number;
  readonly connections: ConnectionSettings;
  /** TLS to the endpoints (transportSocket envoy.transport_sockets.tls); undefined = plaintext. */
  readonly tls: ClusterTls | undefined;
}

/** How the transport manages connections to each endpoint (HttpProtocolOptions). */
export interface ConnectionSettings {
  readonly maxRequestsPerConnection: number | undefined;
  readonly idleTimeoutMs: number | undefined;
}

export function translateCluster(c: Cluster): Result<ClusterSettings> {
  if (!c.name) return fail('Cluster: name is required');
  const type = c.type ?? 'EDS';
  let endpointSource: ClusterSettings['endpointSource'];
  switch (type) {
    case 'EDS': endpointSource = 'eds'; break;
    case 'STATIC': case 'STRICT_DNS': case 'LOGICAL_DNS': endpointSource = 'inline'; break;
    case 'ORIGINAL_DST': endpointSource = 'original-dst'; break;
    default: return fail(`Cluster ${c.name}: type: ${String(type)} is not supported`);
  }
  let lbPolicy: LbKind;
  switch (c.lbPolicy ?? 'ROUND_ROBIN') {
    case 'CLUSTER_PROVIDED':
      if (endpointSource !== 'original-dst') return fail(`Cluster ${c.name}: lbPolicy: CLUSTER_PROVIDED needs type ORIGINAL_DST`);
      lbPolicy = 'ROUND_ROBIN';
      break;
    case 'ROUND_ROBIN': lbPolicy = 'ROUND_ROBIN'; break;
    case 'LEAST_REQUEST': lbPolicy = 'LEAST_REQUEST'; break;
    case 'RANDOM': lbPolicy = 'RANDOM'; break;
    default: return fail(`Cluster ${c.name}: lbPolicy: ${c.lbPolicy} is not supported yet (ROUND_ROBIN, LEAST_REQUEST, RANDOM)`);
  }
  const ct = c.connectTimeout !== undefined ? durationToMs(c.connectTimeout) : 5000;
  if (ct === undefined || ct <= 0) return fail(`Cluster ${c.name}: connectTimeout: ${JSON.stringify(c.connectTimeout)} must be a positive duration`);
  // A transport socket that does not translate rejects the whole cluster (NACK): dropping it
  // would send the cluster's traffic in plaintext.
  const tls = translateTransportSocket(c.name, c.transportSocket);
  if (!tls.ok) return tls;
  const outlier = outlierConfig(c.outlierDetection, `Cluster ${c.name}: outlierDetection`);
  if (!outlier.ok) return outlier;
  const panic = c.commonLbConfig?.healthyPanicThreshold?.value ?? 50;
  if (!(panic >= 0 && panic <= 100)) return fail(`Cluster ${c.name}: commonLbConfig.healthyPanicThreshold.value: ${panic} is not in [0, 100]`);
  const common = (c.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS] as { commonHttpProtocolOptions?: { idleTimeout?: string; maxRequestsPerConnection?: number } } | undefined)?.commonHttpProtocolOptions;
  const idle = common?.idleTimeout !== undefined ? durationToMs(common.idleTimeout) : undefined;
  return ok({
    name: c.name,
    edsName: c.edsClusterConfig?.serviceName || c.name,
    lbPolicy,
    connectTimeoutMs: ct,
    endpointSource,
    limits: clusterLimits(c),
    outlier: outlier.value,
    panicThreshold: panic,
    connections: { maxRequestsPerConnection: common?.maxRequestsPerConnection || undefined, idleTimeoutMs: idle || undefined },
    tls: tls.value,
  });
}

export interface EndpointSpec {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly locality: Locality | undefined;
  readonly priority: number;
  readonly labels: Readonly<Record<string, string>>;
}

// EDS health: UNKNOWN and HEALTHY take traffic; DEGRADED does too (it only matters when healthy
// capacity is short, which later balancing handles); UNHEALTHY, DRAINING and TIMEOUT do not.
function takesTraffic(h: HealthStatus | undefined): boolean {
  return h === undefined || h === 'UNKNOWN' || h === 'HEALTHY' || h === 'DEGRADED';
}

export function translateLoadAssignment(cla: ClusterLoadAssignment): Result<EndpointSpec[]> {
  if (!cla.clusterName) return fail('ClusterLoadAssignment: clusterName is required');
  const out: EndpointSpec[] = [];
  const groups = cla.endpoints ?? [];
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const eps = group.lbEndpoints ?? [];
    for (let i = 0; i < eps.length; i++) {
      const field = `ClusterLoadAssignment ${cla.clusterName}: endpoints[${g}].lbEndpoints[${i}]`;
      const addr = eps[i]!.endpoint?.address;
      const labels = eps[i]!.metadata?.filterMetadata?.['meshlet']?.['labels'];
      const common = {
        weight: eps[i]!.loadBalancingWeight ?? 1,
        healthy: takesTraffic(eps[i]!.healthStatus),
        locality: group.locality,
        priority: group.priority ?? 0,
        labels: labels && typeof labels === 'object' ? (labels as Record<string, string>) : {},
      };
      if (!Number.isInteger(common.weight) || common.weight < 1) return fail(`${field}.loadBalancingWeight: ${common.weight} must be at least 1`);
      if (addr?.pipe) {
        // A Unix domain socket endpoint (ServiceEntry address unix:///path).
        if (!addr.pipe.path) return fail(`${field}.endpoint.address.pipe.path: required`);
        out.push({ address: `unix:${addr.pipe.path}`, port: 0, ...common });
        continue;
      }
      const sa = addr?.socketAddress;
      if (!sa?.address) return fail(`${field}.endpoint.address.socketAddress.address: required`);
      const port = sa.portValue ?? 0;
      if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`${field}.endpoint.address.socketAddress.portValue: ${port} is not a port`);
      out.push({ address: sa.address, port, ...common });
    }
  }
  return ok(out);
}
