// The service registry a client sees: every ServiceEntry host visible to its namespace, with the
// endpoints behind it. Mirrors istiod's serviceentry conversion (one service per host; endpoints
// from `endpoints`, from WorkloadEntries picked by `workloadSelector`, or — for DNS resolution
// with neither — the host itself) and the sidecar scope's rule for a host declared in several
// namespaces (the client's own namespace wins, else the oldest declaration). A Sidecar in force
// (ctx.scope, ./sidecar-scope.ts) narrows the visible services to those its egress hosts import,
// trimmed to the ports they import; the hosts it leaves out are recorded for explain().

import type { CompileContext, Path } from './compile-context.ts';
import { compareByCreation, labelsMatch, visibleTo } from './compile-context.ts';
import { hostsOverlap, isWildcardHost, resolveShortName } from './host-names.ts';
import type { MeshObject, ServiceEntry, ServicePort, WorkloadEntry, WorkloadEntrySpec } from '../types.ts';
import type { PortImport } from './sidecar-scope.ts';

export type Resolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';

export interface MeshEndpoint {
  /** IP, DNS name, or `unix://path`. */
  address: string;
  /** Port per service-port name (WorkloadEntry/endpoint `ports`). */
  ports: Record<string, number>;
  labels: Record<string, string>;
  /** `region/zone/subzone`, possibly empty. */
  locality: string;
  /** The WorkloadEntry's `network`, for failoverPriority on topology.istio.io/network. */
  network?: string;
  weight?: number;
  serviceAccount?: string;
  /** Workload name as istiod reports it in telemetry metadata. */
  workloadName: string;
  namespace: string;
  /** 'istio' when the endpoint takes Istio mTLS (label, or a service account), else 'disabled'. */
  tlsMode: string;
  /** Where the endpoint was declared, for problems. */
  origin: MeshObject;
  path: Path;
}

export interface MeshService {
  hostname: string;
  /** Namespace of the ServiceEntries that declare it (destination-rule lookup step 2). */
  namespace: string;
  ports: ServicePort[];
  resolution: Resolution;
  location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  /** First `addresses` entry, or 0.0.0.0 as istiod writes for a service without a VIP. */
  address: string;
  addresses: string[];
  endpoints: MeshEndpoint[];
  /** Declaring ServiceEntries, oldest first; the first decides resolution and location. */
  entries: ServiceEntry[];
}

export interface ServiceRegistry {
  /** Visible services, oldest declaration first (istiod's service order). */
  services: MeshService[];
  byHost: Map<string, MeshService>;
  /** Every host any ServiceEntry declares, visible or not: tells "hidden" from "unknown". */
  declaredHosts: Set<string>;
  /** The wildcard ones among them. */
  declaredWildcards: string[];
  /** Hosts exported to the client's namespace that its Sidecar leaves out: host → declaring namespace. */
  outOfScope: Map<string, string>;
  /** Services the Sidecar does not import but a selected VirtualService sends to: clusters, no listener. */
  destinationOnly: MeshService[];
}

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const WORKLOAD_NAME_LABEL = 'service.istio.io/workload-name';
const AUTO_REGISTRATION_ANNOTATION = 'istio.io/autoRegistrationGroup';

export function buildServiceRegistry(ctx: CompileContext, entries: ServiceEntry[], workloads: WorkloadEntry[]): ServiceRegistry {
  const { client } = ctx;
  const sorted = [...entries].sort(compareByCreation);
  const declaredHosts = new Set<string>();
  const outOfScope = new Map<string, string>();
  const imports = new Map<string, PortImport>();
  // host → namespace → declaring entries (creation order)
  const byHostNs = new Map<string, Map<string, ServiceEntry[]>>();
  for (const se of sorted) {
    const hosts = se.spec.hosts ?? [];
    for (const raw of hosts) {
      const host = resolveShortName(raw.toLowerCase(), se.metadata.namespace, client.clusterDomain);
      declaredHosts.add(host);
      if (!visibleTo(se.spec.exportTo, se.metadata.namespace, client.namespace, ctx.mesh.defaultServiceExportTo)) continue;
      if (ctx.scope) {
        const imported = ctx.scope.imports(host, se.metadata.namespace);
        if (!imported) {
          outOfScope.set(host, se.metadata.namespace);
          continue;
        }
        imports.set(`${host}\n${se.metadata.namespace}`, imported);
      }
      let perNs = byHostNs.get(host);
      if (!perNs) byHostNs.set(host, (perNs = new Map()));
      const list = perNs.get(se.metadata.namespace) ?? [];
      if (!list.includes(se)) list.push(se);
      perNs.set(se.metadata.namespace, list);
    }
  }

  const services: MeshService[] = [];
  for (const [host, perNs] of byHostNs) {
    const namespaces = [...perNs.keys()];
    const chosenNs = perNs.has(client.namespace) ? client.namespace : (namespaces[0] as string);
    for (const [ns, list] of perNs) {
      if (ns === chosenNs) continue;
      const first = list[0] as ServiceEntry;
      ctx.problems.warn(first, ['spec', 'hosts'], `host ${host} is also declared in namespace ${chosenNs}; for clients in ${client.namespace} that declaration wins and this one is ignored`);
    }
    const svc = mergeEntries(ctx, host, chosenNs, perNs.get(chosenNs) as ServiceEntry[], workloads);
    if (trimPorts(svc, imports.get(`${host}\n${chosenNs}`))) services.push(svc);
    else outOfScope.set(host, chosenNs);
  }
  services.sort((a, b) => compareByCreation(a.entries[0] as ServiceEntry, b.entries[0] as ServiceEntry) || (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const declaredWildcards = [...declaredHosts].filter(isWildcardHost);
  const byHost = new Map(services.map((s) => [s.hostname, s]));
  for (const host of byHost.keys()) outOfScope.delete(host);
  return { services, byHost, declaredHosts, declaredWildcards, outOfScope, destinationOnly: [] };
}

/** Keeps the ports a Sidecar imports (all when `imported` is undefined or 'all'); false when none is left. */
export function trimPorts(svc: MeshService, imported: PortImport | undefined): boolean {
  if (imported === undefined || imported === 'all') return true;
  svc.ports = svc.ports.filter((p) => imported.has(p.number));
  return svc.ports.length > 0;
}

// Several ServiceEntries in one namespace for one host make one service: istiod merges their
// ports (the first declaration of a port number wins) when they agree on resolution, and EDS
// shards endpoints by host and namespace, so all their endpoints serve it.
function mergeEntries(ctx: CompileContext, host: string, namespace: string, list: ServiceEntry[], workloads: WorkloadEntry[]): MeshService {
  const first = list[0] as ServiceEntry;
  const resolution: Resolution = first.spec.resolution ?? 'NONE';
  const svc: MeshService = {
    hostname: host,
    namespace,
    ports: [],
    resolution,
    location: first.spec.location ?? 'MESH_EXTERNAL',
    address: first.spec.addresses?.[0] !== undefined ? stripHostMask(first.spec.addresses[0]) : '0.0.0.0',
    addresses: (first.spec.addresses ?? []).map(stripHostMask),
    endpoints: [],
    entries: [],
  };
  for (const se of list) {
    const seResolution = se.spec.resolution ?? 'NONE';
    if (se !== first && seResolution !== resolution) {
      ctx.problems.warn(se, ['spec', 'resolution'], `host ${host} is already declared by ServiceEntry ${first.metadata.namespace}/${first.metadata.name} with resolution ${resolution}; this entry (${seResolution}) is ignored for it`);
      continue;
    }
    svc.entries.push(se);
    for (const p of se.spec.ports ?? []) {
      if (!svc.ports.some((q) => q.number === p.number)) svc.ports.push(p);
    }
    svc.endpoints.push(...entryEndpoints(se, host, workloads));
  }
  return svc;
}

function stripHostMask(address: string): string {
  // istiod turns a /32 (or /128) CIDR into the plain address it names.
  const m = /^(.*)\/(\d+)$/.exec(address);
  if (!m) return address;
  const ip = m[1] as string;
  const bits = Number(m[2]);
  return (ip.includes(':') ? bits === 128 : bits === 32) ? ip : address;
}

function entryEndpoints(se: ServiceEntry, host: string, workloads: WorkloadEntry[]): MeshEndpoint[] {
  const ns = se.metadata.namespace;
  const spec = se.spec;
  const resolution = spec.resolution ?? 'NONE';
  const isDns = resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN';
  if ((spec.endpoints?.length ?? 0) === 0 && !spec.workloadSelector && isDns) {
    // istiod makes the host itself the endpoint of a DNS service that lists none.
    return [
      {
        address: host,
        ports: {},
        labels: {},
        locality: '',
        workloadName: se.metadata.name,
        namespace: ns,
        tlsMode: 'disabled',
        origin: se,
        path: ['spec', 'hosts'],
      },
    ];
  }
  const out: MeshEndpoint[] = [];
  (spec.endpoints ?? []).forEach((we, i) => {
    out.push(fromWorkloadEntry(we, `${se.metadata.name}-${i}`, ns, se, ['spec', 'endpoints', i]));
  });
  if (spec.workloadSelector) {
    // A ServiceEntry selects WorkloadEntries of its own namespace only.
    for (const w of workloads) {
      if (w.metadata.namespace !== ns) continue;
      if (!labelsMatch(spec.workloadSelector.labels, w.spec.labels)) continue;
      const name = w.metadata.annotations?.[AUTO_REGISTRATION_ANNOTATION] ?? w.spec.labels?.[WORKLOAD_NAME_LABEL] ?? w.metadata.name;
      out.push(fromWorkloadEntry(w.spec, name, ns, w, ['spec']));
    }
  }
  return out;
}

function fromWorkloadEntry(we: WorkloadEntrySpec, workloadName: string, namespace: string, origin: MeshObject, path: Path): MeshEndpoint {
  const labels = { ...(we.labels ?? {}) };
  const tlsMode = labels[TLS_MODE_LABEL] ?? (we.serviceAccount ? 'istio' : 'disabled');
  const ep: MeshEndpoint = {
    address: we.address ?? '',
    ports: { ...(we.ports ?? {}) },
    labels,
    locality: we.locality ?? '',
    workloadName,
    namespace,
    tlsMode,
    origin,
    path,
  };
  if (we.weight !== undefined) ep.weight = we.weight;
  if (we.network) ep.network = we.network;
  if (we.serviceAccount !== undefined) ep.serviceAccount = we.serviceAccount;
  return ep;
}

/** Does any ServiceEntry (visible to the client or not) declare a host overlapping `host`? */
export function isDeclared(registry: ServiceRegistry, host: string): boolean {
  if (registry.declaredHosts.has(host)) return true;
  if (registry.declaredWildcards.some((w) => hostsOverlap(w, host))) return true;
  return isWildcardHost(host) && [...registry.declaredHosts].some((d) => hostsOverlap(d, host));
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

// Protocol names istiod recognises as something other than HTTP (protocol.Parse); any other
// name, or none, is "unsupported" and gets sniffed, i.e. HTTP routes still apply.
const NON_HTTP_PROTOCOLS = new Set(['tcp', 'udp', 'https', 'tls', 'mongo', 'redis', 'mysql']);

/** Does Istio build HTTP routes for this port (protocol.IsHTTPOrSniffed)? */
export function isHttpOrSniffed(port: ServicePort): boolean {
  return !NON_HTTP_PROTOCOLS.has((port.protocol ?? '').toLowerCase());
}
