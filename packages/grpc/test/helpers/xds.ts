// Hand-written xDS resources, as a control plane sends them, so the gRPC data path is tested on
// its own, apart from the CRD compiler.

import { Mesh, resolveIdentity, silentLogger, type Cluster, type ClusterLoadAssignment, type Listener, type Route, type RouteConfiguration, type XdsResources } from '@meshlet/core';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export const FQDN = 'echo.default.svc.cluster.local';
export const PORT = 9000;
export const TARGET = `mesh:///${FQDN}:${PORT}`;
export const C = (subset: string) => `outbound|${PORT}|${subset}|${FQDN}`;

type Part = { listener?: Listener; routeConfig?: RouteConfiguration; cluster?: Cluster; cla?: ClusterLoadAssignment };

export function service(routes: Route[], fqdn = FQDN, port = PORT): Part {
  const rc = `outbound|${port}||${fqdn}`;
  return {
    listener: { name: `${fqdn}:${port}`, apiListener: { apiListener: { '@type': HCM, rds: { routeConfigName: rc, configSource: { ads: {} } } } } },
    routeConfig: { name: rc, virtualHosts: [{ name: `${fqdn}:${port}`, domains: [fqdn, `${fqdn}:${port}`, '*'], routes }] },
  };
}

type Thresholds = NonNullable<NonNullable<Cluster['circuitBreakers']>['thresholds']>[number];

// Istio programs every circuit-breaker limit as 2^32-1 unless a DestinationRule sets one; the
// tests do the same, so Envoy's own defaults (e.g. max_retries 3) apply only where a test says.
const ISTIO_LIMITS: Thresholds = { maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 4294967295, maxRetries: 4294967295 };

export function cluster(name: string, ports: number[], lbPolicy: Cluster['lbPolicy'] = 'ROUND_ROBIN', limits: Partial<Thresholds> = {}): Part {
  return {
    cluster: { name, type: 'EDS', edsClusterConfig: { serviceName: name, edsConfig: { ads: {} } }, lbPolicy, connectTimeout: '1s', circuitBreakers: { thresholds: [{ ...ISTIO_LIMITS, ...limits }] } },
    cla: { clusterName: name, endpoints: [{ lbEndpoints: ports.map((p) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: p } } } })) }] },
  };
}

export function resourcesOf(parts: Part[]): XdsResources {
  const r: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
  for (const p of parts) {
    if (p.listener) r.listeners.set(p.listener.name, p.listener);
    if (p.routeConfig) r.routeConfigs.set(p.routeConfig.name, p.routeConfig);
    if (p.cluster) r.clusters.set(p.cluster.name, p.cluster);
    if (p.cla) r.endpoints.set(p.cla.clusterName, p.cla);
  }
  return r;
}

export function meshOf(parts: Part[]): Mesh {
  const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
  const errors = mesh.applyResources(resourcesOf(parts), 'test');
  if (errors.length) throw new Error(`test resources rejected: ${errors.join('; ')}`);
  return mesh;
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
