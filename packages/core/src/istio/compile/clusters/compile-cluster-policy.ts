// A DestinationRule traffic policy written onto an Envoy Cluster the way istiod's sidecar
// generator writes it (networking/core/cluster_traffic_policy.go). The proxyless generator keeps
// only max_requests and ROUND_ROBIN/LEAST_REQUEST/ring hash; Meshlet enforces the rest, so it
// writes the sidecar's full form:
//  - connection pool: connectTimeout (MeshConfig connectTimeout, 10s unless set) and one circuit-breaker threshold whose
//    four limits are 2^32-1 unless the rule sets them — always written, as the sidecar does,
//    so "no limit" is explicit rather than Envoy's 1024;
//  - outlier detection only when the rule has it, with istiod's enforcing percentages and
//    healthyPanicThreshold from minHealthPercent;
//  - load balancer: LEAST_REQUEST by default, consistent hash → RING_HASH / MAGLEV,
//    PASSTHROUGH → ORIGINAL_DST with CLUSTER_PROVIDED; `warmup` (or the deprecated
//    `warmupDurationSecs`) → slow_start_config of ROUND_ROBIN / LEAST_REQUEST;
//  - upstream HTTP protocol, in istiod's order (cluster_builder.go setUpstreamProtocol, then
//    cluster_traffic_policy.go applyConnectionPool and applyH2Upgrade / shouldH2Upgrade): a port
//    declared HTTP2, GRPC or GRPC-Web is HTTP/2; the rule's useClientProtocol makes it follow the
//    client; then the rule's h2UpgradePolicy UPGRADE makes it HTTP/2 whatever the port's protocol,
//    DO_NOT_UPGRADE upgrades nothing, DEFAULT (or unset) follows MeshConfig h2UpgradePolicy
//    (DO_NOT_UPGRADE unless set) on ports declared HTTP only — a sniffed port is never upgraded,
//    since its server may speak only HTTP/1.1. Written as istiod writes it: HttpProtocolOptions
//    explicitHttpConfig.http2ProtocolOptions, or useDownstreamProtocolConfig. (istiod also gives
//    sniffed ports useDownstreamProtocolConfig; not written here: to a client library both mean
//    HTTP/1.1, see transport-table.ts in @meshlet/http);
//  - tls becomes the transport socket in compile-cluster-tls.ts (it needs the service's identities).

import type { Any, Cluster, CircuitBreakerThresholds, OutlierDetection as EnvoyOutlierDetection, SlowStartConfig } from '../../../xds/resources.ts';
import { HTTP_PROTOCOL_OPTIONS, TYPE_URL } from '../../../xds/resources.ts';
import { durationSeconds, toDuration } from '../common/compile-duration.ts';
import type { ConnectionPoolSettings, LoadBalancerSettings, OutlierDetection, ServicePort, TrafficPolicy } from '../../types.ts';
import { isHttp2Port, isHttpPort } from '../../service-model.ts';
import type { MeshSettings } from '../../mesh-config.ts';

const UINT32_MAX = 4294967295;
/** MeshConfig.connectTimeout default. */
export const DEFAULT_CONNECT_TIMEOUT = '10s';

/** What the cluster's upstream protocol depends on besides the rule: its port and the mesh-wide policy. */
export interface UpstreamContext {
  readonly port: ServicePort;
  readonly meshH2Upgrade: MeshSettings['h2UpgradePolicy'];
}

export function applyTrafficPolicy(c: Cluster, policy: TrafficPolicy | undefined, meshConnectTimeout: string, upstream: UpstreamContext): void {
  applyConnectionPool(c, policy?.connectionPool ?? {}, policy?.retryBudget, meshConnectTimeout);
  applyUpstreamProtocol(c, policy?.connectionPool?.http, upstream);
  if (policy?.outlierDetection) applyOutlierDetection(c, policy.outlierDetection);
  applyLoadBalancer(c, policy?.loadBalancer);
  if (c.type === 'ORIGINAL_DST') c.lbPolicy = 'CLUSTER_PROVIDED';
}

function applyConnectionPool(c: Cluster, pool: ConnectionPoolSettings, budget: TrafficPolicy['retryBudget'], meshConnectTimeout: string): void {
  const t: CircuitBreakerThresholds = {
    maxConnections: UINT32_MAX,
    maxPendingRequests: UINT32_MAX,
    maxRequests: UINT32_MAX,
    maxRetries: UINT32_MAX,
    trackRemaining: true,
  };
  if (budget) {
    t.retryBudget = {
      budgetPercent: { value: budget.percent ?? 20 },
      minRetryConcurrency: budget.minRetryConcurrency && budget.minRetryConcurrency > 0 ? budget.minRetryConcurrency : 3,
    };
  }
  const http = pool.http;
  const tcp = pool.tcp;
  // Zero cannot be told from unset in Istio's API, so only positive values override.
  if (http?.http2MaxRequests && http.http2MaxRequests > 0) t.maxRequests = http.http2MaxRequests;
  if (http?.http1MaxPendingRequests && http.http1MaxPendingRequests > 0) t.maxPendingRequests = http.http1MaxPendingRequests;
  if (http?.maxRetries && http.maxRetries > 0) t.maxRetries = http.maxRetries;
  if (tcp?.maxConnections && tcp.maxConnections > 0) t.maxConnections = tcp.maxConnections;
  c.connectTimeout = toDuration(tcp?.connectTimeout) ?? toDuration(meshConnectTimeout) ?? DEFAULT_CONNECT_TIMEOUT;
  c.circuitBreakers = { thresholds: [t] };

  const common: Record<string, unknown> = {};
  const idle = toDuration(http?.idleTimeout) ?? toDuration(tcp?.idleTimeout);
  if (idle !== undefined) common['idleTimeout'] = idle;
  if (http?.maxRequestsPerConnection && http.maxRequestsPerConnection > 0) common['maxRequestsPerConnection'] = http.maxRequestsPerConnection;
  const maxDuration = toDuration(tcp?.maxConnectionDuration);
  if (maxDuration !== undefined) common['maxConnectionDuration'] = maxDuration;
  if (Object.keys(common).length > 0) {
    c.typedExtensionProtocolOptions = {
      ...c.typedExtensionProtocolOptions,
      [HTTP_PROTOCOL_OPTIONS]: { '@type': TYPE_URL.HttpProtocolOptions, commonHttpProtocolOptions: common },
    };
  }
  const ka = tcp?.tcpKeepalive;
  if (ka) {
    const keepalive: { keepaliveProbes?: number; keepaliveTime?: number; keepaliveInterval?: number } = {};
    if (ka.probes !== undefined && ka.probes > 0) keepalive.keepaliveProbes = ka.probes;
    const time = durationSeconds(ka.time);
    if (time !== undefined && time > 0) keepalive.keepaliveTime = time;
    const interval = durationSeconds(ka.interval);
    if (interval !== undefined && interval > 0) keepalive.keepaliveInterval = interval;
    c.upstreamConnectionOptions = { tcpKeepalive: keepalive };
  }
}

/** istiod's shouldH2Upgrade: the rule's UPGRADE / DO_NOT_UPGRADE win; DEFAULT follows the mesh on HTTP ports. */
function shouldH2Upgrade(rule: NonNullable<ConnectionPoolSettings['http']>['h2UpgradePolicy'], upstream: UpstreamContext): boolean {
  if (rule === 'UPGRADE') return true;
  if (rule === 'DO_NOT_UPGRADE') return false;
  if (!isHttpPort(upstream.port)) return false;
  return upstream.meshH2Upgrade === 'UPGRADE';
}

function applyUpstreamProtocol(c: Cluster, http: ConnectionPoolSettings['http'], upstream: UpstreamContext): void {
  let protocol: 'http2' | 'downstream' | undefined = isHttp2Port(upstream.port) ? 'http2' : undefined;
  // useClientProtocol replaces the port's protocol and an upgrade replaces both (the validator
  // refuses UPGRADE with useClientProtocol on one rule; the mesh-wide UPGRADE can still meet it).
  if (http?.useClientProtocol) protocol = 'downstream';
  if (shouldH2Upgrade(http?.h2UpgradePolicy, upstream)) protocol = 'http2';
  if (protocol === undefined) return;
  const h2 = protocol === 'http2';
  const options: Any = { '@type': TYPE_URL.HttpProtocolOptions, ...c.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS] };
  if (h2) {
    // istiod writes maxConcurrentStreams only onto a cluster already HTTP/2 by its port's
    // protocol (its connection pool runs before the upgrade, and useClientProtocol's replacement
    // drops it); Meshlet applies it to every HTTP/2 cluster, as the field's documentation says.
    const streams = http?.maxConcurrentStreams && http.maxConcurrentStreams > 0 ? { maxConcurrentStreams: http.maxConcurrentStreams } : {};
    options['explicitHttpConfig'] = { http2ProtocolOptions: streams };
  } else {
    options['useDownstreamProtocolConfig'] = { httpProtocolOptions: {}, http2ProtocolOptions: {} };
  }
  c.typedExtensionProtocolOptions = { ...c.typedExtensionProtocolOptions, [HTTP_PROTOCOL_OPTIONS]: options };
}

function applyOutlierDetection(c: Cluster, o: OutlierDetection): void {
  // Success-rate ejection is always off in Istio.
  const out: EnvoyOutlierDetection = { enforcingSuccessRate: 0 };
  if (o.consecutive5xxErrors !== undefined) {
    out.consecutive5xx = o.consecutive5xxErrors;
    out.enforcingConsecutive5xx = o.consecutive5xxErrors > 0 ? 100 : 0;
  }
  if (o.consecutiveGatewayErrors !== undefined) {
    out.consecutiveGatewayFailure = o.consecutiveGatewayErrors;
    out.enforcingConsecutiveGatewayFailure = o.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  const interval = toDuration(o.interval);
  if (interval !== undefined) out.interval = interval;
  const base = toDuration(o.baseEjectionTime);
  if (base !== undefined) out.baseEjectionTime = base;
  if (o.maxEjectionPercent !== undefined && o.maxEjectionPercent > 0) out.maxEjectionPercent = o.maxEjectionPercent;
  if (o.splitExternalLocalOriginErrors) {
    out.splitExternalLocalOriginErrors = true;
    if (o.consecutiveLocalOriginFailures !== undefined && o.consecutiveLocalOriginFailures > 0) {
      out.consecutiveLocalOriginFailure = o.consecutiveLocalOriginFailures;
      out.enforcingConsecutiveLocalOriginFailure = 100;
    }
    out.enforcingLocalOriginSuccessRate = 0;
  }
  c.outlierDetection = { ...out };
  // Panic mode off unless the rule asks for it: Istio writes minHealthPercent (default 0) even
  // when unset, since Envoy's own default of 50% rarely suits services with few endpoints.
  const minHealth = o.minHealthPercent ?? 0;
  if (minHealth >= 0) c.commonLbConfig = { ...c.commonLbConfig, healthyPanicThreshold: { value: minHealth } };
}

function applyLoadBalancer(c: Cluster, lb: LoadBalancerSettings | undefined): void {
  if (c.type === 'ORIGINAL_DST') {
    c.lbPolicy = 'CLUSTER_PROVIDED';
    return;
  }
  switch (lb?.simple) {
    case 'LEAST_CONN':
    case 'LEAST_REQUEST':
      c.lbPolicy = 'LEAST_REQUEST';
      applySlowStart(c, lb);
      break;
    case 'RANDOM':
      c.lbPolicy = 'RANDOM';
      break;
    case 'ROUND_ROBIN':
      c.lbPolicy = 'ROUND_ROBIN';
      applySlowStart(c, lb);
      break;
    case 'PASSTHROUGH':
      // Send to the address the caller asked for; any endpoint list is dropped.
      c.lbPolicy = 'CLUSTER_PROVIDED';
      c.type = 'ORIGINAL_DST';
      delete c.loadAssignment;
      delete c.edsClusterConfig;
      break;
    default:
      c.lbPolicy = 'LEAST_REQUEST';
      applySlowStart(c, lb);
  }
  applyConsistentHash(c, lb);
}

// istiod's setWarmup / setSlowStartConfig: `warmup` gives the window, aggression (default 1,
// written as a RuntimeDouble with istiod's placeholder key "(") and minimumPercent (default
// 10, Envoy's own); the deprecated `warmupDurationSecs` gives only the window. `warmup` wins.
function applySlowStart(c: Cluster, lb: LoadBalancerSettings | undefined): void {
  let config: SlowStartConfig | undefined;
  const window = toDuration(lb?.warmup?.duration);
  if (lb?.warmup && window !== undefined) {
    config = {
      slowStartWindow: window,
      aggression: { defaultValue: lb.warmup.aggression ?? 1, runtimeKey: '(' },
      minWeightPercent: { value: lb.warmup.minimumPercent ?? 10 },
    };
  } else {
    const secs = toDuration(lb?.warmupDurationSecs);
    if (secs !== undefined) config = { slowStartWindow: secs };
  }
  if (!config) return;
  if (c.lbPolicy === 'ROUND_ROBIN') c.roundRobinLbConfig = { slowStartConfig: config };
  else c.leastRequestLbConfig = { ...c.leastRequestLbConfig, slowStartConfig: config };
}

function applyConsistentHash(c: Cluster, lb: LoadBalancerSettings | undefined): void {
  const ch = lb?.consistentHash;
  if (!ch) return;
  // Cluster.lb_config is a oneof: the hash policy's config replaces any slow start config.
  delete c.roundRobinLbConfig;
  delete c.leastRequestLbConfig;
  if (ch.maglev) {
    c.lbPolicy = 'MAGLEV';
    if (ch.maglev.tableSize) c.maglevLbConfig = { tableSize: String(ch.maglev.tableSize) };
  } else if (ch.ringHash) {
    c.lbPolicy = 'RING_HASH';
    if (ch.ringHash.minimumRingSize) c.ringHashLbConfig = { minimumRingSize: String(ch.ringHash.minimumRingSize) };
  } else {
    // The deprecated top-level minimumRingSize, else Envoy's 1024, written out as istiod does.
    c.lbPolicy = 'RING_HASH';
    c.ringHashLbConfig = { minimumRingSize: String(ch.minimumRingSize || 1024) };
  }
}

export function setMetadata(c: { metadata?: { filterMetadata?: Record<string, Record<string, unknown>> } }, filter: string, key: string, value: unknown): void {
  const md = (c.metadata ??= {});
  const fm = (md.filterMetadata ??= {});
  const ns = (fm[filter] ??= {});
  ns[key] = value;
}
