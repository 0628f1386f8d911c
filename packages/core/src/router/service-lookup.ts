// Which mesh service a request's host:port names, as Kubernetes DNS and Istio's virtual-host
// domains resolve it for a client in namespace `ns`: `reviews` → reviews.<ns>.svc.<domain>,
// `reviews.prod` → reviews.prod.svc.<domain>, `reviews.prod.svc` → + .<domain>, anything else
// is taken as written; then wildcard ServiceEntry hosts (`*.foo.com` matches `a.foo.com`). An
// IP address names the service whose virtual host lists it (a Kubernetes cluster IP, a
// ServiceEntry address), as a sidecar's per-port route table matches it.

import type { MeshSnapshot, ServiceRoutes, VirtualHostRoutes } from '../snapshot/mesh-snapshot.ts';

export interface ClientScope {
  readonly namespace: string;
  readonly clusterDomain: string;
}

export interface ServiceMatch {
  readonly service: ServiceRoutes;
  /** The FQDN the host resolved to. */
  readonly fqdn: string;
}

export function candidateHosts(host: string, scope: ClientScope): string[] {
  const h = host.toLowerCase();
  const dots = h.split('.').length - 1;
  const out = [h];
  if (dots === 0) out.push(`${h}.${scope.namespace}.svc.${scope.clusterDomain}`);
  else if (dots === 1) out.push(`${h}.svc.${scope.clusterDomain}`);
  else if (h.endsWith('.svc')) out.push(`${h}.${scope.clusterDomain}`);
  return out;
}

export function findService(snapshot: MeshSnapshot, host: string, port: number, scope: ClientScope): ServiceMatch | undefined {
  const address = addressKey(host);
  const byAddress = address === undefined ? undefined : snapshot.addressServices.get(`${address}:${port}`);
  if (byAddress) return { service: byAddress, fqdn: listenerHost(byAddress.listener) };
  const candidates = candidateHosts(host, scope);
  for (const fqdn of candidates) {
    const service = snapshot.services.get(`${fqdn}:${port}`);
    if (service) return { service, fqdn: service.host ?? fqdn };
  }
  for (const w of snapshot.wildcardServices) {
    if (w.port !== port) continue;
    for (const fqdn of candidates) if (fqdn.endsWith(w.suffix) && fqdn.length > w.suffix.length) return { service: w.service, fqdn };
  }
  return undefined;
}

/** `host` as an address key (IPv6 bracketed), or undefined when it is a name. */
function addressKey(host: string): string | undefined {
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(host)) return host;
  if (host.startsWith('[') && host.endsWith(']')) return host.toLowerCase();
  if (host.includes(':')) return `[${host.toLowerCase()}]`;
  return undefined;
}

function listenerHost(listener: string): string {
  const i = listener.lastIndexOf(':');
  return i < 0 || listener.endsWith(']') ? listener : listener.slice(0, i);
}

/**
 * Envoy's virtual-host selection: an exact domain, then the longest `*.suffix`, then the
 * longest `prefix.*`, then `*`. Tried for each name the request may go by, in order.
 */
export function selectVirtualHost(service: ServiceRoutes, names: readonly string[]): VirtualHostRoutes | undefined {
  for (const raw of names) {
    const best = bestForName(service, raw.toLowerCase());
    if (best) return best;
  }
  return service.virtualHosts.find((vh) => vh.domains.includes('*'));
}

function bestForName(service: ServiceRoutes, name: string): VirtualHostRoutes | undefined {
  let best: VirtualHostRoutes | undefined;
  let bestRank = 0;
  for (const vh of service.virtualHosts) {
    for (const d of vh.domains) {
      const rank = domainRank(d, name);
      if (rank > bestRank) { best = vh; bestRank = rank; }
    }
  }
  return best;
}

// Higher is a better match: exact beats any suffix wildcard beats any prefix wildcard, and a
// longer wildcard beats a shorter one. 0 = no match ('*' is handled as the last resort).
function domainRank(domain: string, name: string): number {
  if (domain === name) return 3_000_000;
  if (domain.length > 1 && domain.startsWith('*') && name.length >= domain.length && name.endsWith(domain.slice(1))) return 2_000_000 + domain.length;
  if (domain.length > 1 && domain.endsWith('*') && name.length >= domain.length && name.startsWith(domain.slice(0, -1))) return 1_000_000 + domain.length;
  return 0;
}

// ---- per-request fast path ----
//
// A request's host:port and authority come from a small set, and the answers above depend only
// on the snapshot (services are immutable) and the client's scope (fixed per mesh). So each is
// computed once per snapshot and then read from a map: no candidate names, concatenations or
// lower-casing per request. The caches are bounded because hosts outside the mesh (ALLOW_ANY)
// can be anything; past the bound they start over.

const CACHE_LIMIT = 1024;
const NOT_FOUND = null;

/** Per snapshot (and scope): port → host → match. */
const serviceCache = new WeakMap<MeshSnapshot, { scope: ClientScope; size: number; byPort: Map<number, Map<string, ServiceMatch | null>> }>();

/** findService, remembered per snapshot. */
export function lookupService(snapshot: MeshSnapshot, host: string, port: number, scope: ClientScope): ServiceMatch | undefined {
  let c = serviceCache.get(snapshot);
  if (!c || c.scope !== scope) {
    c = { scope, size: 0, byPort: new Map() };
    serviceCache.set(snapshot, c);
  }
  let hosts = c.byPort.get(port);
  const hit = hosts?.get(host);
  if (hit !== undefined) return hit ?? undefined;
  const found = findService(snapshot, host, port, scope);
  if (c.size >= CACHE_LIMIT) { c.byPort.clear(); c.size = 0; hosts = undefined; }
  if (!hosts) { hosts = new Map(); c.byPort.set(port, hosts); }
  hosts.set(host, found ?? NOT_FOUND);
  c.size++;
  return found;
}

/** Per service: authority → the virtual host its own name selects (the usual case). */
const vhostCache = new WeakMap<ServiceRoutes, Map<string, VirtualHostRoutes>>();

/**
 * selectVirtualHost for [authority, `${fqdn}:${port}`, fqdn], remembered per service when the
 * authority itself picks the virtual host (then the other names never matter).
 */
export function virtualHostFor(service: ServiceRoutes, authority: string, fqdn: string, port: number): VirtualHostRoutes | undefined {
  let m = vhostCache.get(service);
  const hit = m?.get(authority);
  if (hit) return hit;
  // Cached under the authority as sent; the port is stripped only to match (ignore_port_in_host_matching).
  const byAuthority = bestForName(service, (service.ignorePort ? withoutPort(authority) : authority).toLowerCase());
  if (byAuthority) {
    if (!m) { m = new Map(); vhostCache.set(service, m); }
    if (m.size >= CACHE_LIMIT) m.clear();
    m.set(authority, byAuthority);
    return byAuthority;
  }
  return selectVirtualHost(service, service.ignorePort ? [fqdn] : [`${fqdn}:${port}`, fqdn]);
}

/** `host:port` → `host` (`[v6]:port` → `[v6]`), as Envoy's ignore_port_in_host_matching strips it. */
function withoutPort(authority: string): string {
  const i = authority.lastIndexOf(':');
  return i > 0 && !authority.endsWith(']') && /^\d+$/.test(authority.slice(i + 1)) ? authority.slice(0, i) : authority;
}
