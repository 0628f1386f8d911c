// The Sidecar that applies to this client and what it lets the client see, as istiod's
// SidecarScope works it out (pilot/pkg/model/sidecar.go, push_context.go getSidecarScope):
//
//  - selection: in the client's namespace, Sidecars with a workloadSelector come first (oldest
//    first) and the first whose labels the client has wins; else the namespace's Sidecar without
//    a selector; else the root namespace's Sidecar without a selector, read as if it were in the
//    client's namespace (`.` means the client's). No Sidecar: no scoping (every visible service).
//  - egress listeners: each `hosts` entry is `namespace/dnsName`; `*` any namespace, `.` the
//    client's, `~ns/...` excludes (a bare `~` is every namespace), dnsName `*` all, `*.foo.com`
//    wildcards. A service (host, namespace) is imported by a listener when no exclusion of that
//    listener covers it and an entry of its namespace or of `*` does — exact names by equality,
//    wildcards by covering. A listener with a port imports only that port of the service.
//    No egress at all means one listener with `*/*`.
//  - VirtualServices: selected per listener when one of their hosts matches an entry of the
//    VirtualService's own namespace or of `*` (both ways for wildcards; Gateway API routes only
//    one way) and is not excluded; the services their destinations name are imported too
//    (clusters only: a sidecar has no virtual host for them).
//  - outboundTrafficPolicy: the Sidecar's when it sets one (proto3: no `mode` is REGISTRY_ONLY),
//    else the mesh's.

import type { Destination, HTTPRoute, Sidecar, VirtualService } from '../../types.ts';
import type { MeshSettings, OutboundMode } from '../../mesh-config.ts';
import type { ClientIdentity } from './client-identity.ts';
import { compareByCreation, labelsMatch, objectKey } from '../../object-conventions.ts';
import { hostCovers, hostsOverlap, isWildcardHost } from './host-names.ts';

interface HostClassification {
  readonly exact: Set<string>;
  readonly all: string[];
  readonly excluded: string[];
}

interface EgressScope {
  /** The listener's port; undefined for the catch-all listener. */
  readonly port: number | undefined;
  readonly byNamespace: ReadonlyMap<string, HostClassification>;
}

/** Which ports of a service a scope imports: every one, or some. */
export type PortImport = 'all' | ReadonlySet<number>;

export interface OutboundChoice {
  readonly mode: OutboundMode;
  /** ALLOW_ANY only: the Sidecar's egressProxy, where hosts outside the registry are sent. */
  readonly egressProxy: Destination | undefined;
  /** What set it: `Sidecar ns/name`, `MeshConfig <file:line>`, or `default`. */
  readonly origin: string;
}

export class SidecarScope {
  /** The Sidecar in force, `ns/name`. */
  readonly name: string;
  readonly sidecar: Sidecar;
  readonly #listeners: EgressScope[];
  readonly #namespace: string;

  constructor(sidecar: Sidecar, clientNamespace: string) {
    this.sidecar = sidecar;
    this.name = objectKey(sidecar);
    this.#namespace = clientNamespace;
    const egress = sidecar.spec.egress?.length ? sidecar.spec.egress : [{ hosts: ['*/*'] }];
    this.#listeners = egress.map((e) => ({ port: e.port?.number || undefined, byNamespace: classify(e.hosts ?? [], clientNamespace) }));
  }

  /** The egress hosts as written, for the config dump. */
  get egressHosts(): string[] {
    return (this.sidecar.spec.egress ?? [{ hosts: ['*/*'] }]).flatMap((e) => (e.hosts ?? []).map((h) => (e.port?.number ? `${h} (port ${e.port.number})` : h)));
  }

  /** Which ports of service `host` declared in `namespace` the client sees; undefined: none. */
  imports(host: string, namespace: string): PortImport | undefined {
    let ports: Set<number> | undefined;
    for (const l of this.#listeners) {
      const own = l.byNamespace.get(namespace);
      const any = l.byNamespace.get('*');
      if ((own && excluded(own, host)) || (any && excluded(any, host))) continue;
      if (!((own && matches(own, host)) || (any && matches(any, host)))) continue;
      if (l.port === undefined) return 'all';
      (ports ??= new Set()).add(l.port);
    }
    return ports;
  }

  /**
   * Whether a VirtualService is selected for the listener that serves `port` (the listener of
   * that port, else the catch-all), or for any listener when `port` is undefined.
   */
  selects(vs: VirtualService, hosts: readonly string[], gatewaySemantics: boolean, port?: number): boolean {
    if (port === undefined) return this.#listeners.some((l) => selectedBy(l, vs, hosts, gatewaySemantics));
    const l = this.#listenerFor(port);
    return l !== undefined && selectedBy(l, vs, hosts, gatewaySemantics);
  }

  /**
   * The ports of a service imported only because a selected VirtualService sends to it, as
   * istiod's collectImportedServices trims it: a listener with a port imports that port, the
   * catch-all the ports the rules name (`destinationPorts` empty: every port). Undefined: none.
   */
  destinationImport(vs: VirtualService, hosts: readonly string[], gatewaySemantics: boolean, destinationPorts: ReadonlySet<number>): PortImport | undefined {
    let ports: Set<number> | undefined;
    for (const l of this.#listeners) {
      if (!selectedBy(l, vs, hosts, gatewaySemantics)) continue;
      if (l.port !== undefined) (ports ??= new Set()).add(l.port);
      else if (destinationPorts.size === 0) return 'all';
      else for (const p of destinationPorts) (ports ??= new Set()).add(p);
    }
    return ports;
  }

  #listenerFor(port: number): EgressScope | undefined {
    return this.#listeners.find((l) => l.port === port) ?? this.#listeners.find((l) => l.port === undefined);
  }

  /** The namespace the scope is computed for (the client's). */
  get namespace(): string {
    return this.#namespace;
  }
}

/** The Sidecar istiod would give a client: see the header. */
export function selectSidecar(sidecars: readonly Sidecar[], client: Pick<ClientIdentity, 'namespace' | 'labels' | 'rootNamespace'>): Sidecar | undefined {
  const sorted = [...sidecars].sort(compareByCreation);
  const own = sorted.filter((s) => s.metadata.namespace === client.namespace);
  const withSelector = own.find((s) => s.spec.workloadSelector !== undefined && labelsMatch(s.spec.workloadSelector.labels, client.labels));
  if (withSelector) return withSelector;
  const nsDefault = own.find((s) => s.spec.workloadSelector === undefined);
  if (nsDefault) return nsDefault;
  return sorted.find((s) => s.metadata.namespace === client.rootNamespace && s.spec.workloadSelector === undefined);
}

/** The outbound traffic policy in force: the Sidecar's, else the mesh's. */
export function outboundChoice(sidecar: Sidecar | undefined, mesh: MeshSettings): OutboundChoice {
  const p = sidecar?.spec.outboundTrafficPolicy;
  if (p) {
    // proto3: an unset mode is REGISTRY_ONLY, the enum's zero value.
    const mode: OutboundMode = p.mode === 'ALLOW_ANY' ? 'ALLOW_ANY' : 'REGISTRY_ONLY';
    return { mode, egressProxy: mode === 'ALLOW_ANY' ? p.egressProxy : undefined, origin: `Sidecar ${objectKey(sidecar)}` };
  }
  return { mode: mesh.outboundTrafficPolicy, egressProxy: undefined, origin: mesh.origin === 'defaults' ? 'default' : `MeshConfig ${mesh.origin}` };
}

/** Destination hosts (resolved) and their ports of the rules that apply to `namespace` (virtualServiceDestinationsFilteredBySourceNamespace). */
export function virtualServiceDestinations(rules: readonly HTTPRoute[], namespace: string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const add = (d: Destination | undefined): void => {
    if (!d) return;
    const ports = out.get(d.host) ?? new Set<number>();
    // istiod records 0 for "every port".
    if (d.port?.number) ports.add(d.port.number);
    else ports.add(0);
    out.set(d.host, ports);
  };
  for (const rule of rules) {
    const matches = rule.match ?? [];
    if (matches.length > 0 && !matches.some((m) => m.sourceNamespace === undefined || m.sourceNamespace === '' || m.sourceNamespace === namespace)) continue;
    for (const r of rule.route ?? []) add(r.destination);
    add(rule.mirror);
    for (const m of rule.mirrors ?? []) add(m.destination);
  }
  for (const ports of out.values()) if (ports.has(0)) ports.clear();
  return out;
}

function selectedBy(l: EgressScope, vs: VirtualService, hosts: readonly string[], gatewaySemantics: boolean): boolean {
  const own = l.byNamespace.get(vs.metadata.namespace);
  const any = l.byNamespace.get('*');
  return hosts.some((h) => ((own && vsMatches(own, h, gatewaySemantics)) || (any && vsMatches(any, h, gatewaySemantics)))
    && !((own && excluded(own, h)) || (any && excluded(any, h))));
}

function classify(hosts: readonly string[], clientNamespace: string): Map<string, HostClassification> {
  const out = new Map<string, HostClassification>();
  for (const h of hosts) {
    const slash = h.indexOf('/');
    // Validation rejects such a host; istiod skips it with an error log.
    if (slash < 0 || h.indexOf('/', slash + 1) >= 0) continue;
    let ns = h.slice(0, slash);
    const name = h.slice(slash + 1).toLowerCase();
    const isExcluded = ns.startsWith('~');
    if (isExcluded) ns = ns.slice(1) || '*';
    if (ns === '.') ns = clientNamespace;
    let c = out.get(ns);
    if (!c) out.set(ns, (c = { exact: new Set(), all: [], excluded: [] }));
    if (isExcluded) {
      c.excluded.push(name);
      continue;
    }
    if (!isWildcardHost(name)) c.exact.add(name);
    c.all.push(name);
  }
  return out;
}

function excluded(c: HostClassification, host: string): boolean {
  return c.excluded.some((e) => subsetOf(host, e));
}

function matches(c: HostClassification, host: string): boolean {
  if (c.exact.has(host)) return true;
  const wild = isWildcardHost(host);
  return c.all.some((imported) => (wild || isWildcardHost(imported)) && subsetOf(host, imported));
}

function vsMatches(c: HostClassification, vsHost: string, gatewaySemantics: boolean): boolean {
  if (c.exact.has(vsHost)) return true;
  const wild = isWildcardHost(vsHost);
  return c.all.some((imported) => (wild || isWildcardHost(imported)) && (gatewaySemantics ? subsetOf(vsHost, imported) : hostsOverlap(vsHost, imported)));
}

/** host.Name.SubsetOf: every name `h` matches is matched by `o`. */
function subsetOf(h: string, o: string): boolean {
  if (isWildcardHost(h)) return isWildcardHost(o) && h.slice(1).endsWith(o.slice(1));
  return isWildcardHost(o) ? hostCovers(o, h) : h === o;
}
