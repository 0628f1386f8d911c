// Host-name rules shared by the CRD compiler and the router. Istio compares host names as plain
// strings after resolving short names, with one kind of wildcard: a leading `*` label that covers
// any non-empty prefix (`*.foo.com` covers `bar.foo.com` and `a.bar.foo.com`, never `foo.com`;
// a lone `*` covers everything). These helpers restate istio/istio pkg/config/host and
// pilot/pkg/model ResolveShortnameToFQDN so both sides of Meshlet agree on one reading.

export interface DnsContext {
  /** The client's namespace: the first search domain is `<namespace>.svc.<clusterDomain>`. */
  namespace: string;
  /** Usually 'cluster.local'. */
  clusterDomain: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpAddress(host: string): boolean {
  if (IPV4.test(host)) return host.split('.').every((o) => Number(o) <= 255);
  // An IPv6 literal always holds a colon and nothing outside hex digits, colons and dots.
  return host.includes(':') && /^[0-9a-fA-F:.]+$/.test(host);
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}

/**
 * The FQDN a CRD means by `name`: a name without a dot is short for a Kubernetes service in the
 * object's own namespace; anything dotted, an IP, or the lone `*` is taken as written.
 */
export function resolveShortName(name: string, namespace: string, clusterDomain: string): string {
  if (name === '' || name === '*' || isIpAddress(name) || name.includes('.')) return name;
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

/** Does `pattern` (possibly a wildcard) cover the concrete or wildcard host `host`? */
export function hostCovers(pattern: string, host: string): boolean {
  if (!isWildcardHost(pattern)) return pattern === host;
  const suffix = pattern.slice(1); // '' for '*', '.foo.com' for '*.foo.com'
  if (isWildcardHost(host)) return host.slice(1).endsWith(suffix);
  return host.endsWith(suffix) && host.length > suffix.length;
}

/**
 * Istio's symmetric `host.Name.Matches`: true when either name covers the other. Used where
 * Istio asks "do these two hosts overlap at all" (e.g. a VirtualService host against a service).
 */
export function hostsOverlap(a: string, b: string): boolean {
  const aw = isWildcardHost(a);
  const bw = isWildcardHost(b);
  if (aw && bw) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/** Istio's host ordering: concrete before wildcard, then longer before shorter, then alphabetical. */
export function moreSpecificHost(a: string, b: string): boolean {
  const aw = isWildcardHost(a);
  const bw = isWildcardHost(b);
  if (aw !== bw) return !aw;
  if (a.length === b.length) return a < b;
  return a.length > b.length;
}

/**
 * The entry whose key best matches `needle`: an exact key first, else the most specific wildcard
 * key covering it (model.MostSpecificHostMatch). Keys of `wildcard` all start with `*`.
 */
export function mostSpecificHostMatch<V>(
  needle: string,
  specific: ReadonlyMap<string, V>,
  wildcard: ReadonlyMap<string, V>,
): { host: string; value: V } | undefined {
  if (isWildcardHost(needle)) {
    const exact = wildcard.get(needle);
    if (exact !== undefined) return { host: needle, value: exact };
  } else {
    const exact = specific.get(needle);
    if (exact !== undefined) return { host: needle, value: exact };
  }
  const target = isWildcardHost(needle) ? needle.slice(1) : needle;
  let best: { host: string; value: V } | undefined;
  for (const [h, v] of wildcard) {
    if (!target.endsWith(h.slice(1))) continue;
    if (best === undefined || moreSpecificHost(h, best.host)) best = { host: h, value: v };
  }
  return best;
}

/** `host:port`, bracketing IPv6 literals as URLs and Envoy domains do. */
export function hostPort(host: string, port: number): string {
  return `${ipv6Compliant(host)}:${port}`;
}

export function ipv6Compliant(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The host names a client's resolver tries for a URL host (without port), in order, as the
 * Kubernetes pod resolver does (search list `<ns>.svc.<domain> svc.<domain> <domain>`, ndots 5):
 * `reviews` → `reviews.<ns>.svc.<domain>`, `reviews.svc.<domain>`, `reviews.<domain>`, `reviews`;
 * `reviews.prod` → `reviews.prod.<ns>.svc.<domain>`, `reviews.prod.svc.<domain>`, ... The router
 * takes the first candidate the mesh declares. A name already under the cluster domain, an IP, or
 * an absolute name (trailing dot) is the only candidate for itself.
 */
export function requestHostCandidates(host: string, ctx: DnsContext): string[] {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) return [h.slice(0, -1)];
  if (isIpAddress(h)) return [h];
  const domain = ctx.clusterDomain;
  if (h === domain || h.endsWith(`.${domain}`)) return [h];
  const searched = [`${ctx.namespace}.svc.${domain}`, `svc.${domain}`, domain].map((s) => `${h}.${s}`);
  // With five or more dots the resolver tries the name as written before the search list.
  const dots = h.split('.').length - 1;
  return dots >= 5 ? [h, ...searched] : [...searched, h];
}
