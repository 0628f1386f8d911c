// Cluster and ClusterLoadAssignment → what the data path needs. Like Envoy, a cluster is only
// usable together with its endpoints; the snapshot builder joins them.

import { memoByObject } from './translate-memo.ts';
import type { Cluster, ClusterLoadAssignment, HealthStatus, Locality } from './resources.ts';
import { HTTP_PROTOCOL_OPTIONS } from './resources.ts';
import { durationToMs } from './duration.ts';
import { fail, ok, type Result } from './translate-result.ts';
import type { LbKind } from '../snapshot/mesh-snapshot.ts';
import { translateTransportSocket, translateTransportSocketMatches, type ClusterTls, type TlsMatch } from '../security/cluster-tls.ts';
import { clusterLimits, type ClusterLimits } from '../resilience/cluster-limits.ts';
import { outlierConfig, type OutlierConfig } from '../resilience/outlier-config.ts';
import type { HashLbOptions } from '../lb/create-load-balancer.ts';
import type { SlowStartSettings } from '../lb/slow-start.ts';
import { DEFAULT_MIN_RING_SIZE, MAX_RING_SIZE } from '../lb/load-balancer-ring-hash.ts';
import { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, MAX_MAGLEV_TABLE_SIZE } from '../lb/load-balancer-maglev.ts';

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
  let lbPolicy: LbKind;
  switch (c.lbPolicy ?? 'ROUND_ROBIN') {
    case 'CLUSTER_PROVIDED':
      if (endpointSource !== 'original-dst') return fail(`Cluster ${c.name}: lbPolicy: CLUSTER_PROVIDED needs type ORIGINAL_DST`);
      lbPolicy = 'ROUND_ROBIN';
      break;
    case 'ROUND_ROBIN': lbPolicy = 'ROUND_ROBIN'; break;
    case 'LEAST_REQUEST': lbPolicy = 'LEAST_REQUEST'; break;
    case 'RANDOM': lbPolicy = 'RANDOM'; break;
    case 'RING_HASH': lbPolicy = 'RING_HASH'; break;
    case 'MAGLEV': lbPolicy = 'MAGLEV'; break;
    default: return fail(`Cluster ${c.name}: lbPolicy: ${c.lbPolicy} is not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV)`);
  }
  const hashLb = hashLbOptions(c, lbPolicy);
  if (!hashLb.ok) return hashLb;
  const dns = dnsSettings(c, type);
  if (!dns.ok) return dns;
  const slowStart = slowStartSettings(c, lbPolicy);
  if (!slowStart.ok) return slowStart;
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
    tlsMatches: tlsMatches.value,
    hashLb: hashLb.value,
    dns: dns.value,
    localityWeighted: c.commonLbConfig?.localityWeightedLbConfig !== undefined,
    slowStart: slowStart.value,
  });
}

// Envoy reads slow_start_config only from the ROUND_ROBIN and LEAST_REQUEST configs, with
// aggression 1.0 and min_weight_percent 10% when unset. A window of 0 turns it off.
function slowStartSettings(c: Cluster, policy: LbKind): Result<SlowStartSettings | undefined> {
  const cfg = policy === 'ROUND_ROBIN' ? c.roundRobinLbConfig?.slowStartConfig : policy === 'LEAST_REQUEST' ? c.leastRequestLbConfig?.slowStartConfig : undefined;
  if (!cfg || cfg.slowStartWindow === undefined) return ok(undefined);
  const field = `Cluster ${c.name}: ${policy === 'ROUND_ROBIN' ? 'roundRobinLbConfig' : 'leastRequestLbConfig'}.slowStartConfig`;
  const windowMs = durationToMs(cfg.slowStartWindow);
  if (windowMs === undefined || windowMs < 0) return fail(`${field}.slowStartWindow: ${JSON.stringify(cfg.slowStartWindow)} is not a duration`);
  if (windowMs === 0) return ok(undefined);
  // Present-but-empty messages are zeros on the wire (see healthyPanicThreshold); an aggression
  // of 0 is then treated as 1 by the balancer, as Envoy does at run time.
  const aggression = cfg.aggression ? cfg.aggression.defaultValue ?? 0 : 1;
  if (!Number.isFinite(aggression)) return fail(`${field}.aggression.defaultValue: ${aggression} is not a number`);
  const min = cfg.minWeightPercent ? cfg.minWeightPercent.value ?? 0 : 10;
  if (!(min >= 0 && min <= 100)) return fail(`${field}.minWeightPercent.value: ${min} is not in [0, 100]`);
  return ok({ windowMs, aggression, minWeightPercent: min });
}

// Envoy's bounds: ring sizes at most 8M (and minimum <= maximum), a Maglev table a prime of at
// most 5000011. A bad size is a NACK: Envoy refuses the cluster rather than guess.
function hashLbOptions(c: Cluster, policy: LbKind): Result<HashLbOptions | undefined> {
  if (policy === 'RING_HASH') {
    const cfg = c.ringHashLbConfig;
    if (cfg?.hashFunction === 'MURMUR_HASH_2') return fail(`Cluster ${c.name}: ringHashLbConfig.hashFunction: MURMUR_HASH_2 is not supported (XX_HASH)`);
    const min = uint64Field(cfg?.minimumRingSize, DEFAULT_MIN_RING_SIZE);
    const max = uint64Field(cfg?.maximumRingSize, MAX_RING_SIZE);
    if (min === undefined || min < 1 || min > MAX_RING_SIZE) return fail(`Cluster ${c.name}: ringHashLbConfig.minimumRingSize: ${JSON.stringify(cfg?.minimumRingSize)} must be in [1, ${MAX_RING_SIZE}]`);
    if (max === undefined || max < 1 || max > MAX_RING_SIZE) return fail(`Cluster ${c.name}: ringHashLbConfig.maximumRingSize: ${JSON.stringify(cfg?.maximumRingSize)} must be in [1, ${MAX_RING_SIZE}]`);
    if (min > max) return fail(`Cluster ${c.name}: ringHashLbConfig: minimumRingSize (${min}) > maximumRingSize (${max})`);
    return ok({ minimumRingSize: min, maximumRingSize: max });
  }
  if (policy === 'MAGLEV') {
    const size = uint64Field(c.maglevLbConfig?.tableSize, DEFAULT_MAGLEV_TABLE_SIZE);
    if (size === undefined || size > MAX_MAGLEV_TABLE_SIZE || !isPrime(size)) {
      return fail(`Cluster ${c.name}: maglevLbConfig.tableSize: ${JSON.stringify(c.maglevLbConfig?.tableSize)} must be a prime number no larger than ${MAX_MAGLEV_TABLE_SIZE}`);
    }
    return ok({ tableSize: size });
  }
  return ok(undefined);
}

/** A UInt64Value in JSON (a decimal string, or a number from hand-written resources). */
function uint64Field(v: string | number | undefined, dflt: number): number | undefined {
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
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
      const field = `ClusterLoadAssignment ${cla.clusterName}: endpoints[${g}].lbEndpoints[${i}]`;
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

function stringEntries(v: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!v) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
