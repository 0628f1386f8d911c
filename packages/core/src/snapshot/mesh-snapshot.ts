// The immutable view the data path reads. The config plane builds a new MeshSnapshot from a
// complete, validated set of xDS resources and swaps it in whole; a request reads one snapshot
// from start to finish, so it never sees half-applied config (the grpc-js picker pattern).
//
// Runtime counters (active requests per endpoint, ejection state) are not config: they live in
// EndpointState objects that outlive snapshots and are shared by every snapshot that still
// names the endpoint.

import type { XdsResources } from '../xds/resources.ts';
import type { RouteMatcher } from '../router/route-match.ts';
import type { FaultConfig } from '../router/fault.ts';
import type { HeaderMutations } from '../router/header-mutations.ts';
import type { PathRewrite, RedirectActionConfig } from '../router/rewrite.ts';
import type { RetryPolicy } from '../resilience/retry-policy.ts';
import type { LbKind, LoadBalancer } from '../lb/load-balancer.ts';
import type { EndpointState } from '../lb/endpoint-state.ts';
import type { ClusterTls, EndpointTransport, TlsMatch } from '../security/cluster-tls.ts';
import type { ClusterRuntime } from './cluster-runtime.ts';
import type { ClusterLimits } from '../resilience/cluster-limits.ts';
import type { OutlierConfig } from '../resilience/outlier-config.ts';
import type { ConnectionSettings } from './translate-cluster.ts';
import type { RequestHasher } from '../router/hash-policy.ts';

export interface MeshSnapshot {
  /** Increases by one with every snapshot a mesh publishes. */
  readonly version: number;
  /** Services by listener name `<fqdn>:<port>`. */
  readonly services: ReadonlyMap<string, ServiceRoutes>;
  /** Services whose host is a wildcard (`*.foo.com`), longest suffix first. */
  readonly wildcardServices: readonly WildcardService[];
  /** Services by an address they answer to, `<ip>:<port>` (`[<ipv6>]:<port>`): a cluster IP, a ServiceEntry address. */
  readonly addressServices: ReadonlyMap<string, ServiceRoutes>;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  /** The resources this snapshot was built from, for configDump(). */
  readonly resources: XdsResources;
  /**
   * Sidecar profile: per port with an HTTP listener, its whole route table — the route for a
   * host none of its virtual hosts names (its `*` host: allow_any or block_all).
   */
  readonly portRoutes?: ReadonlyMap<number, ServiceRoutes> | undefined;
  /**
   * Where a host:port no listener takes goes (Istio's outbound traffic policy): the sidecar
   * profile's virtualOutbound catch-all, or the embedded compiler's decision. Absent: passthrough.
   */
  readonly outbound?: OutboundPolicy | undefined;
  /** Resources held but not acted on (TCP listeners and filter chains), one line each. */
  readonly notes?: readonly string[] | undefined;
}

/** Istio's outbound traffic policy as a sidecar's catch-all listener (virtualOutbound) carries it. */
export interface OutboundPolicy {
  /** REGISTRY_ONLY: the catch-all is BlackHoleCluster. */
  readonly blocked: boolean;
  readonly listener: string;
  readonly cluster: string;
  /** What set the policy (`Sidecar ns/name`, `MeshConfig file:line`), when known. */
  readonly origin?: string | undefined;
  /** ALLOW_ANY with an egress proxy: the catch-all route table, every host to `cluster`. */
  readonly routes?: ServiceRoutes | undefined;
}

export interface WildcardService {
  /** '.foo.com' for '*.foo.com'. */
  readonly suffix: string;
  readonly port: number;
  readonly service: ServiceRoutes;
}

export interface ServiceRoutes {
  readonly listener: string;
  readonly routeConfig: string;
  readonly virtualHosts: readonly VirtualHostRoutes[];
  /** The service's own hostname when the route table serves many (sidecar profile: one table per port). */
  readonly host?: string | undefined;
  /** The route table matches domains against the Host without its port (ignore_port_in_host_matching). */
  readonly ignorePort?: boolean | undefined;
}

export interface VirtualHostRoutes {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly CompiledRoute[];
}

export interface CompiledRoute {
  readonly name: string;
  /** Index in its virtual host, for explain(). */
  readonly index: number;
  /** The Istio object the route came from, e.g. 'VirtualService default/reviews', when known. */
  readonly origin: string | undefined;
  readonly match: RouteMatcher;
  readonly action: RouteActionConfig;
  readonly requestHeaders: HeaderMutations;
  readonly responseHeaders: HeaderMutations;
  readonly fault: FaultConfig | undefined;
}

export type RouteActionConfig = ForwardAction | RedirectActionConfig | DirectResponseConfig;

export interface ForwardAction {
  readonly kind: 'forward';
  readonly clusters: readonly WeightedClusterConfig[];
  readonly totalWeight: number;
  /** 0 = no route timeout. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy | undefined;
  readonly rewrite: PathRewrite | undefined;
  readonly hostRewrite: string | undefined;
  readonly mirrors: readonly MirrorConfig[];
  /**
   * The route's hash_policy, compiled: call it once per request and pass `hash` to the
   * cluster's pick(); when it returns `setCookie`, add setCookieHeader(setCookie) to the response.
   * Undefined when the route hashes nothing.
   */
  readonly hash?: RequestHasher | undefined;
}

export interface WeightedClusterConfig {
  readonly name: string;
  readonly weight: number;
  readonly requestHeaders: HeaderMutations;
  readonly responseHeaders: HeaderMutations;
}

export interface MirrorConfig {
  readonly cluster: string;
  /** Parts per million of requests mirrored. */
  readonly perMillion: number;
  /** Keep the Host as is; otherwise Envoy's default suffixes it "-shadow" (disable_shadow_host_suffix_append). */
  readonly keepHost: boolean;
}

export interface DirectResponseConfig {
  readonly kind: 'direct';
  readonly status: number;
  readonly body: string;
}

export interface ClusterConfig {
  readonly name: string;
  readonly lbPolicy: LbKind;
  readonly connectTimeoutMs: number;
  /** Requests go to the address the caller asked for (ServiceEntry resolution NONE). */
  readonly originalDst: boolean;
  readonly endpoints: readonly EndpointState[];
  /** Picks among the hosts that may take traffic now (not ejected; priorities; panic). */
  readonly loadBalancer: LoadBalancer;
  readonly limits: ClusterLimits;
  readonly outlier: OutlierConfig | undefined;
  readonly connections: ConnectionSettings;
  /** Counters, ejection state and admission: shared by every snapshot that has this cluster. */
  readonly runtime: ClusterRuntime;
  /** TLS (mTLS) to the endpoints, from the cluster's transport socket; undefined = plaintext. */
  readonly tls: ClusterTls | undefined;
  /** Per-endpoint transport sockets, tried first (endpoint-tls.ts): Istio's auto-mTLS. */
  readonly tlsMatches: readonly TlsMatch[];
  /** `tls` as the transport every endpoint gets when no match applies (built once, handed out per request). */
  readonly ownTransport: EndpointTransport;
}
