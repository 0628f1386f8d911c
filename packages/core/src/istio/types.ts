// The Istio CRDs Meshlet reads, as their YAML spells them (networking.istio.io v1, v1beta1 and
// v1alpha3 share one schema; security.istio.io for PeerAuthentication). Only the shape is
// described here; what each field means is decided in the compiler, and what is allowed in
// the validators.

import type { GatewayGRPCRoute, GatewayHTTPRoute } from './gateway-api-types.ts';
import type { IstioObject } from './object-meta.ts';
import type { KubeObject } from '../kube/kube-types.ts';

export type { IstioObject, ObjectMeta, SourceRef } from './object-meta.ts';

export type VirtualService = IstioObject<'VirtualService', VirtualServiceSpec>;
export type DestinationRule = IstioObject<'DestinationRule', DestinationRuleSpec>;
export type ServiceEntry = IstioObject<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntry = IstioObject<'WorkloadEntry', WorkloadEntrySpec>;
export type PeerAuthentication = IstioObject<'PeerAuthentication', PeerAuthenticationSpec>;
export type AuthorizationPolicy = IstioObject<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type RequestAuthentication = IstioObject<'RequestAuthentication', RequestAuthenticationSpec>;
export type Telemetry = IstioObject<'Telemetry', TelemetrySpec>;
export type Sidecar = IstioObject<'Sidecar', SidecarSpec>;
/**
 * Istio's MeshConfig (the `mesh` key of the `istio` ConfigMap, or the document itself): not a
 * Kubernetes kind, but carried like one so it is loaded, kept last-good and reported the same
 * way. Its metadata names the ConfigMap it came from (a bare document: istio-system/istio).
 */
export type MeshConfigObject = IstioObject<'MeshConfig', MeshConfigSpec>;
/** Gateway API routes for the mesh (GAMMA), compiled as VirtualServices: ./gateway-api-types.ts. */
export type IstioConfigObject =
  | VirtualService | DestinationRule | ServiceEntry | WorkloadEntry | PeerAuthentication | AuthorizationPolicy
  | RequestAuthentication | Telemetry | GatewayHTTPRoute | GatewayGRPCRoute | Sidecar | MeshConfigObject;
/** Everything a config folder holds that Meshlet reads: Istio's kinds and Kubernetes' (../kube/kube-types.ts). */
export type MeshObject = IstioConfigObject | KubeObject;

// ---- VirtualService -------------------------------------------------------------------------

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: unknown[];
  tls?: unknown[];
  exportTo?: string[];
}

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  queryParams?: Record<string, StringMatch>;
  ignoreUriCase?: boolean;
  withoutHeaders?: Record<string, StringMatch>;
  sourceNamespace?: string;
  statPrefix?: string;
}

export interface PortSelector {
  number?: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match?: string; rewrite?: string };
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  backoff?: string;
}

export interface Percent {
  value?: number;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; exponentialDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; http2Error?: string; percentage?: Percent };
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  redirectCode?: number;
}

export interface HTTPDirectResponse {
  status: number;
  body?: { string?: string; bytes?: string };
}

export interface HTTPMirrorPolicy {
  destination: Destination;
  percentage?: Percent;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  delegate?: { name?: string; namespace?: string };
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrors?: HTTPMirrorPolicy[];
  mirrorPercentage?: Percent;
  corsPolicy?: unknown;
  headers?: Headers;
}

// ---- DestinationRule ------------------------------------------------------------------------

export type SimpleLB = 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';

export interface LoadBalancerSettings {
  simple?: SimpleLB;
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttl?: string; attributes?: { name: string; value?: string }[] };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
  localityLbSetting?: LocalityLoadBalancerSetting;
  warmupDurationSecs?: string;
  warmup?: { duration?: string; minimumPercent?: number; aggression?: number };
}

/** Also MeshConfig.localityLbSetting, the mesh-wide default. */
export interface LocalityLoadBalancerSetting {
  distribute?: { from?: string; to?: Record<string, number> }[];
  failover?: { from?: string; to?: string }[];
  failoverPriority?: string[];
  enabled?: boolean;
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: string;
    tcpKeepalive?: { probes?: number; time?: string; interval?: string };
    maxConnectionDuration?: string;
    idleTimeout?: string;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    useClientProtocol?: boolean;
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailures?: number;
  consecutiveGatewayErrors?: number;
  consecutive5xxErrors?: number;
  consecutiveErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export interface ClientTLSSettings {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  portLevelSettings?: (Omit<TrafficPolicy, 'portLevelSettings'> & { port?: PortSelector })[];
  tunnel?: unknown;
  proxyProtocol?: unknown;
  retryBudget?: { percent?: number; minRetryConcurrency?: number };
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: { matchLabels?: Record<string, string> };
}

// ---- ServiceEntry / WorkloadEntry -----------------------------------------------------------

export interface ServicePort {
  number: number;
  protocol?: string;
  name: string;
  targetPort?: number;
}

export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: ServicePort[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}

// ---- PeerAuthentication ---------------------------------------------------------------------

export type PeerMtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: PeerMtlsMode };
  portLevelMtls?: Record<string, { mode?: PeerMtlsMode }>;
}

// ---- AuthorizationPolicy (security.istio.io) ------------------------------------------------

export interface AuthorizationPolicySpec {
  selector?: { matchLabels?: Record<string, string> };
  action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  provider?: { name?: string };
  rules?: AuthorizationRule[];
  targetRef?: unknown;
  targetRefs?: unknown[];
}

export interface AuthorizationRule {
  from?: { source?: AuthorizationSource }[];
  to?: { operation?: AuthorizationOperation }[];
  when?: AuthorizationCondition[];
}

export interface AuthorizationSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  /** The peer's SPIFFE trust domain (`spiffe://<trust domain>/...`). */
  trustDomains?: string[];
  notTrustDomains?: string[];
}

export interface AuthorizationOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface AuthorizationCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

// ---- RequestAuthentication (security.istio.io) ----------------------------------------------

export interface RequestAuthenticationSpec {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: unknown;
  targetRefs?: unknown[];
  jwtRules?: JwtRule[];
}

export interface JwtRule {
  issuer?: string;
  audiences?: string[];
  jwksUri?: string;
  /** The CRD also accepts the proto's snake_case name. */
  jwks_uri?: string;
  jwks?: string;
  fromHeaders?: { name: string; prefix?: string }[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  forwardOriginalToken?: boolean;
  outputClaimToHeaders?: { header: string; claim: string }[];
  spaceDelimitedClaims?: string[];
  timeout?: string;
  presence?: 'OPTIONAL' | 'REQUIRED';
}

// ---- Telemetry (telemetry.istio.io) ---------------------------------------------------------

export type WorkloadMode = 'CLIENT_AND_SERVER' | 'CLIENT' | 'SERVER';

export interface TelemetrySpec {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: unknown;
  targetRefs?: unknown[];
  tracing?: TelemetryTracing[];
  metrics?: TelemetryMetrics[];
  accessLogging?: unknown[];
}

export interface TelemetryTracing {
  match?: { mode?: WorkloadMode };
  providers?: { name: string }[];
  randomSamplingPercentage?: number;
  disableSpanReporting?: boolean;
  customTags?: Record<string, TelemetryCustomTag>;
  useRequestIdForTraceSampling?: boolean;
  enableIstioTags?: boolean;
  disableContextPropagation?: boolean;
}

export interface TelemetryCustomTag {
  literal?: { value: string };
  environment?: { name: string; defaultValue?: string };
  header?: { name: string; defaultValue?: string };
  formatter?: { value: string };
}

export interface TelemetryMetrics {
  providers?: { name: string }[];
  overrides?: TelemetryMetricsOverride[];
  reportingInterval?: string;
}

export interface TelemetryMetricsOverride {
  match?: { metric?: string; customMetric?: string; mode?: WorkloadMode };
  disabled?: boolean;
  tagOverrides?: Record<string, { operation?: 'UPSERT' | 'REMOVE'; value?: string }>;
}

// ---- Sidecar --------------------------------------------------------------------------------

export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: IstioIngressListener[];
  egress?: IstioEgressListener[];
  inboundConnectionPool?: ConnectionPoolSettings;
  outboundTrafficPolicy?: OutboundTrafficPolicy;
}

export interface SidecarPort {
  number?: number;
  protocol?: string;
  name?: string;
  targetPort?: number;
}

export type CaptureMode = 'DEFAULT' | 'IPTABLES' | 'NONE';

export interface IstioIngressListener {
  port?: SidecarPort;
  bind?: string;
  captureMode?: CaptureMode;
  defaultEndpoint?: string;
  tls?: {
    mode?: string;
    serverCertificate?: string;
    privateKey?: string;
    caCertificates?: string;
    credentialName?: string;
    credentialNames?: string[];
    tlsCertificates?: unknown[];
    subjectAltNames?: string[];
    httpsRedirect?: boolean;
    minProtocolVersion?: string;
    maxProtocolVersion?: string;
    cipherSuites?: string[];
  };
  connectionPool?: ConnectionPoolSettings;
}

export interface IstioEgressListener {
  port?: SidecarPort;
  bind?: string;
  captureMode?: CaptureMode;
  hosts?: string[];
}

export interface OutboundTrafficPolicy {
  mode?: 'REGISTRY_ONLY' | 'ALLOW_ANY';
  egressProxy?: Destination;
}

// ---- MeshConfig (istio.mesh.v1alpha1) --------------------------------------------------------

/**
 * The MeshConfig fields Meshlet reads (others are kept as they came, to be named in one
 * warning). Durations are strings as in YAML; enums their names.
 */
export interface MeshConfigSpec {
  outboundTrafficPolicy?: { mode?: 'REGISTRY_ONLY' | 'ALLOW_ANY' | 'ALLOW_ANY_DYNAMIC_DNS'; tls?: unknown };
  defaultHttpRetryPolicy?: HTTPRetry;
  connectTimeout?: string;
  localityLbSetting?: LocalityLoadBalancerSetting;
  trustDomain?: string;
  trustDomainAliases?: string[];
  pathNormalization?: { normalization?: 'DEFAULT' | 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES' };
  enableAutoMtls?: boolean;
  defaultServiceExportTo?: string[];
  defaultVirtualServiceExportTo?: string[];
  defaultDestinationRuleExportTo?: string[];
  rootNamespace?: string;
  dnsRefreshRate?: string;
  h2UpgradePolicy?: 'DO_NOT_UPGRADE' | 'UPGRADE';
  defaultConfig?: { holdApplicationUntilProxyStarts?: boolean; [field: string]: unknown };
  [field: string]: unknown;
}
