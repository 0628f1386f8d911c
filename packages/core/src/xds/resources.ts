// The Envoy v3 xDS resources Meshlet produces and consumes, in the proto3 JSON mapping
// (lowerCamelCase field names; enums by name; Duration as "1.5s"; wrapper types such as
// UInt32Value as their bare value; Any as { '@type': url, ...fields }). This is the shape the
// codec decodes wire bytes into and the CRD compiler emits, so one translator turns either into
// a MeshSnapshot, and configDump() is this shape as it stands.
//
// Only the fields Meshlet reads or writes are declared; the codec keeps others it knows.

export const TYPE_URL = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  HttpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  Router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  HTTPFault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  PreviousHostsPredicate: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
  PreviousPrioritiesConfig: 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
  CorsPolicy: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  HttpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
} as const;

export const FILTER_NAME = {
  router: 'envoy.filters.http.router',
  fault: 'envoy.filters.http.fault',
  cors: 'envoy.filters.http.cors',
} as const;

export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';
export const PREVIOUS_PRIORITIES = 'envoy.retry_priorities.previous_priorities';
/** Typed configs of Cluster.loadBalancingPolicy entries (gRFC A52; Envoy's load balancing policy extensions). */
export const LB_POLICY_TYPE_URL = {
  LeastRequest: 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
  RoundRobin: 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  Random: 'type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random',
  RingHash: 'type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash',
  Maglev: 'type.googleapis.com/envoy.extensions.load_balancing_policies.maglev.v3.Maglev',
  WrrLocality: 'type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality',
} as const;

/** Key of Cluster.typedExtensionProtocolOptions holding HTTP connection-pool options. */
export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** google.protobuf.Duration in JSON form, e.g. "0.025s", "10s". */
export type Duration = string;

export interface Any {
  '@type': string;
  [field: string]: unknown;
}

// ---- LDS ------------------------------------------------------------------------------------

export interface Listener {
  name: string;
  address?: Address;
  apiListener?: { apiListener: Any }; // holds an HttpConnectionManager
  /** A server's (gRFC A36) or an Envoy sidecar's listener: sockets with filter chains. */
  filterChains?: FilterChain[];
  defaultFilterChain?: FilterChain;
  /** Sidecar listeners: OUTBOUND or INBOUND (proxyless listeners leave it unset). */
  trafficDirection?: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
  /** The sidecar's virtualOutbound: connections are handed to the listener of their original destination. */
  useOriginalDst?: boolean;
  bindToPort?: boolean;
}

export interface FilterChain {
  name?: string;
  filterChainMatch?: Record<string, unknown>;
  filters?: { name: string; typedConfig?: Any }[];
  transportSocket?: { name: string; typedConfig?: Any };
}

export interface HttpConnectionManager {
  '@type'?: typeof TYPE_URL.HttpConnectionManager;
  statPrefix?: string;
  rds?: { routeConfigName: string; configSource?: { ads?: Record<string, never>; resourceApiVersion?: 'V3' } };
  routeConfig?: RouteConfiguration;
  httpFilters?: HttpFilter[];
  commonHttpProtocolOptions?: { maxStreamDuration?: Duration };
}

export interface HttpFilter {
  name: string;
  typedConfig?: Any;
  isOptional?: boolean;
}

// ---- RDS ------------------------------------------------------------------------------------

export interface RouteConfiguration {
  name: string;
  virtualHosts?: VirtualHost[];
  validateClusters?: boolean;
  /** Match virtual host domains against the Host without its port (istiod's sidecar route tables set it). */
  ignorePortInHostMatching?: boolean;
  maxDirectResponseBodySizeBytes?: number;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes?: Route[];
  retryPolicy?: RetryPolicy;
  requestHeadersToAdd?: HeaderValueOption[];
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
  typedPerFilterConfig?: Record<string, Any>;
  /** Istio sets this so upstreams see `x-envoy-attempt-count`. */
  includeRequestAttemptCount?: boolean;
}

export interface Route {
  name?: string;
  match: RouteMatch;
  route?: RouteAction;
  redirect?: RedirectAction;
  directResponse?: { status: number; body?: { inlineString?: string; inlineBytes?: string } };
  /** Istio metadata: which VirtualService rule this route came from (filterMetadata.istio.config). */
  metadata?: { filterMetadata?: Record<string, Record<string, unknown>> };
  decorator?: { operation: string };
  typedPerFilterConfig?: Record<string, Any>;
  requestHeadersToAdd?: HeaderValueOption[];
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
  /** From a VirtualService match's statPrefix. */
  statPrefix?: string;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  safeRegex?: RegexMatcher;
  pathSeparatedPrefix?: string;
  /** Defaults to true (the wrapper's absence means case-sensitive). */
  caseSensitive?: boolean;
  headers?: HeaderMatcher[];
  queryParameters?: QueryParameterMatcher[];
  runtimeFraction?: unknown;
}

export interface RegexMatcher {
  regex: string;
  googleRe2?: Record<string, unknown>;
}

export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safeRegex?: RegexMatcher;
  ignoreCase?: boolean;
}

export interface HeaderMatcher {
  name: string;
  stringMatch?: StringMatcher;
  presentMatch?: boolean;
  exactMatch?: string;
  prefixMatch?: string;
  suffixMatch?: string;
  safeRegexMatch?: RegexMatcher;
  invertMatch?: boolean;
  treatMissingHeaderAsEmpty?: boolean;
}

export interface QueryParameterMatcher {
  name: string;
  stringMatch?: StringMatcher;
  presentMatch?: boolean;
}

export interface RouteAction {
  cluster?: string;
  weightedClusters?: { clusters: ClusterWeight[]; totalWeight?: number };
  clusterHeader?: string;
  prefixRewrite?: string;
  regexRewrite?: { pattern: RegexMatcher; substitution: string };
  hostRewriteLiteral?: string;
  autoHostRewrite?: boolean;
  /** Route timeout; "0s" disables it (Istio writes "0s" when a VirtualService sets none). */
  timeout?: Duration;
  retryPolicy?: RetryPolicy;
  maxStreamDuration?: { maxStreamDuration?: Duration; grpcTimeoutHeaderMax?: Duration };
  /** Deprecated grpc-timeout cap; istiod still writes "0s" on its default (no VirtualService) route. */
  maxGrpcTimeout?: Duration;
  hashPolicy?: unknown[];
  requestMirrorPolicies?: { cluster: string; runtimeFraction?: { defaultValue?: FractionalPercent }; traceSampled?: boolean; disableShadowHostSuffixAppend?: boolean }[];
}

/** One element of RouteAction.hashPolicy (consistent-hash key), as Istio writes them. */
export interface HashPolicy {
  header?: { headerName: string; regexRewrite?: { pattern: RegexMatcher; substitution: string } };
  cookie?: { name: string; ttl?: Duration; path?: string; attributes?: { name: string; value?: string }[] };
  connectionProperties?: { sourceIp: boolean };
  queryParameter?: { name: string };
  terminal?: boolean;
}

export interface ClusterWeight {
  name: string;
  weight: number;
  hostRewriteLiteral?: string;
  requestHeadersToAdd?: HeaderValueOption[];
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
}

export interface RetryPolicy {
  retryOn?: string;
  numRetries?: number;
  perTryTimeout?: Duration;
  retryHostPredicate?: { name: string; typedConfig?: Any }[];
  hostSelectionRetryMaxAttempts?: number;
  retriableStatusCodes?: number[];
  retryBackOff?: { baseInterval: Duration; maxInterval?: Duration };
  retryPriority?: { name: string; typedConfig?: Any };
}

export interface HeaderValueOption {
  header: { key: string; value: string };
  /** Envoy's default is APPEND_IF_EXISTS_OR_ADD. */
  appendAction?: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
  /** Deprecated boolean form; when set, true = append, false = overwrite. */
  append?: boolean;
}

export interface RedirectAction {
  schemeRedirect?: string;
  httpsRedirect?: boolean;
  hostRedirect?: string;
  portRedirect?: number;
  pathRedirect?: string;
  prefixRewrite?: string;
  responseCode?: 'MOVED_PERMANENTLY' | 'FOUND' | 'SEE_OTHER' | 'TEMPORARY_REDIRECT' | 'PERMANENT_REDIRECT';
  stripQuery?: boolean;
}

export interface FractionalPercent {
  numerator?: number;
  denominator?: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION';
}

export interface HTTPFault {
  '@type'?: typeof TYPE_URL.HTTPFault;
  delay?: { fixedDelay?: Duration; percentage?: FractionalPercent };
  abort?: { httpStatus?: number; grpcStatus?: number; percentage?: FractionalPercent };
  maxActiveFaults?: number;
}

// ---- CDS ------------------------------------------------------------------------------------

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH' | 'RANDOM' | 'MAGLEV' | 'CLUSTER_PROVIDED' | 'LOAD_BALANCING_POLICY_CONFIG';

export interface Cluster {
  name: string;
  type?: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
  edsClusterConfig?: { serviceName?: string; edsConfig?: { ads?: Record<string, never>; resourceApiVersion?: 'V3' } };
  connectTimeout?: Duration;
  lbPolicy?: LbPolicy;
  /** Candidate policies in order of preference; the first one the client implements wins, and lbPolicy is then ignored. */
  loadBalancingPolicy?: LoadBalancingPolicy;
  loadAssignment?: ClusterLoadAssignment;
  circuitBreakers?: { thresholds?: CircuitBreakerThresholds[] };
  outlierDetection?: Record<string, unknown>;
  commonLbConfig?: { healthyPanicThreshold?: { value?: number }; localityWeightedLbConfig?: Record<string, never> };
  leastRequestLbConfig?: { choiceCount?: number; slowStartConfig?: SlowStartConfig };
  roundRobinLbConfig?: { slowStartConfig?: SlowStartConfig };
  metadata?: { filterMetadata?: Record<string, Record<string, unknown>> };
  transportSocket?: { name: string; typedConfig?: Any };
  /** Per-endpoint transport sockets: the first whose `match` the endpoint's `envoy.transport_socket_match` metadata satisfies (Istio's auto-mTLS). */
  transportSocketMatches?: { name?: string; match?: Record<string, unknown>; transportSocket?: { name: string; typedConfig?: Any } }[];
  /** Stats name istiod gives the cluster (`<name>;`). */
  altStatName?: string;
  /** uint64 wrappers, hence strings in JSON. */
  ringHashLbConfig?: { minimumRingSize?: string; maximumRingSize?: string; hashFunction?: 'XX_HASH' | 'MURMUR_HASH_2' };
  maglevLbConfig?: { tableSize?: string };
  /** Keyed by extension name, e.g. HTTP_PROTOCOL_OPTIONS. */
  typedExtensionProtocolOptions?: Record<string, Any>;
  /** Deprecated form of explicitHttpConfig.http2ProtocolOptions (older istiod releases write it). */
  http2ProtocolOptions?: { maxConcurrentStreams?: number };
  /** Deprecated form of useDownstreamProtocolConfig. */
  protocolSelection?: 'USE_CONFIGURED_PROTOCOL' | 'USE_DOWNSTREAM_PROTOCOL';
  upstreamConnectionOptions?: { tcpKeepalive?: { keepaliveProbes?: number; keepaliveTime?: number; keepaliveInterval?: number } };
  /** ORIGINAL_DST clusters: connect to this port instead of the one the caller used. */
  originalDstLbConfig?: { upstreamPortOverride?: number };
  /** STRICT_DNS / LOGICAL_DNS: how often host names are resolved again (Envoy default 5s; istiod writes the mesh's 60s). */
  dnsRefreshRate?: Duration;
  /** Use the records' TTL as the refresh interval (istiod sets it). */
  respectDnsTtl?: boolean;
  dnsLookupFamily?: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
}

export interface LoadBalancingPolicy {
  policies?: { typedExtensionConfig?: { name?: string; typedConfig?: Any } }[];
}

/** Cluster.SlowStartConfig (aggression is a RuntimeDouble, min_weight_percent a Percent). */
export interface SlowStartConfig {
  slowStartWindow?: Duration;
  aggression?: { defaultValue?: number; runtimeKey?: string };
  minWeightPercent?: { value?: number };
}

/** Cluster.outlierDetection in Envoy's field names (uint32 wrappers as bare numbers). */
export interface OutlierDetection {
  consecutive5xx?: number;
  consecutiveGatewayFailure?: number;
  consecutiveLocalOriginFailure?: number;
  interval?: Duration;
  baseEjectionTime?: Duration;
  maxEjectionTime?: Duration;
  maxEjectionPercent?: number;
  enforcingConsecutive5xx?: number;
  enforcingConsecutiveGatewayFailure?: number;
  enforcingConsecutiveLocalOriginFailure?: number;
  enforcingSuccessRate?: number;
  enforcingLocalOriginSuccessRate?: number;
  splitExternalLocalOriginErrors?: boolean;
}

export interface CircuitBreakerThresholds {
  priority?: 'DEFAULT' | 'HIGH';
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
  retryBudget?: { budgetPercent?: { value?: number }; minRetryConcurrency?: number; budgetInterval?: Duration };
  trackRemaining?: boolean;
}

// ---- EDS ------------------------------------------------------------------------------------

export interface ClusterLoadAssignment {
  clusterName: string;
  endpoints?: LocalityLbEndpoints[];
  policy?: { overprovisioningFactor?: number };
}

export interface Locality {
  region?: string;
  zone?: string;
  subZone?: string;
}

export interface LocalityLbEndpoints {
  locality?: Locality;
  lbEndpoints?: LbEndpoint[];
  loadBalancingWeight?: number;
  priority?: number;
}

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpoint {
  endpoint?: { address?: Address; hostname?: string };
  healthStatus?: HealthStatus;
  loadBalancingWeight?: number;
  metadata?: { filterMetadata?: Record<string, Record<string, unknown>> };
}

export interface Address {
  socketAddress?: { address: string; portValue?: number; protocol?: 'TCP' | 'UDP' };
  pipe?: { path: string };
}

/** One complete set of resources, keyed by name, as a control plane would serve it. */
export interface XdsResources {
  listeners: Map<string, Listener>;
  routeConfigs: Map<string, RouteConfiguration>;
  clusters: Map<string, Cluster>;
  endpoints: Map<string, ClusterLoadAssignment>;
}
