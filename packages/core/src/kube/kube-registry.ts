// The Kubernetes service registry: Services, their EndpointSlices (or Endpoints) and the Pods,
// Nodes and Namespaces behind them in; services with their endpoints out, in the same model
// ServiceEntries produce (../istio/service-model.ts), so subsets, auto-mTLS, locality,
// PeerAuthentication and DestinationRule/VirtualService hosts work on pods as on WorkloadEntries.
//
// A pure function of the objects: the same call serves a folder of YAML and, re-run on every
// change, a live watch of the API server. What one client sees of it (exportTo, the precedence of
// a Kubernetes Service over a ServiceEntry for its host) is decided by the compiler
// (../istio/compile/clusters/compile-services.ts).

import type { MeshService } from '../istio/service-model.ts';
import type { MeshObject } from '../istio/types.ts';
import { indexEndpointSources, serviceEndpoints, type ProblemSink } from './kube-endpoints.ts';
import { DEFAULT_CLUSTER_ID, PodIndex } from './kube-pods.ts';
import { convertService, isAlias, serviceExportTo, serviceHostname } from './kube-services.ts';
import type { KubeEndpoints, KubeEndpointSlice, KubeNamespace, KubeNode, KubePod, KubeService } from './kube-types.ts';

export interface KubeRegistryOptions {
  /** DNS suffix of Services, normally 'cluster.local'. */
  clusterDomain: string;
  /** SPIFFE trust domain of pod identities (Meshlet uses the cluster domain, as istiod does by default). */
  trustDomain: string;
  /** Istio's root namespace: its `topology.istio.io/network` label is the default network. */
  rootNamespace: string;
  /** istiod's cluster ID, written as the topology.istio.io/cluster label (default 'Kubernetes'). */
  clusterId?: string;
}

export interface KubeRegistryService {
  service: MeshService;
  /** The Service's networking.istio.io/exportTo annotation; undefined: every namespace. */
  exportTo: string[] | undefined;
}

/** An ExternalName Service: its host is an alias of `target`'s. */
export interface KubeAlias {
  hostname: string;
  namespace: string;
  target: string;
  origin: KubeService;
  exportTo: string[] | undefined;
}

export interface KubeRegistry {
  services: KubeRegistryService[];
  aliases: KubeAlias[];
}

export function buildKubeRegistry(objects: readonly MeshObject[], opts: KubeRegistryOptions, problems: ProblemSink): KubeRegistry {
  const services: KubeService[] = [];
  const slices: KubeEndpointSlice[] = [];
  const endpoints: KubeEndpoints[] = [];
  const pods: KubePod[] = [];
  const nodes: KubeNode[] = [];
  const namespaces: KubeNamespace[] = [];
  for (const o of objects) {
    switch (o.kind) {
      case 'Service': services.push(o); break;
      case 'EndpointSlice': slices.push(o); break;
      case 'Endpoints': endpoints.push(o); break;
      case 'Pod': pods.push(o); break;
      case 'Node': nodes.push(o); break;
      case 'Namespace': namespaces.push(o); break;
      default: break;
    }
  }
  const out: KubeRegistry = { services: [], aliases: [] };
  if (services.length === 0) return out;
  const podIndex = new PodIndex(pods, nodes, namespaces, opts.rootNamespace, opts.clusterId ?? DEFAULT_CLUSTER_ID);
  const sources = indexEndpointSources(slices, endpoints);
  for (const svc of services) {
    const exportTo = serviceExportTo(svc);
    if (isAlias(svc)) {
      const target = (svc.spec.externalName as string).toLowerCase().replace(/\.$/, '');
      out.aliases.push({ hostname: serviceHostname(svc.metadata.name, svc.metadata.namespace, opts.clusterDomain), namespace: svc.metadata.namespace, target, origin: svc, exportTo });
      continue;
    }
    const service = convertService(svc, opts.clusterDomain, opts.trustDomain) as MeshService;
    service.endpoints = serviceEndpoints(svc, sources, podIndex, problems);
    out.services.push({ service, exportTo });
  }
  return out;
}
