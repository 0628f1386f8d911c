// @meshlet/core: config in (Istio CRD files, xDS), an immutable snapshot and per-request
// decisions out. The HTTP and gRPC adapters build on what is exported here.

export { createMesh, type MeshOptions } from './create-mesh.ts';
export { MeshTelemetry, type TelemetryOptions, type RequestTrace, type AttemptTrace, type RequestInfo } from './telemetry/mesh-telemetry.ts';
export { createAdminHandler, type AdminHandler } from './admin/admin-handler.ts';
export { decisionAttributes, subsetOf } from './telemetry/decision-attributes.ts';
export { Mesh, type MeshMode, type MeshRuntimeOptions, type ClientIdentity, type ConfigDump, type ExplainRequest } from './mesh.ts';
export type { Explanation } from './explain.ts';
export * from './errors.ts';
export type { Logger } from './logger.ts';
export { defaultLogger, silentLogger } from './logger.ts';
export { requestView, type RequestView, type HeaderRecord } from './router/request-view.ts';
export type { Decision, ForwardDecision } from './router/decide.ts';
export { routeLabel } from './router/decide.ts';
export { rewritePath } from './router/rewrite.ts';
export { compileHashPolicy, setCookieHeader, cookieValue, type RequestHasher, type RequestHash, type HashCookie } from './router/hash-policy.ts';
export { xxHash64 } from './lb/xxhash64.ts';
export { applyHeaderMutations, type MutableHeaders } from './router/header-mutations.ts';
export type { FaultDraw } from './router/fault.ts';
export { isRetriable, backoffMs, type RetryPolicy } from './resilience/retry-policy.ts';
export { classifyError, isSuccess, type Outcome } from './resilience/outcome.ts';
export type { MeshSnapshot, ClusterConfig, CompiledRoute, ForwardAction, WeightedClusterConfig, RedirectActionConfig } from './snapshot/mesh-snapshot.ts';
export { EndpointState } from './snapshot/endpoint-state.ts';
export { ClusterRuntime, RequestGrant, type ClusterStats, type ClusterRuntimeConfig } from './snapshot/cluster-runtime.ts';
export type { ClusterLimits } from './resilience/cluster-limits.ts';
export type { OutlierConfig } from './resilience/outlier-config.ts';
export type { BreakerOptions } from './resilience/error-rate-breaker.ts';
export { effectiveStatus } from './resilience/outcome.ts';
export type * from './xds/resources.ts';
export { TYPE_URL, FILTER_NAME } from './xds/resources.ts';
export { resolveIdentity, type IdentityOptions } from './identity.ts';
export type { ServiceDemand } from './mesh.ts';
export { loadBootstrap, parseBootstrap, type Bootstrap } from './xds/bootstrap.ts';
export type { XdsStatusDump, XdsResourceStatus } from './xds/xds-status.ts';
export type { XdsSourceOptions } from './xds/xds-config-source.ts';
export { XdsServer, type XdsServerOptions } from './xds-server/ads-server.ts';
// Mesh TLS and workload identity (client and server side).
export { CertificateError, PeerIdentityError } from './security/tls-errors.ts';
export { spiffeId, parseSpiffeId, principalOf, spiffeIdOf, uriSans, dnsSans, SPIFFE_SCHEME, type SpiffeParts } from './security/spiffe.ts';
export { ISTIO_CERT_FILES, istioCertPaths, readCertFiles, type CertFilePaths, type CertMaterial } from './security/cert-files.ts';
export { CertWatcher, type VersionedMaterial } from './security/cert-watch.ts';
export type { ClusterTls, PemSource, SanMatcher } from './security/cluster-tls.ts';
export { TlsCredentials, type ResolvedTls, type CertificateProviderConfig } from './security/tls-credentials.ts';
export { certificateProvidersFromBootstrap } from './security/bootstrap-certificate-providers.ts';
export { SecurityPolicies } from './security/security-policies.ts';
export { peerAuthenticationFor, mtlsModeForPort, type MtlsMode, type MtlsPolicy, type Workload } from './security/peer-authentication.ts';
export { authorize, applicablePolicies, type AuthzRequest, type AuthzDecision } from './security/authorization-policy.ts';
export { issueDevCertificates, type DevCertOptions } from './security/dev-certs.ts';
