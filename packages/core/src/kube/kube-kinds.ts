// The Kubernetes kinds the registry reads, under the API versions a cluster serves them at, and
// the kinds a `kubectl get -o yaml` dump holds beside them that are deliberately not read:
// workload controllers (a Deployment is not an endpoint — istiod, like the cluster's own
// Services, takes endpoints from Pods and EndpointSlices) and ServiceAccounts (a pod's identity
// comes from its own serviceAccountName).

import type { KubeKind } from './kube-types.ts';

export interface KubeKindInfo {
  group: string;
  versions: readonly string[];
  /** Cluster-scoped kinds (Node, Namespace) have no namespace. */
  namespaced: boolean;
}

export const KUBE_KINDS: Readonly<Record<KubeKind, KubeKindInfo>> = {
  Service: { group: '', versions: ['v1'], namespaced: true },
  Endpoints: { group: '', versions: ['v1'], namespaced: true },
  Pod: { group: '', versions: ['v1'], namespaced: true },
  Node: { group: '', versions: ['v1'], namespaced: false },
  Namespace: { group: '', versions: ['v1'], namespaced: false },
  // discovery.k8s.io/v1beta1 was removed in Kubernetes 1.25.
  EndpointSlice: { group: 'discovery.k8s.io', versions: ['v1'], namespaced: true },
};

const WORKLOAD_GROUPS: Readonly<Record<string, string>> = {
  Deployment: 'apps',
  ReplicaSet: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
  ReplicationController: '',
};

export function isKubeKind(kind: string): kind is KubeKind {
  return Object.hasOwn(KUBE_KINDS, kind);
}

/**
 * Why a kind from a cluster dump is not read, when Meshlet knows it is not an oversight: one
 * sentence, said once per kind (the loader folds repeats), or undefined for any other kind.
 */
export function notReadReason(group: string, kind: string): string | undefined {
  if (Object.hasOwn(WORKLOAD_GROUPS, kind) && WORKLOAD_GROUPS[kind] === group) {
    return `a ${kind} is not an endpoint — Meshlet, like istiod, takes a Service's endpoints from its EndpointSlices (or Endpoints) and the Pods they name`;
  }
  if (kind === 'ServiceAccount' && group === '') {
    return 'not needed — a pod\'s identity (spiffe://<trust domain>/ns/<ns>/sa/<sa>) comes from its own spec.serviceAccountName';
  }
  return undefined;
}
