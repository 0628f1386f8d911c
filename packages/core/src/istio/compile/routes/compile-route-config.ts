// RDS for a proxyless client: one RouteConfiguration per service port, named like the default
// cluster (`outbound|<port>||<host>`), holding the single virtual host `<host>:<port>` — istiod's
// grpcgen filters the sidecar's per-port table down to the requested host.
//
// Domains are the sidecar's (httproute.generateVirtualHostDomains) with ports kept, as proxyless
// clients match on host:port: the host and host:port; its absolute form (trailing dot, on by
// default since PILOT_ENABLE_ABSOLUTE_FQDN_VHOST_DOMAIN); for `*.svc.<domain>` hosts the short
// names a client in the same namespace (name, name.ns, name.ns.svc) or another namespace
// (name.ns, name.ns.svc) may use, each with and without port; the same for every ExternalName
// alias of the service; then the service's addresses (a Kubernetes Service's cluster IPs).

import type { Route, RouteConfiguration, VirtualHost } from '../../../xds/resources.ts';
import type { ClientIdentity } from '../common/compile-context.ts';
import type { MeshService } from '../../service-model.ts';
import { hostPort, ipv6Compliant, isIpAddress } from '../common/host-names.ts';

export function routeConfiguration(name: string, svc: MeshService, port: number, routes: Route[], client: ClientIdentity, knownFqdns: ReadonlySet<string>): RouteConfiguration {
  const vh: VirtualHost = {
    name: hostPort(svc.hostname, port),
    domains: virtualHostDomains(svc, port, client, knownFqdns),
    routes,
    includeRequestAttemptCount: true,
  };
  return { name, virtualHosts: [vh] };
}

/**
 * `knownFqdns` holds the hosts (and host:port names) of every service on this port: an expanded
 * short name equal to one of them belongs to that service and is left out here.
 */
export function virtualHostDomains(svc: MeshService, port: number, client: ClientIdentity, knownFqdns: ReadonlySet<string>): string[] {
  const domains: string[] = [];
  const alt: string[] = [];
  // The service's own names, then those of its ExternalName aliases (generateVirtualHostDomains).
  for (const host of [svc.hostname, ...svc.aliases]) {
    const own = altHosts(host, port, client);
    domains.push(ipv6Compliant(host), hostPort(host, port), ...own);
    alt.push(...own);
  }
  for (const addr of svc.addresses) {
    if (addr !== '' && addr !== '0.0.0.0') domains.push(ipv6Compliant(addr), hostPort(addr, port));
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const d of domains) {
    const key = d.toLowerCase();
    if (seen.has(key)) continue;
    if (alt.includes(d) && knownFqdns.has(d)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function altHosts(host: string, port: number, client: ClientIdentity): string[] {
  const out: string[] = [];
  if (!isIpAddress(host)) out.push(`${host}.`);
  out.push(hostPort(`${host}.`, port));
  // The client's DNS domain is `<ns>.svc.<clusterDomain>`; only hosts under `.svc.<clusterDomain>`
  // are Kubernetes-style names that short forms may stand for.
  const svcSuffix = `.svc.${client.clusterDomain}`;
  if (!host.endsWith(svcSuffix)) return out;
  const ih = host.indexOf('.svc.');
  const dot = host.indexOf('.');
  if (ih <= 0 || dot + 1 >= host.length || dot + 1 > ih) return out;
  const name = host.slice(0, dot);
  const nameNs = host.slice(0, ih);
  if (host.slice(dot + 1, ih) === client.namespace) {
    out.push(name, hostPort(name, port), `${nameNs}.svc`, hostPort(`${nameNs}.svc`, port), nameNs, hostPort(nameNs, port));
  } else {
    out.push(nameNs, hostPort(nameNs, port), `${nameNs}.svc`, hostPort(`${nameNs}.svc`, port));
  }
  return out;
}
