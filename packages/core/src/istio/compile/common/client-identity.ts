// Who the compiled config is for. Kept apart from compile-context.ts so the Sidecar scope, which
// the context carries, can name the client without importing the context.

/** The workload the compiled config is for: istiod compiles per proxy, and so do we. */
export interface ClientIdentity {
  namespace: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  /** DNS suffix of Kubernetes services, normally 'cluster.local'. */
  clusterDomain: string;
  /** Istio's config root namespace, normally 'istio-system'. */
  rootNamespace: string;
  /** The client's own locality, 'region/zone/subzone', for locality failover. */
  locality?: string | undefined;
  /**
   * A gRPC library's xDS client (gRFC A27 and later): it has no ORIGINAL_DST clusters, so a
   * PASSTHROUGH load balancer is compiled as istiod's grpc generator leaves it, round robin
   * over the service's endpoints. Meshlet's own client and the embedded mode leave it unset.
   */
  grpcOnly?: boolean | undefined;
  /**
   * Which of istiod's generators the client asked for (node metadata GENERATOR): 'grpc', or
   * 'sidecar' when absent (istiod's default: an Envoy sidecar's config). `meshlet xds` serves
   * the sidecar form from the same compile (xds-server/sidecar-form.ts).
   */
  generator?: 'grpc' | 'sidecar' | undefined;
}
