// @meshlet/core: config in (Istio CRD files, xDS), an immutable snapshot and per-request
// decisions out. The HTTP and gRPC adapters build on what is exported here.

export { createMesh, type MeshOptions } from './create-mesh.ts';
export { Mesh, type ClientIdentity, type ConfigDump, type ExplainRequest } from './mesh.ts';
export type { Explanation } from './explain.ts';
export * from './errors.ts';
export type { Logger } from './logger.ts';
export { defaultLogger, silentLogger } from './logger.ts';
export { requestView, type RequestView, type HeaderRecord } from './router/request-view.ts';
export type { Decision, ForwardDecision } from './router/decide.ts';
export { routeLabel } from './router/decide.ts';
export { rewritePath } from './router/rewrite.ts';
export { applyHeaderMutations, type MutableHeaders } from './router/header-mutations.ts';
export type { FaultDraw } from './router/fault.ts';
export { isRetriable, backoffMs, type RetryPolicy } from './resilience/retry-policy.ts';
export { classifyError, isSuccess, type Outcome } from './resilience/outcome.ts';
export type { MeshSnapshot, ClusterConfig, CompiledRoute, ForwardAction, WeightedClusterConfig, RedirectActionConfig } from './snapshot/mesh-snapshot.ts';
export { EndpointState } from './snapshot/endpoint-state.ts';
export type * from './xds/resources.ts';
export { TYPE_URL, FILTER_NAME } from './xds/resources.ts';
export { resolveIdentity, type IdentityOptions } from './identity.ts';
