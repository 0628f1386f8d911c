// The service registry a client sees: every Kubernetes Service (../../kube/) and ServiceEntry
// host visible to its namespace, with the endpoints behind it. Mirrors istiod's serviceentry
// conversion (one service per host; endpoints from `endpoints`, from WorkloadEntries picked by
// `workloadSelector`, or — for DNS resolution with neither — the host itself), the push
// context's rule for one host in one namespace (a Kubernetes Service wins over ServiceEntries,
// whose endpoints still join it, as EDS shards endpoints by host and namespace), the sidecar
// scope's rule for a host declared in several namespaces (the client's own namespace wins, else
// the oldest declaration), and ExternalName Services as aliases of the host they name. A Sidecar
// in force (ctx.scope, ./sidecar-scope.ts) narrows the visible services to those its egress
// hosts import, trimmed to the ports they import; the hosts it leaves out are recorded for
// explain() and the config dump.

import type { CompileContext, Path } from '../common/compile-context.ts';
import { visibleTo } from '../common/compile-context.ts';
import { compareByCreation, labelsMatch, objectKey } from '../../object-conventions.ts';
import { hostsOverlap, isWildcardHost, resolveShortName } from '../common/host-names.ts';
import type { MeshEndpoint, MeshService, Resolution } from '../../service-model.ts';
import type { MeshObject, ServiceEntry, WorkloadEntry, WorkloadEntrySpec } from '../../types.ts';
import type { KubeAlias, KubeRegistry, KubeRegistryService } from '../../../kube/kube-registry.ts';
import type { PortImport } from '../common/sidecar-scope.ts';

export interface ServiceRegistry {
  /** Visible services, oldest declaration first (istiod's service order). */
  services: MeshService[];
  byHost: Map<string, MeshService>;
  /** Every host any Service or ServiceEntry declares, visible or not: tells "hidden" from "unknown". */
  declaredHosts: Set<string>;
  /** The wildcard ones among them. */
  declaredWildcards: string[];
  /** ExternalName aliases visible to the client: alias host → the concrete host it routes as. */
  aliases: Map<string, string>;
  /** Hosts exported to the client's namespace that its Sidecar leaves out: host → declaring namespace. */
  outOfScope: Map<string, string>;
  /** Services the Sidecar does not import but a selected VirtualService sends to: clusters, no listener. */
  destinationOnly: MeshService[];
}

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const WORKLOAD_NAME_LABEL = 'service.istio.io/workload-name';
const AUTO_REGISTRATION_ANNOTATION = 'istio.io/autoRegistrationGroup';

/** One namespace's declarations of one host: a Kubernetes Service and/or ServiceEntries, oldest first. */
interface Declarations {
  kube?: KubeRegistryService;
  entries: ServiceEntry[];
}

export function buildServiceRegistry(ctx: CompileContext, entries: ServiceEntry[], workloads: WorkloadEntry[], kube: KubeRegistry = { services: [], aliases: [] }): ServiceRegistry {
  const { client } = ctx;
  const declaredHosts = new Set<string>();
  const outOfScope = new Map<string, string>();
  const imports = new Map<string, PortImport>();
  // host → namespace → declarations, namespaces in the order of their oldest declaration
  const byHostNs = new Map<string, Map<string, Declarations>>();
  const declare = (host: string, ns: string, visible: boolean): Declarations | undefined => {
    declaredHosts.add(host);
    if (!visible) return undefined;
    if (ctx.scope) {
      const imported = ctx.scope.imports(host, ns);
      if (!imported) {
        outOfScope.set(host, ns);
        return undefined;
      }
      imports.set(`${host}\n${ns}`, imported);
    }
    let perNs = byHostNs.get(host);
    if (!perNs) byHostNs.set(host, (perNs = new Map()));
    let d = perNs.get(ns);
    if (!d) perNs.set(ns, (d = { entries: [] }));
    return d;
  };
  const declarations: (ServiceEntry | KubeRegistryService)[] = [...entries, ...kube.services];
  declarations.sort((a, b) => compareByCreation(declaringObject(a), declaringObject(b)));
  for (const decl of declarations) {
    if ('service' in decl) {
      const ns = decl.service.namespace;
      const d = declare(decl.service.hostname, ns, visibleTo(decl.exportTo, ns, client.namespace, ctx.mesh.defaultServiceExportTo));
      if (d) d.kube = decl;
      continue;
    }
    const ns = decl.metadata.namespace;
    for (const raw of decl.spec.hosts ?? []) {
      const d = declare(resolveShortName(raw.toLowerCase(), ns, client.clusterDomain), ns, visibleTo(decl.spec.exportTo, ns, client.namespace, ctx.mesh.defaultServiceExportTo));
      if (d && !d.entries.includes(decl)) d.entries.push(decl);
    }
  }

  const services: MeshService[] = [];
  for (const [host, perNs] of byHostNs) {
    const namespaces = [...perNs.keys()];
    const chosenNs = perNs.has(client.namespace) ? client.namespace : (namespaces[0] as string);
    for (const [ns, d] of perNs) {
      if (ns === chosenNs) continue;
      const first = d.kube?.service.origin ?? (d.entries[0] as ServiceEntry);
      ctx.problems.warn(first, first.kind === 'ServiceEntry' ? ['spec', 'hosts'] : ['metadata', 'name'], `host ${host} is also declared in namespace ${chosenNs}; for clients in ${client.namespace} that declaration wins and this one is ignored`);
    }
    const chosen = perNs.get(chosenNs) as Declarations;
    const svc = chosen.kube ? withEntryEndpoints(ctx, host, chosen.kube, chosen.entries, workloads) : mergeEntries(ctx, host, chosenNs, chosen.entries, workloads);
    if (trimPorts(svc, imports.get(`${host}\n${chosenNs}`))) services.push(svc);
    else outOfScope.set(host, chosenNs);
  }
  services.sort((a, b) => compareByCreation(a.origin, b.origin) || (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const byHost = new Map(services.map((s) => [s.hostname, s]));
  for (const host of byHost.keys()) outOfScope.delete(host);
  const aliases = resolveAliases(ctx, kube.aliases, byHost, declaredHosts, outOfScope);
  const declaredWildcards = [...declaredHosts].filter(isWildcardHost);
  return { services, byHost, declaredHosts, declaredWildcards, aliases, outOfScope, destinationOnly: [] };
}

/** Keeps the ports a Sidecar imports (all when `imported` is undefined or 'all'); false when none is left. */
export function trimPorts(svc: MeshService, imported: PortImport | undefined): boolean {
  if (imported === undefined || imported === 'all') return true;
  svc.ports = svc.ports.filter((p) => imported.has(p.number));
  return svc.ports.length > 0;
}

function declaringObject(d: ServiceEntry | KubeRegistryService): MeshObject {
  return 'service' in d ? d.service.origin : d;
}

// istiod indexes one service per host and namespace, and a Kubernetes Service takes the host from
// any ServiceEntry ("domain squatting" is not possible); the entries' endpoints still reach the
// service through EDS, which shards endpoints by host and namespace, whatever registry sent them.
function withEntryEndpoints(ctx: CompileContext, host: string, kube: KubeRegistryService, entries: ServiceEntry[], workloads: WorkloadEntry[]): MeshService {
  const svc: MeshService = { ...kube.service, endpoints: [...kube.service.endpoints], aliases: [] };
  for (const se of entries) {
    ctx.problems.warn(se, ['spec', 'hosts'], `host ${host} is the Kubernetes Service ${objectKey(svc.origin)}, which takes precedence as in istiod: this ServiceEntry's ports, addresses and resolution are ignored for it; its endpoints join the Service's`);
    for (const ep of serviceEntryEndpoints(se, host, workloads)) svc.endpoints.push(ep);
  }
  return svc;
}

/**
 * ExternalName Services visible to the client, resolved through chains of aliases to the
 * concrete host (a loop resolves to nothing, as Kubernetes DNS answers NXDOMAIN), and recorded
 * on the concrete service so its route table answers to the alias names too.
 */
function resolveAliases(ctx: CompileContext, aliases: readonly KubeAlias[], byHost: Map<string, MeshService>, declaredHosts: Set<string>, outOfScope: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  if (aliases.length === 0) return out;
  const raw = new Map<string, string>();
  for (const a of aliases) {
    declaredHosts.add(a.hostname);
    raw.set(a.hostname, a.target);
  }
  for (const a of [...aliases].sort((x, y) => compareByCreation(x.origin, y.origin))) {
    if (!visibleTo(a.exportTo, a.namespace, ctx.client.namespace, ctx.mesh.defaultServiceExportTo)) continue;
    // A Sidecar imports an alias by its own name (istiod's matchingAliasService).
    if (ctx.scope && !ctx.scope.imports(a.hostname, a.namespace)) {
      outOfScope.set(a.hostname, a.namespace);
      continue;
    }
    let target = a.target;
    const seen = new Set([a.hostname]);
    while (raw.has(target) && !seen.has(target)) {
      seen.add(target);
      target = raw.get(target) as string;
    }
    const svc = raw.has(target) ? undefined : byHost.get(target);
    if (!svc) {
      const why = raw.has(target) ? 'a loop of ExternalName Services' : `${target}, which is not a service visible in namespace ${ctx.client.namespace}`;
      ctx.problems.warn(a.origin, ['spec', 'externalName'], `this ExternalName Service is an alias of ${why}: requests to ${a.hostname} are not routed by Meshlet (they go out as addressed, as through a sidecar)`);
      continue;
    }
    if (byHost.has(a.hostname) || out.has(a.hostname)) continue;
    svc.aliases.push(a.hostname);
    out.set(a.hostname, svc.hostname);
  }
  return out;
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
    registry: 'External',
    origin: first,
    entries: [],
    subjectAltNames: [],
    aliases: [],
  };
  for (const se of list) {
    const seResolution = se.spec.resolution ?? 'NONE';
    if (se !== first && seResolution !== resolution) {
      ctx.problems.warn(se, ['spec', 'resolution'], `host ${host} is already declared by ServiceEntry ${first.metadata.namespace}/${first.metadata.name} with resolution ${resolution}; this entry (${seResolution}) is ignored for it`);
      continue;
    }
    svc.entries.push(se);
    for (const san of se.spec.subjectAltNames ?? []) if (!svc.subjectAltNames.includes(san)) svc.subjectAltNames.push(san);
    for (const p of se.spec.ports ?? []) {
      if (!svc.ports.some((q) => q.number === p.number)) svc.ports.push(p);
    }
    // A loop, not push(...spread): one entry may select 100k WorkloadEntries.
    for (const ep of serviceEntryEndpoints(se, host, workloads)) svc.endpoints.push(ep);
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

/** The endpoints one ServiceEntry gives `host`: its own, the WorkloadEntries it selects, or (DNS, none listed) the host itself. */
export function serviceEntryEndpoints(se: ServiceEntry, host: string, workloads: readonly WorkloadEntry[]): MeshEndpoint[] {
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

/** Does any Service or ServiceEntry (visible to the client or not) declare a host overlapping `host`? */
export function isDeclared(registry: ServiceRegistry, host: string): boolean {
  if (registry.declaredHosts.has(host)) return true;
  if (registry.declaredWildcards.some((w) => hostsOverlap(w, host))) return true;
  return isWildcardHost(host) && [...registry.declaredHosts].some((d) => hostsOverlap(d, host));
}
