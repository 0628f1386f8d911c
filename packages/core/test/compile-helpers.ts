// Builders for compiler tests: Istio objects written in-test, with a SourceRef whose lineOf is
// predictable (document line + path depth), so a problem's line says which field it blames.

import type { ClientIdentity } from '../src/istio/compile/common/compile-context.ts';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { compileMesh, type CompileResult } from '../src/istio/compile/compile-mesh.ts';
import type {
  DestinationRuleSpec,
  MeshObject,
  ObjectMeta,
  ServiceEntrySpec,
  SourceRef,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from '../src/istio/types.ts';
import type { Cluster, ClusterLoadAssignment, Route, RouteConfiguration } from '../src/xds/resources.ts';

export const FILE = 'mesh.yaml';

/** Line of `path` in an object starting at `line`: one line further per path segment. */
export function sourceRef(line = 1, file = FILE): SourceRef {
  return { file, line, lineOf: (path) => line + path.length };
}

type Meta = Partial<ObjectMeta> & { line?: number };

function meta(name: string, m: Meta | undefined): ObjectMeta {
  const out: ObjectMeta = { name, namespace: m?.namespace ?? 'default' };
  if (m?.labels) out.labels = m.labels;
  if (m?.annotations) out.annotations = m.annotations;
  if (m?.creationTimestamp) out.creationTimestamp = m.creationTimestamp;
  return out;
}

export function serviceEntry(name: string, spec: ServiceEntrySpec, m?: Meta): MeshObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(name, m), spec, source: sourceRef(m?.line) };
}

export function virtualService(name: string, spec: VirtualServiceSpec, m?: Meta): MeshObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(name, m), spec, source: sourceRef(m?.line) };
}

export function destinationRule(name: string, spec: DestinationRuleSpec, m?: Meta): MeshObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(name, m), spec, source: sourceRef(m?.line) };
}

export function workloadEntry(name: string, spec: WorkloadEntrySpec, m?: Meta): MeshObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: meta(name, m), spec, source: sourceRef(m?.line) };
}

export function client(namespace = 'default', labels: Record<string, string> = {}): ClientIdentity {
  return { namespace, labels, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' };
}

/** A STATIC ServiceEntry for a Kubernetes-style host with one HTTP port and the given endpoints. */
export function staticService(host: string, port = 8080, endpoints: WorkloadEntrySpec[] = [{ address: '10.0.0.1' }], m?: Meta): MeshObject {
  return serviceEntry(host.split('.')[0] as string, { hosts: [host], ports: [{ number: port, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints }, m);
}

export function compile(objects: MeshObject[], who: ClientIdentity = client()): CompileResult {
  return compileMesh(objects, who);
}

export function routeConfig(r: CompileResult, name: string): RouteConfiguration {
  const rc = r.resources.routeConfigs.get(name);
  if (!rc) throw new Error(`no route config ${name}; have ${[...r.resources.routeConfigs.keys()].join(', ')}`);
  return rc;
}

/** The routes of the single virtual host of a route configuration. */
export function routes(r: CompileResult, name: string): Route[] {
  return routeConfig(r, name).virtualHosts?.[0]?.routes ?? [];
}

export function cluster(r: CompileResult, name: string): Cluster {
  const c = r.resources.clusters.get(name);
  if (!c) throw new Error(`no cluster ${name}; have ${[...r.resources.clusters.keys()].join(', ')}`);
  return c;
}

export function assignment(r: CompileResult, name: string): ClusterLoadAssignment {
  const a = r.resources.endpoints.get(name);
  if (!a) throw new Error(`no load assignment ${name}; have ${[...r.resources.endpoints.keys()].join(', ')}`);
  return a;
}

/** Endpoint `address:port` strings of a load assignment, in order. */
export function endpointAddresses(a: ClusterLoadAssignment): string[] {
  return (a.endpoints ?? []).flatMap((l) => (l.lbEndpoints ?? []).map((e) => `${e.endpoint?.address?.socketAddress?.address}:${e.endpoint?.address?.socketAddress?.portValue}`));
}

export function messages(r: CompileResult): string[] {
  return r.problems.map((p) => `${p.kind} ${p.namespace}/${p.name} ${p.field}: ${p.message}`);
}

/** The analyzers' findings over the same objects, as `[CODE] Kind ns/name field: message`. */
export function findings(objects: MeshObject[]): string[] {
  return analyzeMesh(objects).map((p) => `[${p.code}] ${p.kind} ${p.namespace}/${p.name} ${p.field}: ${p.message}`);
}
