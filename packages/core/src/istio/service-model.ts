// The service registry's model, which both registries produce — ServiceEntries and WorkloadEntries
// (compile/clusters/compile-services.ts) and Kubernetes Services with their EndpointSlices and Pods
// (../kube/) — and the compiler reads: istiod's model.Service and model.IstioEndpoint, reduced to
// what a client needs.

import type { MeshObject, ServiceEntry, ServicePort } from './types.ts';

export type Resolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';

/** A field path inside an object, e.g. ['spec', 'endpoints', 0]. */
export type ObjectPath = readonly (string | number)[];

export interface MeshEndpoint {
  /** IP, DNS name, or `unix://path`. */
  address: string;
  /** Port per service-port name (WorkloadEntry/endpoint `ports`, EndpointSlice `ports`). */
  ports: Record<string, number>;
  /**
   * The endpoint serves only the service ports named in `ports` (an EndpointSlice lists the
   * ports it serves); otherwise an unnamed port falls back to targetPort, then the port itself.
   */
  exactPorts?: boolean;
  labels: Record<string, string>;
  /** `region/zone/subzone`, possibly empty. */
  locality: string;
  /** The endpoint's network (WorkloadEntry `network`, a pod's topology.istio.io/network), for failoverPriority. */
  network?: string;
  weight?: number;
  serviceAccount?: string;
  /** Workload name as istiod reports it in telemetry metadata. */
  workloadName: string;
  namespace: string;
  /** 'istio' when the endpoint takes Istio mTLS (label, or a service account), else 'disabled'. */
  tlsMode: string;
  /** EDS health when not HEALTHY: a not-ready pod, or a draining one of a persistent-session service. */
  healthStatus?: 'UNHEALTHY' | 'DRAINING';
  /** Where the endpoint was declared, for problems. */
  origin: MeshObject;
  path: ObjectPath;
}

export interface MeshService {
  hostname: string;
  /** Namespace of the objects that declare it (destination-rule lookup step 2). */
  namespace: string;
  ports: ServicePort[];
  resolution: Resolution;
  location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  /** First `addresses` entry, or 0.0.0.0 as istiod writes for a service without a VIP. */
  address: string;
  /** ServiceEntry `addresses`, or a Kubernetes Service's cluster IPs. */
  addresses: string[];
  endpoints: MeshEndpoint[];
  /** istiod's ServiceRegistry provider: a Kubernetes Service wins over a ServiceEntry for its host. */
  registry: 'Kubernetes' | 'External';
  /** The declaring object (the Service, or the oldest ServiceEntry): orders services, names problems. */
  origin: MeshObject;
  /** Declaring ServiceEntries, oldest first; the first decides resolution and location. Empty for a Kubernetes Service. */
  entries: ServiceEntry[];
  /** Identities declared for the service itself: ServiceEntry subjectAltNames, a Service's service-account annotations. */
  subjectAltNames: string[];
  /** Hosts that are aliases of this one: Kubernetes ExternalName Services naming it (istiod's Attributes.Aliases). */
  aliases: string[];
}

/**
 * The port an endpoint serves a service port on — istiod's order: a unix socket has none,
 * then the endpoint's own port for that port name, then `targetPort`, then the port itself.
 */
export function endpointPort(ep: MeshEndpoint, port: ServicePort): number {
  if (ep.address.startsWith('unix://')) return 0;
  const own = ep.ports[port.name];
  if (own !== undefined && own > 0) return own;
  if (port.targetPort !== undefined && port.targetPort > 0) return port.targetPort;
  return port.number;
}

/** Does the endpoint serve this service port at all? Only Kubernetes endpoints say they do not. */
export function servesPort(ep: MeshEndpoint, port: ServicePort): boolean {
  return !ep.exactPorts || (ep.ports[port.name] ?? 0) > 0;
}

// Protocol names istiod recognises as something other than HTTP (protocol.Parse); any other
// name, or none, is "unsupported" and gets sniffed, i.e. HTTP routes still apply.
const NON_HTTP_PROTOCOLS = new Set(['tcp', 'udp', 'https', 'tls', 'mongo', 'redis', 'mysql']);

/** Is the port declared HTTP (protocol.IsHTTP: HTTP, HTTP2, HTTP_PROXY, GRPC, GRPC-Web; not sniffed)? */
export function isHttpPort(port: ServicePort): boolean {
  return HTTP_PROTOCOLS.has((port.protocol ?? '').toLowerCase());
}
const HTTP_PROTOCOLS = new Set(['http', 'http2', 'http_proxy', 'grpc', 'grpc-web']);

/** Is the port declared HTTP/2 (protocol.IsHTTP2: HTTP2, GRPC, GRPC-Web)? */
export function isHttp2Port(port: ServicePort): boolean {
  return HTTP2_PROTOCOLS.has((port.protocol ?? '').toLowerCase());
}
const HTTP2_PROTOCOLS = new Set(['http2', 'grpc', 'grpc-web']);

/** Does Istio build HTTP routes for this port (protocol.IsHTTPOrSniffed)? */
export function isHttpOrSniffed(port: ServicePort): boolean {
  return !NON_HTTP_PROTOCOLS.has((port.protocol ?? '').toLowerCase());
}
