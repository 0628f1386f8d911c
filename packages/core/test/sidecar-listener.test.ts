// Envoy sidecar listeners, hand-written as istiod's sidecar generator writes them, applied to a
// Mesh with no network: which names route where, what the catch-alls do, what is noted as
// ignored, and which listeners are rejected (by field).

import { describe, expect, it } from 'vitest';
import { Mesh, OutboundBlockedError, requestView, resolveIdentity, silentLogger, type Listener, type RouteConfiguration, type XdsResources } from '../src/index.ts';
import { SIDECAR_LISTENER } from '../src/config/xds/resource-types.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const hcm = (rc: string) => ({ name: 'envoy.filters.network.http_connection_manager', typedConfig: { '@type': HCM, statPrefix: 'x', rds: { routeConfigName: rc, configSource: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' } } } });
const tcp = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typedConfig: { '@type': TCP, statPrefix: cluster, cluster } });

function port9080(): Listener {
  return {
    name: '0.0.0.0_9080', address: { socketAddress: { address: '0.0.0.0', portValue: 9080 } }, trafficDirection: 'OUTBOUND', bindToPort: false,
    filterChains: [
      { filterChainMatch: { prefixRanges: [{ addressPrefix: '10.96.0.9', prefixLen: 32 }] }, filters: [tcp('outbound|9080||mongo.default.svc.cluster.local')] },
      { filterChainMatch: { applicationProtocols: ['http/1.1', 'h2c'] }, filters: [hcm('9080')] },
    ],
  };
}

function virtualOutbound(catchAll: string): Listener {
  return {
    name: 'virtualOutbound', address: { socketAddress: { address: '0.0.0.0', portValue: 15001 } }, useOriginalDst: true, trafficDirection: 'OUTBOUND',
    filterChains: [
      { name: 'virtualOutbound-blackhole', filterChainMatch: { destinationPort: 15001 }, filters: [tcp('BlackHoleCluster')] },
      { name: 'virtualOutbound-catchall-tcp', filters: [tcp(catchAll)] },
    ],
  };
}

const route9080 = (catchAll: 'allow_any' | 'block_all'): RouteConfiguration => ({
  name: '9080',
  virtualHosts: [
    { name: 'reviews.default.svc.cluster.local:9080', domains: ['reviews.default.svc.cluster.local', 'reviews', 'reviews.default', '10.96.0.5', 'reviews:9080', '10.96.0.5:9080'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'outbound|9080||reviews.default.svc.cluster.local', timeout: '0s' } }] },
    { name: '*.example.com:9080', domains: ['*.example.com'], routes: [{ name: 'ext', match: { prefix: '/' }, route: { cluster: 'outbound|9080||*.example.com', timeout: '0s' } }] },
    catchAll === 'allow_any'
      ? { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: '0s' } }] }
      : { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match: { prefix: '/' }, directResponse: { status: 502 } }] },
  ],
});

function meshWith(catchAll: 'allow_any' | 'block_all'): { mesh: Mesh; errors: string[] } {
  const mesh = new Mesh(resolveIdentity(), silentLogger);
  const r: XdsResources = {
    listeners: new Map([['0.0.0.0_9080', port9080()], ['virtualOutbound', virtualOutbound(catchAll === 'allow_any' ? 'PassthroughCluster' : 'BlackHoleCluster')]]),
    routeConfigs: new Map([['9080', route9080(catchAll)]]),
    clusters: new Map([
      ['outbound|9080||reviews.default.svc.cluster.local', { name: 'outbound|9080||reviews.default.svc.cluster.local', type: 'STATIC', loadAssignment: { clusterName: 'outbound|9080||reviews.default.svc.cluster.local', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 1 } } } }] }] } }],
      ['outbound|9080||*.example.com', { name: 'outbound|9080||*.example.com', type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED' }],
      ['PassthroughCluster', { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED' }],
      ['BlackHoleCluster', { name: 'BlackHoleCluster', type: 'STATIC' }],
    ]),
    endpoints: new Map(),
  };
  const errors = mesh.applyResources(r, 'test');
  return { mesh, errors };
}

const target = (mesh: Mesh, host: string, port = 9080, authority = `${host}:${port}`) => {
  const d = mesh.decide(requestView('GET', 'http', authority, '/', {}), host, port);
  return d.kind === 'forward' ? d.cluster.name : d.kind === 'direct' ? `direct ${d.action.status}` : d.kind === 'error' ? d.error : d.kind;
};

describe('an Envoy sidecar listener set', () => {
  it('routes every name a virtual host lists, by Host header, with the FQDN as the service', () => {
    const { mesh, errors } = meshWith('allow_any');
    expect(errors).toEqual([]);
    for (const name of ['reviews', 'reviews.default', 'reviews.default.svc.cluster.local', '10.96.0.5']) expect(target(mesh, name)).toBe('outbound|9080||reviews.default.svc.cluster.local');
    expect(mesh.explain({ url: 'http://10.96.0.5:9080/' }).virtualHost).toBe('reviews.default.svc.cluster.local:9080');
    expect(target(mesh, 'api.example.com')).toBe('outbound|9080||*.example.com');
    // The Host header picks the virtual host, as in Envoy, whatever address the request went to.
    expect(target(mesh, '10.96.0.5', 9080, 'api.example.com')).toBe('outbound|9080||*.example.com');
  });

  it('sends hosts none names to the port table\'s catch-all, and other ports to virtualOutbound\'s', () => {
    const allow = meshWith('allow_any').mesh;
    expect(target(allow, 'unknown.test')).toBe('PassthroughCluster');
    expect(target(allow, 'unknown.test', 8080)).toBe('passthrough');
    const block = meshWith('block_all').mesh;
    expect(target(block, 'unknown.test')).toBe('direct 502');
    expect(target(block, 'unknown.test', 8080)).toBeInstanceOf(OutboundBlockedError);
    expect(block.explain({ url: 'http://unknown.test:8080/' })).toMatchObject({ action: 'blocked', reason: expect.stringContaining('REGISTRY_ONLY') });
  });

  it('notes the TCP chain it does not route, and not the catch-all\'s loop guard', () => {
    const { mesh } = meshWith('allow_any');
    expect(mesh.configDump().notes).toEqual(['Listener 0.0.0.0_9080: filterChains[0]: TCP proxy to outbound|9080||mongo.default.svc.cluster.local ignored: Meshlet routes HTTP and gRPC requests, not TCP connections']);
  });

  it('NACKs a connection manager it cannot read, naming the field', () => {
    const bad: Listener = { ...port9080(), filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { '@type': HCM, statPrefix: 'x' } }] }] };
    const r = SIDECAR_LISTENER.validate(bad);
    expect(!r.ok && r.error).toBe('Listener 0.0.0.0_9080: filterChains[0].filters[envoy.filters.network.http_connection_manager].typedConfig: neither rds nor routeConfig is set');
    expect(SIDECAR_LISTENER.references(port9080())).toEqual(['9080']);
  });
});
