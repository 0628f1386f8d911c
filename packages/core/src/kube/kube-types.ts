// The Kubernetes objects Meshlet reads as a service registry, as `kubectl get -o yaml` prints
// them (core v1 Service, Endpoints, Pod, Node, Namespace; discovery.k8s.io/v1 EndpointSlice).
// Only the fields the registry reads are typed; the loader keeps the rest of each object
// unchecked (./kube-schemas.ts), so real cluster output is never rejected for a field Meshlet
// ignores. The same shapes come from files and, later, from the API server's watches.

import type { ObjectMeta, SourceRef } from '../istio/object-meta.ts';

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

/** ObjectMeta plus what the registry reads of a Kubernetes object's own metadata. */
export interface KubeMeta extends ObjectMeta {
  uid?: string;
  generateName?: string;
  ownerReferences?: OwnerReference[];
  /** Set while the object is being deleted (a terminating pod). */
  deletionTimestamp?: string;
}

interface KubeBase<K extends string> {
  apiVersion: string;
  kind: K;
  metadata: KubeMeta;
  source: SourceRef;
}

// ---- Service --------------------------------------------------------------------------------

export interface KubeServicePort {
  name?: string;
  port: number;
  /** A number, or the name of a container port of the selected pods. */
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
  nodePort?: number;
}

export interface KubeServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** 'None' for a headless service. */
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  selector?: Record<string, string>;
  ports?: KubeServicePort[];
  publishNotReadyAddresses?: boolean;
}

export interface KubeService extends KubeBase<'Service'> {
  spec: KubeServiceSpec;
}

// ---- EndpointSlice (discovery.k8s.io/v1) ----------------------------------------------------

export interface ObjectReference {
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: ObjectReference;
}

export interface SlicePort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

export interface KubeEndpointSlice extends KubeBase<'EndpointSlice'> {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: SliceEndpoint[];
  ports?: SlicePort[];
}

// ---- Endpoints (core v1, the older API) -----------------------------------------------------

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: { name?: string; port: number; protocol?: string; appProtocol?: string }[];
}

export interface KubeEndpoints extends KubeBase<'Endpoints'> {
  subsets?: EndpointSubset[];
}

// ---- Pod ------------------------------------------------------------------------------------

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface PodSpec {
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName, still printed by kubectl. */
  serviceAccount?: string;
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  containers?: { name?: string; ports?: ContainerPort[] }[];
  initContainers?: { name?: string; ports?: ContainerPort[]; restartPolicy?: string }[];
}

export interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  conditions?: { type: string; status: string }[];
}

export interface KubePod extends KubeBase<'Pod'> {
  spec: PodSpec;
  status?: PodStatus;
}

// ---- Node, Namespace (cluster-scoped: metadata.namespace is '') ------------------------------

export type KubeNode = KubeBase<'Node'>;
export type KubeNamespace = KubeBase<'Namespace'>;

export type KubeObject = KubeService | KubeEndpointSlice | KubeEndpoints | KubePod | KubeNode | KubeNamespace;
export type KubeKind = KubeObject['kind'];
