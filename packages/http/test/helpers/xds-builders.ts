// Hand-written xDS resources, as a control plane would send them, so the data path is tested
// independently of the CRD compiler.

import type { Cluster, ClusterLoadAssignment, Listener, Route, RouteConfiguration, XdsResources } from '@meshlet/core';

export const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export function service(fqdn: string, port: number, routes: Route[]): { listener: Listener; routeConfig: RouteConfiguration } {
  const rc = `outbound|${port}||${fqdn}`;
  return {
    listener: { name: `${fqdn}:${port}`, apiListener: { apiListener: { '@type': HCM, rds: { routeConfigName: rc, configSource: { ads: {} } } } } },
    routeConfig: { name: rc, virtualHosts: [{ name: `${fqdn}:${port}`, domains: [fqdn, `${fqdn}:${port}`, '*'], routes }] },
  };
}

export function cluster(name: string, ports: number[], lbPolicy: Cluster['lbPolicy'] = 'LEAST_REQUEST'): { cluster: Cluster; cla: ClusterLoadAssignment } {
  return {
    cluster: { name, type: 'EDS', edsClusterConfig: { serviceName: name, edsConfig: { ads: {} } }, lbPolicy, connectTimeout: '1s' },
    cla: { clusterName: name, endpoints: [{ lbEndpoints: ports.map((p) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: p } } } })) }] },
  };
}

export function resources(parts: { listener?: Listener; routeConfig?: RouteConfiguration; cluster?: Cluster; cla?: ClusterLoadAssignment }[]): XdsResources {
  const r: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
  for (const p of parts) {
    if (p.listener) r.listeners.set(p.listener.name, p.listener);
    if (p.routeConfig) r.routeConfigs.set(p.routeConfig.name, p.routeConfig);
    if (p.cluster) r.clusters.set(p.cluster.name, p.cluster);
    if (p.cla) r.endpoints.set(p.cla.clusterName, p.cla);
  }
  return r;
}
