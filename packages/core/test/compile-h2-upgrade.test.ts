// HTTP/2 to the upstream as istiod decides it (cluster_builder.go setUpstreamProtocol, then
// cluster_traffic_policy.go shouldH2Upgrade): HTTP2/GRPC ports, then the DestinationRule's
// connectionPool.http.h2UpgradePolicy over MeshConfig h2UpgradePolicy, only declared HTTP ports
// upgraded by the mesh-wide setting; written as HttpProtocolOptions and read
// back by the cluster translator into what the HTTP adapter acts on.

import { describe, expect, it } from 'vitest';
import { HTTP_PROTOCOL_OPTIONS, TYPE_URL, type Cluster } from '../src/xds/resources.ts';
import { optionMeshConfig } from '../src/istio/load/load-mesh-config.ts';
import { formatProblem } from '../src/config-error.ts';
import { translateCluster } from '../src/snapshot/translate-cluster.ts';
import type { ConnectionPoolSettings, MeshConfigSpec, MeshObject } from '../src/istio/types.ts';
import { cluster, compile, destinationRule, serviceEntry } from './compile-helpers.ts';

const HOST = 'reviews.default.svc.cluster.local';

function service(protocol: string | undefined): MeshObject {
  const port = { number: 9080, name: protocol === undefined ? 'web' : 'port', ...(protocol !== undefined && { protocol }) };
  return serviceEntry('reviews', { hosts: [HOST], ports: [port], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] });
}

function meshConfig(spec: MeshConfigSpec): MeshObject {
  const r = optionMeshConfig(spec);
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.object!;
}

function compiled(opts: { http?: ConnectionPoolSettings['http']; mesh?: MeshConfigSpec['h2UpgradePolicy']; protocol?: string | undefined }): Cluster {
  const objects: MeshObject[] = [service('protocol' in opts ? opts.protocol : 'HTTP')];
  if (opts.http) objects.push(destinationRule('reviews', { host: 'reviews', trafficPolicy: { connectionPool: { http: opts.http } } }));
  if (opts.mesh) objects.push(meshConfig({ h2UpgradePolicy: opts.mesh }));
  const r = compile(objects);
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return cluster(r, `outbound|9080||${HOST}`);
}

function protocolOf(c: Cluster): string {
  const t = translateCluster(c);
  if (!t.ok) throw new Error(t.error);
  return t.value.connections.upstreamProtocol;
}

describe('h2UpgradePolicy compiles as istiod decides it', () => {
  it('UPGRADE writes explicitHttpConfig.http2ProtocolOptions, which the cluster translates to HTTP/2', () => {
    const c = compiled({ http: { h2UpgradePolicy: 'UPGRADE' } });
    expect(c.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS]).toEqual({ '@type': TYPE_URL.HttpProtocolOptions, explicitHttpConfig: { http2ProtocolOptions: {} } });
    expect(protocolOf(c)).toBe('http2');
  });

  // [rule, mesh, port protocol, upgraded?] — istiod's decision table.
  const table: [ConnectionPoolSettings['http'] | undefined, MeshConfigSpec['h2UpgradePolicy'] | undefined, string | undefined, boolean][] = [
    [undefined, undefined, 'HTTP', false], // MeshConfig's default is DO_NOT_UPGRADE
    [{ h2UpgradePolicy: 'DEFAULT' }, undefined, 'HTTP', false],
    [undefined, 'UPGRADE', 'HTTP', true],
    [{ h2UpgradePolicy: 'DEFAULT' }, 'UPGRADE', 'HTTP', true],
    [{ h2UpgradePolicy: 'DO_NOT_UPGRADE' }, 'UPGRADE', 'HTTP', false],
    [{ h2UpgradePolicy: 'UPGRADE' }, 'DO_NOT_UPGRADE', 'HTTP', true],
    [undefined, 'UPGRADE', 'GRPC', true],
    // HTTP/2 by the port's protocol (setUpstreamProtocol), which DO_NOT_UPGRADE does not undo.
    [undefined, undefined, 'GRPC', true],
    [undefined, undefined, 'HTTP2', true],
    [undefined, undefined, 'GRPC-Web', true],
    [{ h2UpgradePolicy: 'DO_NOT_UPGRADE' }, undefined, 'HTTP2', true],
    // The mesh-wide setting leaves sniffed and non-HTTP ports alone...
    [undefined, 'UPGRADE', undefined, false],
    [undefined, 'UPGRADE', 'TCP', false],
    // ...but the rule's UPGRADE is the user saying the port is HTTP.
    [{ h2UpgradePolicy: 'UPGRADE' }, undefined, undefined, true],
    [{ h2UpgradePolicy: 'UPGRADE' }, undefined, 'TCP', true],
  ];
  it.each(table)('rule %j, mesh %s, port %s → upgraded: %s', (http, mesh, protocol, upgraded) => {
    const c = compiled({ ...(http && { http }), ...(mesh && { mesh }), protocol });
    expect(protocolOf(c)).toBe(upgraded ? 'http2' : 'http1');
  });

  it('keeps the common options beside the protocol, and maxConcurrentStreams on the HTTP/2 options', () => {
    const c = compiled({ http: { h2UpgradePolicy: 'UPGRADE', idleTimeout: '30s', maxRequestsPerConnection: 7, maxConcurrentStreams: 50, http2MaxRequests: 100 } });
    expect(c.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS]).toEqual({
      '@type': TYPE_URL.HttpProtocolOptions,
      commonHttpProtocolOptions: { idleTimeout: '30s', maxRequestsPerConnection: 7 },
      explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 50 } },
    });
    expect(c.circuitBreakers?.thresholds?.[0]?.maxRequests).toBe(100);
    const t = translateCluster(c);
    expect(t.ok && t.value.connections).toEqual({ maxRequestsPerConnection: 7, idleTimeoutMs: 30000, upstreamProtocol: 'http2', maxConcurrentStreams: 50 });
    // Without an upgrade maxConcurrentStreams has nothing to apply to.
    expect(compiled({ http: { maxConcurrentStreams: 50 } }).typedExtensionProtocolOptions).toBeUndefined();
  });

  it('useClientProtocol writes useDownstreamProtocolConfig; the mesh-wide UPGRADE replaces it, as istiod orders them', () => {
    const c = compiled({ http: { useClientProtocol: true } });
    expect(c.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS]).toEqual({ '@type': TYPE_URL.HttpProtocolOptions, useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } });
    expect(protocolOf(c)).toBe('downstream');
    expect(protocolOf(compiled({ http: { useClientProtocol: true }, mesh: 'UPGRADE' }))).toBe('http2');
    // It replaces the HTTP/2 of a GRPC port too.
    expect(protocolOf(compiled({ http: { useClientProtocol: true }, protocol: 'GRPC' }))).toBe('downstream');
  });

  it('reads what older istiod releases send: Cluster.http2ProtocolOptions and protocolSelection', () => {
    const base: Cluster = { name: 'c', type: 'STATIC', connectTimeout: '1s' };
    const h2 = translateCluster({ ...base, http2ProtocolOptions: { maxConcurrentStreams: 1073741824 } });
    expect(h2.ok && h2.value.connections).toMatchObject({ upstreamProtocol: 'http2', maxConcurrentStreams: 1073741824 });
    const down = translateCluster({ ...base, protocolSelection: 'USE_DOWNSTREAM_PROTOCOL' });
    expect(down.ok && down.value.connections.upstreamProtocol).toBe('downstream');
  });
});

describe('bad h2UpgradePolicy values are refused by field', () => {
  it('MeshConfig knows DO_NOT_UPGRADE and UPGRADE only', () => {
    const r = optionMeshConfig({ h2UpgradePolicy: 'DEFAULT' as 'UPGRADE' });
    expect(r.problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')).toContain('h2UpgradePolicy "DEFAULT" must be one of DO_NOT_UPGRADE, UPGRADE');
    const typo = optionMeshConfig({ h2UpgradePolicy: 'UPGRAED' as 'UPGRADE' });
    expect(typo.problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')).toMatch(/h2UpgradePolicy: .*UPGRAED/);
  });

  it('MeshConfig h2UpgradePolicy is applied, so no longer listed as ignored', () => {
    const r = optionMeshConfig({ h2UpgradePolicy: 'UPGRADE' });
    expect(r.problems.map(formatProblem).join('\n')).not.toContain('h2UpgradePolicy');
  });
});
