// Cluster and ClusterLoadAssignment → what the data path needs. Like Envoy, a cluster is only
// usable together with its endpoints; the snapshot builder joins them.

import { memoByObject } from './translate-memo.ts';
import type { Cluster, ClusterLoadAssignment, HealthStatus, Locality } from '../xds/resources.ts';
import { HTTP_PROTOCOL_OPTIONS } from '../xds/resources.ts';
import { durationToMs } from '../xds/duration.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';
import type { LbKind } from '../lb/load-balancer.ts';
import { translateTransportSocket, translateTransportSocketMatches, type ClusterTls, type TlsMatch } from '../security/cluster-tls.ts';
import { clusterLimits, type ClusterLimits } from '../resilience/cluster-limits.ts';
import { outlierConfig, type OutlierConfig } from '../resilience/outlier-config.ts';
import type { HashLbOptions } from '../lb/create-load-balancer.ts';
import type { SlowStartSettings } from '../lb/slow-start.ts';
import { translateLbPolicy } from './translate-lb-policy.ts';

export interface ClusterSettings {
  readonly name: string;
  /** The ClusterLoadAssignment that feeds this cluster. */
  readonly edsName: string;
  readonly lbPolicy: LbKind;
  readonly connectTimeoutMs: number;
  /** Endpoints come from EDS, from the cluster's own loadAssignment (STATIC, and STRICT_DNS / LOGICAL_DNS whose host names snapshot/dns-refresh.ts resolves), or are the address the caller asked for (ORIGINAL_DST: ServiceEntry resolution NONE). */
  readonly endpointSource: 'eds' | 'inline' | 'original-dst';
  readonly limits: ClusterLimits;
  readonly outlier: OutlierConfig | undefined;
  /** Envoy's healthy_panic_threshold: 50% unless the cluster says (Istio writes minHealthPercent when outlier detection is on). */
  readonly panicThreshold: number;
  readonly connections: ConnectionSettings;
  /** TLS to the endpoints (transportSocket envoy.transport_sockets.tls); undefined = plaintext. */
  readonly tls: ClusterTls | undefined;
  /** Per-endpoint transport sockets (transportSocketMatches), tried before `tls`. */
  readonly tlsMatches: readonly TlsMatch[];
  /** Ring / table sizes for RING_HASH and MAGLEV (undefined for other policies). */
  readonly hashLb: HashLbOptions | undefined;
  /** STRICT_DNS / LOGICAL_DNS: how host-name endpoints are resolved (snapshot/dns-refresh.ts). */
  readonly dns: DnsSettings | undefined;
  /** commonLbConfig.localityWeightedLbConfig is set: balance across localities by their weights. */
  readonly localityWeighted: boolean;
  /** slow_start_config of ROUND_ROBIN / LEAST_REQUEST; undefined when absent or for other policies. */
  readonly slowStart: SlowStartSettings | undefined;
}

/** DNS resolution of a STRICT_DNS or LOGICAL_DNS cluster's host-name endpoints. */
export interface DnsSettings {
  /** LOGICAL_DNS keeps only the first address of each name; STRICT_DNS makes every address an endpoint. */
  readonly logical: boolean;
  /** Cluster.dnsRefreshRate; Envoy's default is 5 s. */
  readonly refreshRateMs: number;
  /** Cluster.respectDnsTtl: refresh when the records expire instead of at refreshRateMs. */
  readonly respectTtl: boolean;
  /** node:dns lookup family: 4, 6, or 0 for both. */
  readonly family: 0 | 4 | 6;
}

/** Envoy's Cluster.dns_refresh_rate default. */
const ENVOY_DNS_REFRESH_MS = 5000;

/** How the transport manages connections to each endpoint (HttpProtocolOptions). */
export interface ConnectionSettings {
  readonly maxRequestsPerConnection: number | undefined;
  readonly idleTimeoutMs: number | undefined;
  /**
   * The HTTP protocol Envoy speaks to the endpoints: 'http2' for explicitHttpConfig.
   * http2ProtocolOptions (what DestinationRule h2UpgradePolicy UPGRADE compiles to), 'downstream'
   * for useDownstreamProtocolConfig (useClientProtocol), else 'http1'.
   */
  readonly upstreamProtocol: UpstreamProtocol;
  /** http2ProtocolOptions.maxConcurrentStreams of an HTTP/2 cluster (DestinationRule maxConcurrentStreams). */
  readonly maxConcurrentStreams: number | undefined;
}

export type UpstreamProtocol = 'http1' | 'http2' | 'downstream';

interface HttpProtocolOptions {
  commonHttpProtocolOptions?: { idleTimeout?: string; maxRequestsPerConnection?: number };
  explicitHttpConfig?: { httpProtocolOptions?: object; http2ProtocolOptions?: { maxConcurrentStreams?: number } };
  useDownstreamProtocolConfig?: object;
}

function upstreamProtocol(c: Cluster, o: HttpProtocolOptions | undefined): { protocol: UpstreamProtocol; streams: number | undefined } {
  const h2 = o?.explicitHttpConfig?.http2ProtocolOptions ?? (o?.explicitHttpConfig ? undefined : c.http2ProtocolOptions);
  if (h2) return { protocol: 'http2', streams: h2.maxConcurrentStreams || undefined };
  if (o?.useDownstreamProtocolConfig || (!o?.explicitHttpConfig && c.protocolSelection === 'USE_DOWNSTREAM_PROTOCOL')) return { protocol: 'downstream', streams: undefined };
  return { protocol: 'http1', streams: undefined };
}

/** Remembered per resource object (translate-memo.ts). */
export const translateCluster = memoByObject(translateClusterOnce);

function translateClusterOnce(c: Cluster): Result<ClusterSettings> {
  if (!c.name) return fail('Cluster: name is required');
  const type = c.type ?? 'EDS';
  let endpointSource: ClusterSettings['endpointSource'];
  switch (type) {
    case 'EDS': endpointSource = 'eds'; break;
    case 'STATIC': case 'STRICT_DNS': case 'LOGICAL_DNS': endpointSource = 'inline'; break;
    case 'ORIGINAL_DST': endpointSource = 'original-dst'; break;
    default: return fail(`Cluster ${c.name}: type: ${String(type)} is not supported`);
  }
  const lb = translateLbPolicy(c, endpointSource === 'original-dst');
  if (!lb.ok) return lb;
  const dns = dnsSettings(c, type);
  if (!dns.ok) return dns;
  const ct = c.connectTimeout !== undefined ? durationToMs(c.connectTimeout) : 5000;
  if (ct === undefined || ct <= 0) return fail(`Cluster ${c.name}: connectTimeout: ${JSON.stringify(c.connectTimeout)} must be a positive duration`);
  // A transport socket that does not translate rejects the whole cluster (NACK): dropping it
  // would send the cluster's traffic in plaintext.
  const tls = translateTransportSocket(c.name, c.transportSocket);
  if (!tls.ok) return tls;
  const tlsMatches = translateTransportSocketMatches(c.name, c.transportSocketMatches);
  if (!tlsMatches.ok) return tlsMatches;
  const outlier = outlierConfig(c.outlierDetection, `Cluster ${c.name}: outlierDetection`);
  if (!outlier.ok) return outlier;
  // A Percent message that is present but empty is 0 (proto3 drops zero values on the wire);
  // only an absent one takes Envoy's default.
  const threshold = c.commonLbConfig?.healthyPanicThreshold;
  const panic = threshold ? threshold.value ?? 0 : 50;
  if (!(panic >= 0 && panic <= 100)) return fail(`Cluster ${c.name}: commonLbConfig.healthyPanicThreshold.value: ${panic} is not in [0, 100]`);
  const protocolOptions = c.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS] as HttpProtocolOptions | undefined;
  const common = protocolOptions?.commonHttpProtocolOptions;
  const upstream = upstreamProtocol(c, protocolOptions);
  const idle = common?.idleTimeout !== undefined ? durationToMs(common.idleTimeout) : undefined;
  return ok({
    name: c.name,
    edsName: c.edsClusterConfig?.serviceName || c.name,
    lbPolicy: lb.value.lbPolicy,
    connectTimeoutMs: ct,
    endpointSource,
    limits: clusterLimits(c),
    outlier: outlier.value,
    panicThreshold: panic,
    connections: {
      maxRequestsPerConnection: common?.maxRequestsPerConnection || undefined,
      idleTimeoutMs: idle || undefined,
      upstreamProtocol: upstream.protocol,
      maxConcurrentStreams: upstream.streams,
    },
    tls: tls.value,
    tlsMatches: tlsMatches.value,
    hashLb: lb.value.hashLb,
    dns: dns.value,
    localityWeighted: lb.value.localityWeighted,
    slowStart: lb.value.slowStart,
  });
}

function dnsSettings(c: Cluster, type: NonNullable<Cluster['type']>): Result<DnsSettings | undefined> {
  if (type !== 'STRICT_DNS' && type !== 'LOGICAL_DNS') return ok(undefined);
  const rate = c.dnsRefreshRate !== undefined ? durationToMs(c.dnsRefreshRate) : ENVOY_DNS_REFRESH_MS;
  // Envoy's validation: dns_refresh_rate must be at least 1 ms.
  if (rate === undefined || rate < 1) return fail(`Cluster ${c.name}: dnsRefreshRate: ${JSON.stringify(c.dnsRefreshRate)} must be at least 1ms`);
  let family: DnsSettings['family'];
  switch (c.dnsLookupFamily ?? 'AUTO') {
    case 'V4_ONLY': family = 4; break;
    case 'V6_ONLY': family = 6; break;
    // AUTO, V4_PREFERRED and ALL all accept either family; the order the resolver returns is kept.
    default: family = 0;
  }
  return ok({ logical: type === 'LOGICAL_DNS', refreshRateMs: rate, respectTtl: c.respectDnsTtl === true, family });
}

export interface EndpointSpec {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly locality: Locality | undefined;
  readonly priority: number;
  /** The locality group's loadBalancingWeight (0 when absent: Envoy sends such a locality nothing under locality-weighted balancing). */
  readonly localityWeight: number;
  readonly labels: Readonly<Record<string, string>>;
  /** The endpoint's `envoy.transport_socket_match` metadata (string values), for transportSocketMatches. */
  readonly socketMatch: Readonly<Record<string, string>> | undefined;
}

// EDS health: UNKNOWN and HEALTHY take traffic; DEGRADED does too (it only matters when healthy
// capacity is short, which later balancing handles); UNHEALTHY, DRAINING and TIMEOUT do not.
function takesTraffic(h: HealthStatus | undefined): boolean {
  return h === undefined || h === 'UNKNOWN' || h === 'HEALTHY' || h === 'DEGRADED';
}

/** Remembered per resource object (translate-memo.ts). */
export const translateLoadAssignment = memoByObject(translateLoadAssignmentOnce);

function translateLoadAssignmentOnce(cla: ClusterLoadAssignment): Result<EndpointSpec[]> {
  if (!cla.clusterName) return fail('ClusterLoadAssignment: clusterName is required');
  const out: EndpointSpec[] = [];
  const groups = cla.endpoints ?? [];
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const eps = group.lbEndpoints ?? [];
    for (let i = 0; i < eps.length; i++) {
      const addr = eps[i]!.endpoint?.address;
      const labels = eps[i]!.metadata?.filterMetadata?.['meshlet']?.['labels'];
      const socketMatch = stringEntries(eps[i]!.metadata?.filterMetadata?.['envoy.transport_socket_match']);
      const common = {
        weight: eps[i]!.loadBalancingWeight ?? 1,
        healthy: takesTraffic(eps[i]!.healthStatus),
        locality: group.locality,
        priority: group.priority ?? 0,
        localityWeight: group.loadBalancingWeight ?? 0,
        labels: labels && typeof labels === 'object' ? (labels as Record<string, string>) : {},
        socketMatch,
      };
      if (!Number.isInteger(common.weight) || common.weight < 1) return fail(`${lbEndpointField(cla, g, i)}.loadBalancingWeight: ${common.weight} must be at least 1`);
      if (addr?.pipe) {
        // A Unix domain socket endpoint (ServiceEntry address unix:///path).
        if (!addr.pipe.path) return fail(`${lbEndpointField(cla, g, i)}.endpoint.address.pipe.path: required`);
        out.push({ address: `unix:${addr.pipe.path}`, port: 0, ...common });
        continue;
      }
      const sa = addr?.socketAddress;
      if (!sa?.address) return fail(`${lbEndpointField(cla, g, i)}.endpoint.address.socketAddress.address: required`);
      const port = sa.portValue ?? 0;
      if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`${lbEndpointField(cla, g, i)}.endpoint.address.socketAddress.portValue: ${port} is not a port`);
      out.push({ address: sa.address, port, ...common });
    }
  }
  return ok(out);
}

/** Where an endpoint sits, for an error: built only then, not per endpoint (100 strings per assignment). */
function lbEndpointField(cla: ClusterLoadAssignment, g: number, i: number): string {
  return `ClusterLoadAssignment ${cla.clusterName}: endpoints[${g}].lbEndpoints[${i}]`;
}

function stringEntries(v: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!v) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
