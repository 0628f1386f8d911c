// A Kubernetes Service's endpoints, as istiod's EndpointSlice controller builds them
// (kube/controller/endpointslice.go) and its EDS builder filters them (xds/endpoints):
//  - from the EndpointSlices labelled kubernetes.io/service-name=<service> in its namespace
//    (not FQDN slices; not multi-cluster ones), one endpoint per address and slice port;
//    duplicates across slices (an endpoint moving between slices) counted once, the healthier kept;
//  - else from its v1 Endpoints, read as the EndpointSlice mirroring controller mirrors them
//    (addresses ready, notReadyAddresses not ready);
//  - else, for a Service with a selector, from the Pods it selects, as the EndpointSlice
//    controller would write them (named targetPorts resolved against each pod's container ports):
//    a folder of YAML has no controller to do it.
// An address whose targetRef names a Pod that is not there is skipped (istiod waits for the pod
// rather than send an endpoint without its identity); without a targetRef the pod is looked up by
// IP. Health (endpointHealthStatus): ready (or unset) → HEALTHY; not ready but serving and
// terminating on a persistent-session service → DRAINING; terminating (or unset) → left out, as
// istiod never sends terminating endpoints; otherwise UNHEALTHY, sent so the balancer knows it
// is there but never picks it.

import type { MeshEndpoint, ObjectPath } from '../istio/service-model.ts';
import type { MeshObject } from '../istio/types.ts';
import { inEndpoints, isReady, podIp, type PodIndex } from './kube-pods.ts';
import type { EndpointConditions, KubeEndpoints, KubeEndpointSlice, KubePod, KubeService, ObjectReference } from './kube-types.ts';
import { SERVICE_NAME_LABEL } from './kube-validate.ts';

/** Where the registry reports what it cannot use; the compiler's problem list fits. */
export interface ProblemSink {
  warn(obj: MeshObject, path: ObjectPath, message: string): void;
}

const MULTICLUSTER_SERVICE_LABEL = 'multicluster.kubernetes.io/service-name';
const PERSISTENT_SESSION_LABELS = ['istio.io/persistent-session', 'istio.io/persistent-session-header'];
const DRAINING_LABEL = 'istio.io/draining';

type Health = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TERMINATING';
const RANK: Readonly<Record<Health, number>> = { HEALTHY: 0, DRAINING: 1, UNHEALTHY: 2, TERMINATING: 3 };

/** One address of a slice-like source, before its pod is looked up. */
interface RawAddress {
  address: string;
  conditions: EndpointConditions;
  targetRef?: ObjectReference | undefined;
  nodeName?: string | undefined;
  zone?: string | undefined;
  /** Port per service-port name. */
  ports: Record<string, number>;
  origin: KubeEndpointSlice | KubeEndpoints | KubePod;
  path: readonly (string | number)[];
}

/** EndpointSlices and Endpoints of every Service, by `<namespace>/<service>`. */
export interface EndpointSources {
  slices: Map<string, KubeEndpointSlice[]>;
  endpoints: Map<string, KubeEndpoints>;
}

export function indexEndpointSources(slices: readonly KubeEndpointSlice[], endpoints: readonly KubeEndpoints[]): EndpointSources {
  const bySvc = new Map<string, KubeEndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc || s.metadata.labels?.[MULTICLUSTER_SERVICE_LABEL] !== undefined) continue;
    const key = `${s.metadata.namespace}/${svc}`;
    const list = bySvc.get(key) ?? [];
    list.push(s);
    bySvc.set(key, list);
  }
  for (const list of bySvc.values()) list.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  return { slices: bySvc, endpoints: new Map(endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e])) };
}

export function serviceEndpoints(svc: KubeService, sources: EndpointSources, pods: PodIndex, problems: ProblemSink): MeshEndpoint[] {
  const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
  const slices = sources.slices.get(key);
  const raw = slices ? slices.flatMap((s) => fromSlice(s, problems)) : sources.endpoints.has(key) ? fromEndpoints(sources.endpoints.get(key) as KubeEndpoints) : fromSelector(svc, pods);
  const persistent = PERSISTENT_SESSION_LABELS.some((l) => svc.metadata.labels?.[l]);
  const best = new Map<string, { health: Health; ep: MeshEndpoint }>();
  for (const a of raw) {
    const pod = lookupPod(a, pods, problems);
    if (pod === null) continue;
    const identity = pods.identity(pod, { namespace: svc.metadata.namespace, nodeName: a.nodeName, zone: a.zone });
    let health = endpointHealth(a.conditions, persistent);
    if (health === 'HEALTHY' && identity.labels[DRAINING_LABEL]) health = 'DRAINING';
    // Terminating endpoints are never sent; draining ones only to persistent-session services.
    if (health === 'TERMINATING' || (health === 'DRAINING' && !persistent)) continue;
    for (const [portName, port] of Object.entries(a.ports)) {
      const dedupe = `${a.address}|${portName}`;
      const seen = best.get(dedupe);
      if (seen && RANK[seen.health] <= RANK[health]) continue;
      const ep: MeshEndpoint = { address: a.address, ports: { [portName]: port }, exactPorts: true, ...identity, origin: a.origin, path: a.path };
      if (health !== 'HEALTHY') ep.healthStatus = health;
      best.set(dedupe, { health, ep });
    }
  }
  return [...best.values()].map((b) => b.ep);
}

function endpointHealth(c: EndpointConditions, persistentSession: boolean): Health {
  if (c.ready === undefined || c.ready) return 'HEALTHY';
  if (persistentSession && (c.serving ?? true) && (c.terminating ?? true)) return 'DRAINING';
  if (c.terminating ?? true) return 'TERMINATING';
  return 'UNHEALTHY';
}

/** The endpoint's pod; null when the address names a pod that is not there (the endpoint is skipped). */
function lookupPod(a: RawAddress, pods: PodIndex, problems: ProblemSink): KubePod | undefined | null {
  if (a.origin.kind === 'Pod') return a.origin;
  const ns = a.origin.metadata.namespace;
  const ref = a.targetRef;
  if (ref?.kind !== 'Pod') return pods.byIp(a.address, ns);
  const pod = pods.byName(ref.namespace || ns, ref.name ?? '');
  if (!pod) {
    problems.warn(a.origin, [...a.path, 'targetRef'], `Pod ${ref.namespace || ns}/${ref.name ?? ''} (endpoint ${a.address}) is not in the config; the endpoint is left out, as istiod leaves it out until the pod is known, rather than send it without the pod's labels and identity`);
    return null;
  }
  return pod;
}

function fromSlice(slice: KubeEndpointSlice, problems: ProblemSink): RawAddress[] {
  if (slice.addressType === 'FQDN') {
    problems.warn(slice, ['addressType'], 'FQDN EndpointSlices are not read (istiod does not support them either); this slice adds no endpoints');
    return [];
  }
  const ports: Record<string, number> = {};
  for (const p of slice.ports ?? []) if (p.port !== undefined) ports[p.name ?? ''] = p.port;
  const out: RawAddress[] = [];
  (slice.endpoints ?? []).forEach((e, i) => {
    for (const address of e.addresses) {
      out.push({ address, conditions: e.conditions ?? {}, targetRef: e.targetRef, nodeName: e.nodeName, zone: e.zone, ports, origin: slice, path: ['endpoints', i] });
    }
  });
  return out;
}

function fromEndpoints(eps: KubeEndpoints): RawAddress[] {
  const out: RawAddress[] = [];
  (eps.subsets ?? []).forEach((s, i) => {
    const ports: Record<string, number> = {};
    for (const p of s.ports ?? []) ports[p.name ?? ''] = p.port;
    for (const [key, ready] of [['addresses', true], ['notReadyAddresses', false]] as const) {
      (s[key] ?? []).forEach((a, j) => {
        out.push({ address: a.ip, conditions: { ready }, targetRef: a.targetRef, nodeName: a.nodeName, ports, origin: eps, path: ['subsets', i, key, j] });
      });
    }
  });
  return out;
}

/** What the EndpointSlice controller would write for `svc`, from the pods it selects. */
function fromSelector(svc: KubeService, pods: PodIndex): RawAddress[] {
  const selector = svc.spec.selector;
  // A Service without a selector has manually managed endpoints only; an empty one selects nothing.
  if (!selector || Object.keys(selector).length === 0) return [];
  const out: RawAddress[] = [];
  for (const pod of pods.inNamespace(svc.metadata.namespace)) {
    if (!Object.entries(selector).every(([k, v]) => pod.metadata.labels?.[k] === v)) continue;
    const ip = podIp(pod);
    const phase = pod.status?.phase;
    if (ip === undefined || phase === 'Succeeded' || phase === 'Failed') continue;
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ready = svc.spec.publishNotReadyAddresses === true || (isReady(pod) && inEndpoints(pod));
    const ports: Record<string, number> = {};
    for (const p of svc.spec.ports ?? []) {
      const target = resolveTargetPort(pod, p.targetPort, p.port);
      if (target !== undefined) ports[p.name ?? ''] = target;
    }
    out.push({ address: ip, conditions: { ready, serving: isReady(pod), terminating }, ports, origin: pod, path: ['metadata'] });
  }
  return out;
}

/** A Service port's targetPort on one pod: a number, a container port's name, or the port itself. */
export function resolveTargetPort(pod: KubePod, targetPort: number | string | undefined, port: number): number | undefined {
  if (targetPort === undefined || targetPort === 0 || targetPort === '') return port;
  if (typeof targetPort === 'number') return targetPort;
  const containers = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === targetPort) return p.containerPort;
  return undefined;
}
