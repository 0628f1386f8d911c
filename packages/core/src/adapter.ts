// @meshlet/core/adapter: what the adapters (@meshlet/http) call per request, and nothing else.
// `import('@meshlet/core')` loads every export — config loading, the router, the load
// balancers, the xDS server, admin, JWT and RBAC — none of which an adapter calls itself: it
// gets decisions and cluster runtimes from the Mesh the application made with createMesh(),
// which loads them. Importing from here, an adapter's own import loads the error classes, the
// request view, header and path rewriting, retry policy and outcome classification, and the
// workload certificate watcher. The modules are the ones the main entry exports, so classes and
// instanceof agree whichever entry a caller used. Types come from '@meshlet/core' (`import type`
// loads nothing).

export * from './errors.ts';
export { CertificateError, PeerIdentityError } from './security/tls-errors.ts';
export { dnsSans, uriSans, spiffeIdOf } from './security/spiffe.ts';
export { endpointTransport } from './snapshot/endpoint-tls.ts';
export { connectionsPerEndpoint, http2ConnectionFor, http2ConnectionsPerEndpoint, HTTP2_STREAMS_BEFORE_SPREAD } from './snapshot/endpoint-connections.ts';
export { RequestGrant } from './snapshot/request-grant.ts';
export { EndpointState } from './lb/endpoint-state.ts';
export { requestView } from './router/request-view.ts';
export { routeLabel } from './router/route-label.ts';
export { rewritePath, redirectPath } from './router/rewrite.ts';
export { setCookieHeader } from './router/hash-policy.ts';
export { applyHeaderMutations } from './router/header-mutations.ts';
export { isRetriable, backoffMs } from './resilience/retry-policy.ts';
export { PreviousPriorities } from './resilience/retry-priority.ts';
export { classifyError } from './resilience/outcome.ts';
export { decisionAttributes } from './telemetry/decision-attributes.ts';
export { CertWatcher } from './security/cert-watch.ts';
export { istioCertPaths } from './security/cert-files.ts';
