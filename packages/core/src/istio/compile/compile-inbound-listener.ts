// A proxyless server's own inbound listener, `xds.istio.io/grpc/lds/inbound/<ip>:<port>`, as
// istiod's grpc generator builds it (pilot/pkg/networking/grpcgen/lds.go buildInboundListeners):
//  - the mTLS mode of the port from PeerAuthentication; PERMISSIVE becomes STRICT when the
//    workload carries `security.istio.io/tlsMode: istio` (its clients then use auto-mTLS), and
//    otherwise DISABLE, because a gRPC server's filter chain match cannot tell TLS from
//    plaintext. STRICT is one chain "inbound-mtls" whose DownstreamTlsContext requires a client
//    certificate from certificate provider instance "default"; DISABLE is one chain
//    "inbound-plaintext";
//  - the chain's HttpConnectionManager: an inline RouteConfiguration "inbound" (every path, a
//    NonForwardingAction), then the RBAC filters of the AuthorizationPolicies selecting the
//    workload ("envoy.filters.http.rbac.DENY", then "envoy.filters.http.rbac"), then the router.
//  - Beyond grpcgen: the RequestAuthentication policies of the workload as the jwt_authn filter
//    istiod's sidecar generator writes, first in the chain and marked optional, so a gRPC
//    server that does not know it (grpc-js-xds) still accepts the listener.
// istiod answers only for ports where a Service selects the workload; `meshlet xds` answers for
// any port (docs/istiod-differences.md).

import { meshSettings, selectMeshConfig } from '../mesh-config.ts';
import { migrateTrustDomain } from '../../security/trust-domain.ts';
import { applicablePolicies } from '../../security/authorization-policy.ts';
import { mtlsModeForPort, peerAuthenticationFor } from '../../security/peer-authentication.ts';
import { compileRbacFilters } from '../../security/rbac-compile.ts';
import { DOWNSTREAM_TLS_CONTEXT, TLS_TRANSPORT_SOCKET } from '../../security/cluster-tls.ts';
import { TYPE_URL, type Listener } from '../../xds/resources.ts';
import { istioCommonTlsContext } from './clusters/compile-cluster-tls.ts';
import type { ClientIdentity } from './common/compile-context.ts';
import type { AuthorizationPolicy, MeshObject, PeerAuthentication, RequestAuthentication } from '../types.ts';
import { applicableRequestAuthentications, compileJwtAuthn } from '../../security/jwt/jwt-config.ts';
import { jwtAuthnFilterConfig } from '../../security/jwt/jwt-filter.ts';

export const SERVER_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

const ROUTER = { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

/** `<host>:<port>` of a server listener name, or undefined when the name is not one. */
export function serverListenerAddress(name: string): { host: string; port: number } | undefined {
  if (!name.startsWith(SERVER_LISTENER_PREFIX)) return undefined;
  const address = name.slice(SERVER_LISTENER_PREFIX.length);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2]!, port } : undefined;
}

/** The inbound listener named `name` for the workload `client`, or undefined when the name is not a server listener's. */
export function compileInboundListener(name: string, objects: readonly MeshObject[], client: ClientIdentity): Listener | undefined {
  const address = serverListenerAddress(name);
  if (!address) return undefined;
  const workload = { namespace: client.namespace, labels: client.labels };
  // The MeshConfig among the objects names the root namespace and the trust domains principals expand to.
  const mesh = meshSettings(selectMeshConfig(objects).inForce?.spec, { rootNamespace: client.rootNamespace });
  const rootNamespace = mesh.rootNamespace;
  const peer = peerAuthenticationFor(objects.filter((o): o is PeerAuthentication => o.kind === 'PeerAuthentication'), workload, rootNamespace);
  let mode = mtlsModeForPort(peer, address.port);
  if (mode === 'PERMISSIVE') mode = client.labels['security.istio.io/tlsMode'] === 'istio' ? 'STRICT' : 'DISABLE';
  const authz = migrateTrustDomain(applicablePolicies(objects.filter((o): o is AuthorizationPolicy => o.kind === 'AuthorizationPolicy'), workload, rootNamespace), mesh);
  const jwt = compileJwtAuthn(applicableRequestAuthentications(objects.filter((o): o is RequestAuthentication => o.kind === 'RequestAuthentication'), workload, rootNamespace));
  const jwtFilter = jwt ? [{ name: 'envoy.filters.http.jwt_authn', typedConfig: jwtAuthnFilterConfig(jwt), isOptional: true }] : [];
  const rbac = compileRbacFilters(authz).map((typedConfig) => ({
    name: typedConfig.rules.action === 'DENY' ? 'envoy.filters.http.rbac.DENY' : 'envoy.filters.http.rbac',
    typedConfig,
  }));
  const suffix = mode === 'STRICT' ? 'mtls' : 'plaintext';
  const chain: Record<string, unknown> = {
    name: `inbound-${suffix}`,
    filters: [{
      name: `inbound-hcm${suffix}`,
      typedConfig: {
        '@type': TYPE_URL.HttpConnectionManager,
        routeConfig: {
          name: 'inbound',
          virtualHosts: [{ domains: ['*'], routes: [{ match: { prefix: '/' }, nonForwardingAction: {} }] }],
        },
        httpFilters: [...jwtFilter, ...rbac, ROUTER],
      },
    }],
  };
  if (mode === 'STRICT') {
    chain['transportSocket'] = {
      name: TLS_TRANSPORT_SOCKET,
      typedConfig: {
        '@type': DOWNSTREAM_TLS_CONTEXT,
        // No SAN list: grpcgen checks callers' identities with RBAC, not in the handshake.
        commonTlsContext: istioCommonTlsContext([]),
        requireClientCertificate: true,
      },
    };
  }
  return {
    name,
    address: { socketAddress: { address: address.host, portValue: address.port } },
    filterChains: [chain],
  } as Listener;
}
