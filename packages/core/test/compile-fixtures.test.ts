// Every Istio config fixture (istio/istio tests/testdata/config) loaded with Meshlet's loader and
// compiled for a client in the fixtures' namespace: no crash, resources named as istiod names
// them, consistent with each other and valid Envoy v3 messages, and every dangling reference
// reported.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { decodeMessage, encodeMessage } from '../src/xds/codec/index.ts';
import type { CompileResult } from '../src/istio/compile/compile-mesh.ts';
import type { MeshObject } from '../src/istio/types.ts';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { assignment, client, cluster, compile, routes } from './compile-helpers.ts';

const DIR = '/work/shared/fixtures/istio';
const FILES = readdirSync(DIR).filter((f) => /^config-.*\.yaml$/.test(f)).sort();

function load(file: string): MeshObject[] {
  const path = join(DIR, file);
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

  it('config-rule-weighted-route: a 75/25 split across subset clusters', () => {
    const r = compile(load('config-rule-weighted-route.yaml'), client('testns'));
    expect(routes(r, 'outbound|80||c-weighted.extsvc.com')[0]?.route?.weightedClusters).toEqual({
      clusters: [
        { name: 'outbound|80|v1|c-weighted.extsvc.com', weight: 75 },
        { name: 'outbound|80|v2|c-weighted.extsvc.com', weight: 25 },
      ],
    });
    expect(assignment(r, 'outbound|80|v2|c-weighted.extsvc.com').endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress).toEqual({ address: '127.0.0.3', portValue: 7074 });
  });

  it('config-rule-regex-route: the regex header rule applies to a v1 client only', () => {
    const objects = load('config-rule-regex-route.yaml');
    const v1 = routes(compile(objects, client('testns', { version: 'v1' })), 'outbound|9003||regex.extsvc.com');
    expect(v1.map((x) => [x.match.headers?.[0], x.route?.cluster])).toEqual([
      [{ name: 'foo', stringMatch: { safeRegex: { regex: 'b.*' } } }, 'outbound|9003|v2|regex.extsvc.com'],
      [undefined, 'outbound|9003|v1|regex.extsvc.com'],
    ]);
    const v2 = routes(compile(objects, client('testns', { version: 'v2' })), 'outbound|9003||regex.extsvc.com');
    expect(v2.map((x) => x.route?.cluster)).toEqual(['outbound|9003|v1|regex.extsvc.com']);
  });

  it('config-destination-rule-all: every traffic-policy field lands on the clusters', () => {
    const r = compile(load('config-destination-rule-all.yaml'), client('testns'));
    const base = cluster(r, 'outbound|81||destall.default.svc.cluster.local');
    expect(base).toMatchObject({
      lbPolicy: 'ROUND_ROBIN',
      connectTimeout: '6s',
      circuitBreakers: { thresholds: [{ maxConnections: 99, maxPendingRequests: 14, maxRequests: 33, maxRetries: 4 }] },
      outlierDetection: { interval: '0.008s', baseEjectionTime: '60s', maxEjectionPercent: 11 },
    });
    // tls mode DISABLE: no transport socket (plaintext), as istiod writes it.
    expect(base.transportSocket).toBeUndefined();
    expect(cluster(r, 'outbound|81|v2|destall.default.svc.cluster.local')).toMatchObject({ lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: '42' } });
    expect(assignment(r, 'outbound|81||destall.default.svc.cluster.local').endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress).toEqual({ address: '127.0.0.2', portValue: 7072 });
  });

  it('config-static-weighted-se: endpoint weights and localities', () => {
    const r = compile(load('config-static-weighted-se.yaml'));
    expect(assignment(r, 'outbound|80||weighted.static.svc.cluster.local').endpoints?.map((l) => [l.locality, l.loadBalancingWeight, l.lbEndpoints?.length])).toEqual([
      [{ region: 'a' }, 9, 2],
      [{ region: 'b' }, 3, 1],
    ]);
  });

  it('config-rule-fault-injection: fault on the route, the missing destination reported', () => {
    const objects = load('config-rule-fault-injection.yaml');
    const r = compile(objects, client('testns', { version: 'v1' }));
    const [route] = routes(r, 'outbound|8080||fault.test.istio.io');
    expect(route?.typedPerFilterConfig?.['envoy.filters.http.fault']).toMatchObject({ delay: { fixedDelay: '5s' }, abort: { httpStatus: 503 } });
    expect(analyzeMesh(objects).some((p) => p.code === 'IST0101' && p.field === 'spec.http[0].route[0].destination.host')).toBe(true);
  });
});
