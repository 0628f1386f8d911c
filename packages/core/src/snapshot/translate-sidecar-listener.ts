// A listener in the form istiod's sidecar generator (pilot/pkg/networking/core) sends an Envoy
// sidecar → what Meshlet routes with. A sidecar listener is a socket with filter chains, not an
// API listener:
//
//  - `0.0.0.0_9080` (outbound, one per port): a filter chain holding the HTTP connection
//    manager, whose RDS route configuration is named by the port ("9080") and holds one virtual
//    host per service on that port (every name it goes by: short names, FQDN, cluster IP) plus
//    the catch-all `*` host (allow_any → PassthroughCluster, or block_all → 502). Other chains
//    of the port (TCP proxies matched by destination IP, TLS passthrough) are not HTTP.
//  - `virtualOutbound` (use_original_dst, port 15001): where a connection no port listener takes
//    goes — its catch-all chain's TCP proxy to PassthroughCluster (ALLOW_ANY) or
//    BlackHoleCluster (REGISTRY_ONLY).
//  - TCP-only listeners (`10.0.0.1_3306`) and inbound ones (`virtualInbound`): nothing Meshlet
//    routes; they are kept, with a note saying so, so the config dump stays complete.
//
// Meshlet routes HTTP and gRPC requests by their logical host, so it reads the HTTP chain's route
// configuration and the catch-all's cluster, and notes every other chain as ignored. A broken
// HTTP connection manager rejects the listener (NACK) as Envoy would.

import type { FilterChain, HttpConnectionManager, Listener, RouteConfiguration } from '../xds/resources.ts';
import { TYPE_URL } from '../xds/resources.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
export const TCP_PROXY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
/** istiod's catch-all clusters (pilot/pkg/networking/util): where unmatched connections go. */
const CATCH_ALL_CLUSTERS = new Set(['PassthroughCluster', 'BlackHoleCluster', 'InboundPassthroughCluster']);

export interface SidecarListener {
  readonly name: string;
  /** The port the listener takes connections for (the address's port). */
  readonly port: number | undefined;
  readonly inbound: boolean;
  /** virtualOutbound: use_original_dst, the catch-all for ports no other listener takes. */
  readonly virtualOutbound: boolean;
  /** The HTTP chain's route configuration: an RDS name, or inline. */
  readonly routeConfigName: string | undefined;
  readonly inlineRouteConfig: RouteConfiguration | undefined;
  /** The cluster the catch-all chain (no match conditions) proxies TCP to, if it is a TCP proxy. */
  readonly catchAllCluster: string | undefined;
  /** What Meshlet does not act on, one line each, for the config dump. */
  readonly notes: readonly string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function translateSidecarListener(l: Listener): Result<SidecarListener> {
  if (!l.name) return fail('Listener: name is required');
  const at = `Listener ${l.name}`;
  const port = l.address?.socketAddress?.portValue;
  const inbound = l.trafficDirection === 'INBOUND';
  const virtualOutbound = l.useOriginalDst === true;
  const notes: string[] = [];
  if (inbound) {
    notes.push(`${at}: inbound listener ignored: Meshlet's server helpers enforce inbound policy themselves`);
    return ok({ name: l.name, port, inbound, virtualOutbound, routeConfigName: undefined, inlineRouteConfig: undefined, catchAllCluster: undefined, notes });
  }
  let routeConfigName: string | undefined;
  let inlineRouteConfig: RouteConfiguration | undefined;
  let catchAllCluster: string | undefined;
  const chains = [...(l.filterChains ?? []), ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])];
  for (let i = 0; i < chains.length; i++) {
    const chain = chains[i]!;
    const cat = i < (l.filterChains?.length ?? 0) ? `${at}: filterChains[${i}]` : `${at}: defaultFilterChain`;
    const label = chain.name ? `${cat} (${chain.name})` : cat;
    const filters = chain.filters ?? [];
    const hcmFilter = filters.find((f) => f.name === HCM_FILTER || f.typedConfig?.['@type'] === TYPE_URL.HttpConnectionManager);
    if (hcmFilter && virtualOutbound) {
      // ALLOW_ANY_DYNAMIC_DNS: unknown HTTP hosts through a dynamic forward proxy cluster.
      notes.push(`${label}: HTTP filter chain of the catch-all listener ignored: hosts outside the mesh go by its TCP catch-all`);
      continue;
    }
    if (hcmFilter) {
      const hcm = hcmFilter.typedConfig as unknown as HttpConnectionManager | undefined;
      if (!isObj(hcm) || hcm['@type'] !== TYPE_URL.HttpConnectionManager) return fail(`${cat}.filters: ${HCM_FILTER}: typedConfig must be an HttpConnectionManager`);
      const r = hcmRoutes(hcm, `${cat}.filters[${HCM_FILTER}].typedConfig`);
      if (!r.ok) return r;
      if (routeConfigName === undefined && inlineRouteConfig === undefined) {
        routeConfigName = r.value.routeConfigName;
        inlineRouteConfig = r.value.inlineRouteConfig;
      } else if (r.value.routeConfigName !== routeConfigName) {
        notes.push(`${label}: a second HTTP filter chain (route configuration ${r.value.routeConfigName ?? 'inline'}) ignored: Meshlet routes a port by one route table`);
      }
      continue;
    }
    const tcp = filters.find((f) => f.name === TCP_PROXY_FILTER || f.typedConfig?.['@type'] === TCP_PROXY_TYPE_URL);
    const cluster = tcp && isObj(tcp.typedConfig) && typeof tcp.typedConfig['cluster'] === 'string' ? tcp.typedConfig['cluster'] : undefined;
    if (virtualOutbound && cluster !== undefined && isCatchAll(chain)) {
      catchAllCluster ??= cluster;
      continue;
    }
    // istiod's guard against connections to the catch-all's own port looping: nothing to route.
    if (virtualOutbound && chain.filterChainMatch?.['destinationPort'] === port) continue;
    // A port's own catch-all (non-HTTP bytes to PassthroughCluster) loses nothing: Meshlet's
    // requests are HTTP, and hosts outside the mesh are answered by the route table's `*` host.
    if (cluster !== undefined && CATCH_ALL_CLUSTERS.has(cluster)) continue;
    const what = tcp ? `TCP proxy to ${cluster ?? 'weighted clusters'}` : `network filters ${filters.map((f) => f.name).join(', ') || '(none)'}`;
    notes.push(`${label}: ${what} ignored: Meshlet routes HTTP and gRPC requests, not TCP connections`);
  }
  return ok({ name: l.name, port, inbound, virtualOutbound, routeConfigName, inlineRouteConfig, catchAllCluster, notes });
}

/** A chain with no match conditions is where a listener's unmatched connections go. */
function isCatchAll(chain: FilterChain): boolean {
  const m = chain.filterChainMatch;
  return !m || Object.values(m).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
}

function hcmRoutes(hcm: HttpConnectionManager, field: string): Result<{ routeConfigName: string | undefined; inlineRouteConfig: RouteConfiguration | undefined }> {
  if (hcm.rds) {
    if (!hcm.rds.routeConfigName) return fail(`${field}.rds.routeConfigName: required`);
    if (hcm.rds.configSource && !hcm.rds.configSource.ads) return fail(`${field}.rds.configSource: only ads is supported`);
    return ok({ routeConfigName: hcm.rds.routeConfigName, inlineRouteConfig: undefined });
  }
  if (hcm.routeConfig) return ok({ routeConfigName: undefined, inlineRouteConfig: hcm.routeConfig });
  return fail(`${field}: neither rds nor routeConfig is set`);
}

/** The HttpConnectionManagers of a sidecar listener's filter chains. */
export function filterChainManagers(l: Listener): HttpConnectionManager[] {
  const out: HttpConnectionManager[] = [];
  for (const chain of [...(l.filterChains ?? []), ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
    for (const f of chain.filters ?? []) {
      if (f.typedConfig?.['@type'] === TYPE_URL.HttpConnectionManager) out.push(f.typedConfig as unknown as HttpConnectionManager);
    }
  }
  return out;
}
