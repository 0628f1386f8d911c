// @meshlet/core/adapter: the request-time pieces the adapters (@meshlet/http) call, and nothing
// else. `import('@meshlet/core')` loads every export — config loading, the xDS server, admin,
// JWT and RBAC compilation — which an adapter never calls itself (the application's
// createMesh() loads what its mode needs). Importing from here, an adapter's own import loads
// only the router, the load balancers, the retry policy and the error classes (the same
// modules the main entry exports, so classes and instanceof are the same objects).
// Types come from '@meshlet/core' (`import type` loads nothing).

export * from './errors.ts';
export { CertificateError, PeerIdentityError } from './security/tls-errors.ts';
export { dnsSans, uriSans, spiffeIdOf } from './security/spiffe.ts';
export { endpointTransport } from './snapshot/endpoint-tls.ts';
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
