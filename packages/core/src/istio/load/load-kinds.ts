// Which Kubernetes kinds Meshlet reads, and under which API versions: Istio's CRDs here, the
// Kubernetes registry's kinds (Service, EndpointSlice, Pod, ...) in ../../kube/kube-kinds.ts.
// Everything else in a config directory (Gateways, TCPRoutes, ...) is skipped with a warning:
// Meshlet runs inside the client, so gateway resources do not apply to it. Workload controllers
// (Deployments, ...) are skipped with one note per kind. MeshConfig is not a kind: it is
// recognised by ./load-mesh-config.ts.

import type { IstioConfigObject, MeshObject } from '../types.ts';
import { isKubeKind, KUBE_KINDS, notReadReason } from '../../kube/kube-kinds.ts';
import { AUTHORIZATION_POLICY_KIND } from '../validate/validate-authorization-policy.ts';
import { GRPC_ROUTE_KIND, HTTP_ROUTE_KIND } from '../validate/validate-gateway-api.ts';
import { REQUEST_AUTHENTICATION_KIND } from '../validate/validate-request-authentication.ts';
import { TELEMETRY_KIND } from '../validate/validate-telemetry.ts';

export const HANDLED_KINDS: Readonly<Record<Exclude<IstioConfigObject['kind'], 'MeshConfig'>, { group: string; versions: readonly string[] }>> = {
  VirtualService: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  DestinationRule: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  ServiceEntry: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  WorkloadEntry: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] },
  PeerAuthentication: { group: 'security.istio.io', versions: ['v1', 'v1beta1'] },
  AuthorizationPolicy: AUTHORIZATION_POLICY_KIND,
  // JWT for the server helpers (security/jwt/).
  RequestAuthentication: REQUEST_AUTHENTICATION_KIND,
  // Tracing and metric settings for the client's OpenTelemetry instruments.
  Telemetry: TELEMETRY_KIND,
  // Gateway API routes for the mesh (GAMMA): parentRefs naming a Service or ServiceEntry.
  HTTPRoute: HTTP_ROUTE_KIND,
  GRPCRoute: GRPC_ROUTE_KIND,
  // The workload's own proxy settings: egress scope and outbound policy for the client, ingress
  // and inbound connection pools for the server helpers.
  Sidecar: { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] },
};

export type KindVerdict =
  | { handled: true; kind: Exclude<MeshObject['kind'], 'MeshConfig'> }
  /** A kind Meshlet does not read: skip it with a warning (`reason`: said once per kind). */
  | { handled: false; known: false; reason?: string }
  /** One of Meshlet's kinds under a version the CRD does not serve: an error, the user meant it. */
  | { handled: false; known: true; message: string };

export function classifyKind(apiVersion: string, kind: string): KindVerdict {
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const entry = Object.hasOwn(HANDLED_KINDS, kind) ? HANDLED_KINDS[kind as keyof typeof HANDLED_KINDS] : isKubeKind(kind) ? KUBE_KINDS[kind] : undefined;
  if (!entry || entry.group !== group) {
    const reason = notReadReason(group, kind);
    return reason ? { handled: false, known: false, reason } : { handled: false, known: false };
  }
  if (!entry.versions.includes(version)) {
    return {
      handled: false,
      known: true,
      message: `apiVersion ${apiVersion} is not served for ${kind}; use ${entry.versions.map((v) => (group ? `${group}/${v}` : v)).join(', ')}`,
    };
  }
  return { handled: true, kind: kind as Exclude<MeshObject['kind'], 'MeshConfig'> };
}
