// Every CRD set of the project's Istio fixtures (tests/fixtures/istio/config-*.yaml) loaded with
// Meshlet's loader and compiled for a client in each of the fixtures' namespaces: no crash, resources named as istiod names
// them, consistent with each other and valid Envoy v3 messages, and every dangling reference
// reported.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { decodeMessage, encodeMessage } from '../src/xds/codec/index.ts';
import type { CompileResult } from '../src/istio/compile/compile-mesh.ts';
import type { MeshObject } from '../src/istio/types.ts';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { assignment, client, cluster, compile, routes } from './compile-helpers.ts';
import { fixtureFiles, fixturePath } from './istio-fixtures.ts';

const FILES = fixtureFiles(/^config-.*\.yaml$/);

function load(file: string): MeshObject[] {
  const path = fixturePath(file);
  return parseConfigText(readFileSync(path, 'utf8'), path).objects;
}

const MESSAGE = {
  listeners: 'envoy.config.listener.v3.Listener',
  routeConfigs: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

/** Every resource is a valid Envoy v3 message: the codec (built from Envoy's protos) rejects unknown fields. */
function checkEncodes(r: CompileResult): void {
  for (const kind of Object.keys(MESSAGE) as (keyof typeof MESSAGE)[]) {
    for (const [name, value] of r.resources[kind]) {
      const bytes = encodeMessage(MESSAGE[kind], value);
      const back = decodeMessage(MESSAGE[kind], bytes);
      expect(back.ok, `${kind} ${name}`).toBe(true);
      if (back.ok) expect(back.value.name ?? back.value.clusterName).toBe(name);
    }
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `objects`' resources are consistent, and each dangling reference reported (by the compiler for this client, or by the analyzers). */
function checkConsistent(r: CompileResult, objects: MeshObject[]): void {
  const { listeners, routeConfigs, clusters, endpoints } = r.resources;
  const warned = [...r.problems, ...analyzeMesh(objects)].map((p) => p.message).join('\n');
  for (const [name, l] of listeners) {
    const m = /^(.+):(\d+)$/.exec(name);
    expect(m, name).not.toBeNull();
    const rc = `outbound|${m?.[2]}||${m?.[1]}`;
    expect(l.apiListener?.apiListener['rds']).toMatchObject({ routeConfigName: rc });
    expect(routeConfigs.has(rc), rc).toBe(true);
  }
  for (const [name, rc] of routeConfigs) {
    expect(rc.name).toBe(name);
    expect(rc.virtualHosts).toHaveLength(1);
    for (const route of rc.virtualHosts?.[0]?.routes ?? []) {
      const targets = route.route?.cluster ? [route.route.cluster] : (route.route?.weightedClusters?.clusters ?? []).map((c) => c.name);
      for (const t of targets) {
        expect(t).toMatch(/^outbound\|\d+\|[^|]*\|.+$/);
        // Reported by the compiler by cluster name, or by the analyzers by the host it is for.
        if (!clusters.has(t)) expect(warned, `dangling ${t} must be reported`).toMatch(new RegExp(`${escape(t)}|"${escape(t.split('|')[3] ?? '')}`));
      }
    }
  }
  for (const [name, c] of clusters) {
    expect(c.name).toBe(name);
    expect(name).toMatch(/^outbound\|\d+\|[^|]*\|.+$/);
    if (c.type === 'EDS') {
      expect(c.edsClusterConfig?.serviceName).toBe(name);
      expect(endpoints.has(name), name).toBe(true);
    }
  }
  for (const p of r.problems) {
    expect(p.line).toBeGreaterThan(0);
    expect(p.file).toMatch(/config-.*\.yaml$/);
  }
}

describe('compileMesh: Istio config fixtures', () => {
  it.each(FILES)('%s compiles to consistent, istiod-named resources', (file) => {
    const objects = load(file);
    const namespaces = new Set(objects.map((o) => o.metadata.namespace));
    for (const ns of namespaces.size > 0 ? namespaces : new Set(['default'])) {
      const r = compile(objects, client(ns, { version: 'v1', app: 'test' }));
      checkConsistent(r, objects);
      checkEncodes(r);
    }
  });

  it('has every CRD set to compile', () => expect(FILES.length).toBeGreaterThanOrEqual(20));

  it('config-split-weighted: a 70/30 split across subset clusters', () => {
    const r = compile(load('config-split-weighted.yaml'), client('shop'));
    expect(routes(r, 'outbound|80||basket.shop.internal')[0]?.route?.weightedClusters).toEqual({
      clusters: [
        { name: 'outbound|80|blue|basket.shop.internal', weight: 70 },
        { name: 'outbound|80|green|basket.shop.internal', weight: 30 },
      ],
    });
    expect(assignment(r, 'outbound|80|green|basket.shop.internal').endpoints?.[0]?.lbEndpoints?.map((e) => e.endpoint?.address?.socketAddress)).toEqual([{ address: '10.50.0.2', portValue: 8082 }]);
    expect(assignment(r, 'outbound|80|blue|basket.shop.internal').endpoints?.[0]?.lbEndpoints?.map((e) => e.endpoint?.address?.socketAddress)).toEqual([{ address: '10.50.0.1', portValue: 8081 }]);
  });

  it('config-header-regex-route: the regex header rule applies to a track=blue client only', () => {
    const objects = load('config-header-regex-route.yaml');
    const blue = routes(compile(objects, client('shop', { track: 'blue' })), 'outbound|9200||search.shop.internal');
    expect(blue.map((x) => [x.match.headers?.[0], x.route?.cluster])).toEqual([
      [{ name: 'x-query', stringMatch: { safeRegex: { regex: 'q[0-9]+' } } }, 'outbound|9200|green|search.shop.internal'],
      [undefined, 'outbound|9200|blue|search.shop.internal'],
    ]);
    const green = routes(compile(objects, client('shop', { track: 'green' })), 'outbound|9200||search.shop.internal');
    expect(green.map((x) => x.route?.cluster)).toEqual(['outbound|9200|blue|search.shop.internal']);
  });

  it('config-destination-rule-all: every traffic-policy field lands on the clusters', () => {
    const r = compile(load('config-destination-rule-all.yaml'), client('shop'));
    const base = cluster(r, 'outbound|8443||ledger.shop.svc.cluster.local');
    expect(base).toMatchObject({
      lbPolicy: 'ROUND_ROBIN',
      connectTimeout: '4s',
      circuitBreakers: { thresholds: [{ maxConnections: 120, maxPendingRequests: 20, maxRequests: 48, maxRetries: 6 }] },
      outlierDetection: { interval: '0.015s', baseEjectionTime: '120s', maxEjectionPercent: 35 },
    });
    // tls mode DISABLE: no transport socket (plaintext), as istiod writes it.
    expect(base.transportSocket).toBeUndefined();
    // The deprecated consistentHash.minimumRingSize still sizes the ring.
    expect(cluster(r, 'outbound|8443|green|ledger.shop.svc.cluster.local')).toMatchObject({ lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: '64' } });
    expect(assignment(r, 'outbound|8443||ledger.shop.svc.cluster.local').endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress).toEqual({ address: '10.50.1.2', portValue: 9443 });
  });

  it('config-endpoint-weights-localities: endpoint weights and localities', () => {
    const r = compile(load('config-endpoint-weights-localities.yaml'));
    expect(assignment(r, 'outbound|80||inventory.static.internal').endpoints?.map((l) => [l.locality, l.loadBalancingWeight, l.lbEndpoints?.length])).toEqual([
      [{ region: 'eu-west' }, 6, 2],
      [{ region: 'us-east' }, 4, 1],
    ]);
  });

  it('config-fault-injection: fault on the route, the missing destination reported', () => {
    const objects = load('config-fault-injection.yaml');
    const r = compile(objects, client('shop', { track: 'blue' }));
    const [route] = routes(r, 'outbound|8080||reviews-api.shop.internal');
    expect(route?.typedPerFilterConfig?.['envoy.filters.http.fault']).toMatchObject({ delay: { fixedDelay: '3s' }, abort: { httpStatus: 502 } });
    expect(analyzeMesh(objects).some((p) => p.code === 'IST0101' && p.field === 'spec.http[0].route[0].destination.host')).toBe(true);
  });

  it('config-gateway-bound-routes: routes bound to a gateway only never reach a mesh client', () => {
    const r = compile(load('config-gateway-bound-routes.yaml'), client('shop'));
    const rs = routes(r, 'outbound|80||promo.shop.internal');
    expect(rs.map((x) => x.route?.cluster)).toEqual(['outbound|80||promo.shop.internal']);
    expect(rs.some((x) => x.route?.prefixRewrite !== undefined || x.route?.regexRewrite !== undefined)).toBe(false);
  });

  it('config-workload-entries: the selected VMs are the endpoints, with their ports, weights and localities', () => {
    const r = compile(load('config-workload-entries.yaml'), client('payments'));
    const localities = assignment(r, 'outbound|8080||billing.payments.svc.cluster.local').endpoints ?? [];
    const endpoints = localities.flatMap((l) => (l.lbEndpoints ?? []).map((e) => [l.locality, e.endpoint?.address?.socketAddress, e.loadBalancingWeight]));
    expect(endpoints).toEqual([
      [{ region: 'eu-west', zone: 'zone-1' }, { address: '10.90.0.1', portValue: 18080 }, 2],
      [{ region: 'eu-west', zone: 'zone-2' }, { address: '10.90.0.2', portValue: 28080 }, 1],
    ]);
  });
});
