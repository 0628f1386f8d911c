// What an endpoint learns from its Pod, as istiod's Kubernetes registry reads it (kube controller
// NewEndpointBuilder, getPodLocality, Network; pkg/kube GetWorkloadMetaFromPod; AugmentLabels):
//  - identity: the pod's service account (spec.serviceAccountName; 'default' when absent, as the
//    API server's admission sets it) → spiffe://<trust domain>/ns/<ns>/sa/<sa>;
//  - auto-mTLS: the `security.istio.io/tlsMode` label, which the sidecar injector writes
//    (istiod reads only the label, not the injection annotations); absent → 'disabled';
//  - locality: the pod's topology.istio.io/locality (or legacy istio-locality) label, '.' read as
//    '/', else its Node's region/zone labels and topology.istio.io/subzone;
//  - network: the pod's topology.istio.io/network label, else the root namespace's;
//  - labels: the pod's, plus the topology labels istiod adds (region, zone, subzone, cluster,
//    network, and kubernetes.io/hostname for the node), so subsets and failoverPriority see them;
//  - workload name: a Deployment's name for its ReplicaSet's pods, a CronJob's for its Jobs',
//    the owner's otherwise, the pod's own without one (or the service.istio.io/workload-name label).

import type { KubeNamespace, KubeNode, KubePod } from './kube-types.ts';

export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const NETWORK_LABEL = 'topology.istio.io/network';
const CLUSTER_LABEL = 'topology.istio.io/cluster';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];
const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
const SUBZONE_LABEL = 'topology.istio.io/subzone';
const LOCALITY_LABELS = ['topology.istio.io/locality', 'istio-locality'];
const WORKLOAD_NAME_LABEL = 'service.istio.io/workload-name';
const CRON_JOB_NAME = /^(.+)-\d{8,10}$/;

/** istiod's default cluster ID. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

/** The part of an endpoint that comes from its pod (or its absence). */
export interface EndpointIdentity {
  labels: Record<string, string>;
  locality: string;
  network?: string;
  serviceAccount?: string;
  tlsMode: string;
  workloadName: string;
  namespace: string;
}

/** Pods, Nodes and Namespaces, indexed the way endpoint building looks them up. */
export class PodIndex {
  /** namespace → name → pod */
  readonly #byName = new Map<string, Map<string, KubePod>>();
  readonly #byNamespace = new Map<string, KubePod[]>();
  readonly #readyByIp = new Map<string, KubePod[]>();
  readonly #nodes = new Map<string, KubeNode>();
  readonly #systemNetwork: string | undefined;
  readonly #clusterId: string;

  constructor(pods: readonly KubePod[], nodes: readonly KubeNode[], namespaces: readonly KubeNamespace[], rootNamespace: string, clusterId = DEFAULT_CLUSTER_ID) {
    for (const p of pods) {
      const ns = p.metadata.namespace;
      let names = this.#byName.get(ns);
      if (!names) this.#byName.set(ns, (names = new Map()));
      names.set(p.metadata.name, p);
      const inNs = this.#byNamespace.get(ns);
      if (inNs) inNs.push(p);
      else this.#byNamespace.set(ns, [p]);
      // istiod's pod cache indexes by IP only pods that may be endpoints and are ready.
      const ip = podIp(p);
      if (ip && inEndpoints(p) && isReady(p)) {
        const list = this.#readyByIp.get(ip) ?? [];
        list.push(p);
        this.#readyByIp.set(ip, list);
      }
    }
    for (const n of nodes) this.#nodes.set(n.metadata.name, n);
    this.#systemNetwork = namespaces.find((n) => n.metadata.name === rootNamespace)?.metadata.labels?.[NETWORK_LABEL] || undefined;
    this.#clusterId = clusterId;
  }

  byName(namespace: string, name: string): KubePod | undefined {
    return this.#byName.get(namespace)?.get(name);
  }

  /** A ready pod with this IP in `namespace` (istiod's guess for endpoints without a targetRef). */
  byIp(ip: string, namespace: string): KubePod | undefined {
    return this.#readyByIp.get(ip)?.find((p) => p.metadata.namespace === namespace);
  }

  /** Every pod of a namespace, for Services whose endpoints are derived from their selector. */
  inNamespace(namespace: string): readonly KubePod[] {
    return this.#byNamespace.get(namespace) ?? [];
  }

  hasNode(name: string): boolean {
    return this.#nodes.has(name);
  }

  /**
   * The endpoint's identity from `pod`; without one, from what the EndpointSlice says (its node).
   * When no Node object is known, the slice's zone stands in for the locality.
   */
  identity(pod: KubePod | undefined, fallback: { namespace: string; nodeName?: string | undefined; zone?: string | undefined }): EndpointIdentity {
    const podLabels = pod?.metadata.labels ?? {};
    const nodeName = pod?.spec.nodeName || fallback.nodeName || '';
    let locality = (pod ? localityLabel(podLabels) : undefined) ?? this.#nodeLocality(nodeName);
    // A namespace's dump has no Nodes (they are cluster-scoped): the slice's zone is all there is.
    if (locality === '' && fallback.zone && !this.#nodes.has(nodeName)) locality = `/${fallback.zone}/`;
    const network = podLabels[NETWORK_LABEL] || this.#systemNetwork;
    const labels = augmentLabels(podLabels, this.#clusterId, locality, pod?.spec.nodeName ?? '', network);
    const out: EndpointIdentity = {
      labels,
      locality,
      tlsMode: podLabels[TLS_MODE_LABEL] ?? 'disabled',
      workloadName: pod ? workloadName(pod) : '',
      namespace: pod?.metadata.namespace ?? fallback.namespace,
    };
    if (network) out.network = network;
    if (pod) out.serviceAccount = pod.spec.serviceAccountName || pod.spec.serviceAccount || 'default';
    return out;
  }

  #nodeLocality(nodeName: string): string {
    const labels = this.#nodes.get(nodeName)?.metadata.labels;
    if (!labels) return '';
    const first = (keys: readonly string[]) => keys.map((k) => labels[k]).find((v) => v !== undefined && v !== '') ?? '';
    const region = first(REGION_LABELS);
    const zone = first(ZONE_LABELS);
    const subzone = labels[SUBZONE_LABEL] ?? '';
    if (region === '' && zone === '' && subzone === '') return '';
    return `${region}/${zone}/${subzone}`;
  }
}

export function podIp(pod: KubePod): string | undefined {
  return pod.status?.podIP || pod.status?.podIPs?.[0]?.ip || undefined;
}

/** The pod's Ready condition is True. */
export function isReady(pod: KubePod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Kubernetes' shouldPodBeInEndpoints: not finished, has an IP (terminating pods are handled by the caller). */
export function inEndpoints(pod: KubePod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (podIp(pod) === undefined) return false;
  return pod.metadata.deletionTimestamp === undefined;
}

function localityLabel(labels: Record<string, string>): string | undefined {
  for (const key of LOCALITY_LABELS) {
    const v = labels[key];
    if (v !== undefined) return v === '' || v.includes('/') ? v : v.replaceAll('.', '/');
  }
  return undefined;
}

function augmentLabels(labels: Record<string, string>, clusterId: string, locality: string, node: string, network: string | undefined): Record<string, string> {
  const out = { ...labels };
  const [region = '', zone = '', subzone = ''] = locality.split('/');
  if (region) out[REGION_LABELS[0] as string] = region;
  if (zone) out[ZONE_LABELS[0] as string] = zone;
  if (subzone) out[SUBZONE_LABEL] = subzone;
  if (clusterId) out[CLUSTER_LABEL] = clusterId;
  if (node) out[HOSTNAME_LABEL] = node;
  if (network && !out[NETWORK_LABEL]) out[NETWORK_LABEL] = network;
  return out;
}

function workloadName(pod: KubePod): string {
  const override = pod.metadata.labels?.[WORKLOAD_NAME_LABEL];
  if (override !== undefined) return override;
  const labels = pod.metadata.labels ?? {};
  if (!pod.metadata.generateName) return pod.metadata.name;
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller === true);
  if (!owner) return pod.metadata.name;
  const hash = labels['pod-template-hash'] || labels['rollouts-pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(hash)) return owner.name.slice(0, -(hash.length + 1));
  if (owner.kind === 'ReplicationController' && labels['deploymentconfig']) return labels['deploymentconfig'];
  if (owner.kind === 'Job') return CRON_JOB_NAME.exec(owner.name)?.[1] ?? owner.name;
  return owner.name;
}
