// decodeResourceValue (the ADS client's decode, sharing sub-messages between resources): it must
// read every input exactly as decodeAny does — same values, same errors — while identical
// sub-messages come back as one object, which nothing (the decoder included) ever changes.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeAny, decodeResourceValue, decodeResourceValueSteps, encodeAny, encodeMessage, type DecodeResult } from '../src/xds/codec/index.ts';
import { TYPE_URL } from '../src/xds/resources.ts';
import { WireWriter } from '../src/xds/codec/wire-writer.ts';

function plain(typeUrl: string, bytes: Uint8Array): { ok: boolean; value?: unknown; error?: string } {
  const r = decodeAny(typeUrl, bytes);
  if (!r.ok) return { ok: false, error: r.error.message };
  const { '@type': _t, ...value } = r.value as Record<string, unknown>;
  return { ok: true, value };
}

function sharedRead(typeUrl: string, bytes: Uint8Array): { ok: boolean; value?: unknown; error?: string } {
  const r = decodeResourceValue(typeUrl, bytes);
  return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error.message };
}

/** decodeResourceValueSteps run to the end; `steps` counts its yields. */
function stepsRead(typeUrl: string, bytes: Uint8Array, steps = { count: 0 }): { ok: boolean; value?: unknown; error?: string } {
  const gen = decodeResourceValueSteps(typeUrl, bytes);
  let s = gen.next();
  while (!s.done) { steps.count++; s = gen.next(); }
  return outcome(s.value);
}

function outcome(r: DecodeResult): { ok: boolean; value?: unknown; error?: string } {
  return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error.message };
}

const tls = {
  '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  commonTlsContext: {
    tlsCertificateSdsSecretConfigs: [{ name: 'default', sdsConfig: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' } }],
    combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: 'ROOTCA', sdsConfig: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' } } },
  },
};

function cluster(name: string, extra: Record<string, unknown> = {}): Uint8Array {
  return encodeAny({
    '@type': TYPE_URL.Cluster,
    name,
    type: 'EDS',
    edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: name },
    connectTimeout: '10s',
    circuitBreakers: { thresholds: [{ maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 4294967295 }] },
    transportSocketMatches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: tls } }],
    ...extra,
  }).value;
}

describe('decodeResourceValue', () => {
  it('reads resources as decodeAny does, and gives identical sub-messages as one object', () => {
    const a = sharedRead(TYPE_URL.Cluster, cluster('outbound|8080||a.ns.svc.cluster.local'));
    const b = sharedRead(TYPE_URL.Cluster, cluster('outbound|8080||b.ns.svc.cluster.local'));
    expect(a).toEqual(plain(TYPE_URL.Cluster, cluster('outbound|8080||a.ns.svc.cluster.local')));
    expect(b).toEqual(plain(TYPE_URL.Cluster, cluster('outbound|8080||b.ns.svc.cluster.local')));
    const va = a.value as Record<string, any>;
    const vb = b.value as Record<string, any>;
    expect(va).not.toBe(vb);
    expect(va['name']).not.toBe(vb['name']);
    // Identical sub-messages are one object; those holding something different are not.
    expect(va['transportSocketMatches'][0]).toBe(vb['transportSocketMatches'][0]);
    expect(va['circuitBreakers']).toBe(vb['circuitBreakers']);
    expect(va['edsClusterConfig']).not.toBe(vb['edsClusterConfig']);
    expect(va['edsClusterConfig']['edsConfig']).toBe(vb['edsClusterConfig']['edsConfig']);
  });

  it('never changes a shared object when a repeated singular message merges into it', () => {
    const R = 'envoy.config.route.v3.RouteConfiguration';
    const url = `type.googleapis.com/${R}`;
    const vh = (routes: object[]) => encodeMessage(R, { name: 'r', virtualHosts: [{ name: 'v', domains: ['*'], routes }] });
    const first = sharedRead(url, vh([{ match: { prefix: '/' }, route: { cluster: 'a', timeout: '1s' } }]));
    const route = (first.value as any).virtualHosts[0].routes[0].route;
    const before = structuredClone(route);
    // The same Route bytes, followed by a second occurrence of its `route` field (field 2 of
    // Route): the decoder merges it into the first, which is the shared object.
    const RouteT = 'envoy.config.route.v3.Route';
    const r1 = encodeMessage(RouteT, { match: { prefix: '/' }, route: { cluster: 'a', timeout: '1s' } });
    const r2 = encodeMessage(RouteT, { route: { prefixRewrite: '/x' } });
    const merged = Buffer.concat([r1, r2]);
    const vhBytes = encodeMessage('envoy.config.route.v3.VirtualHost', { name: 'v', domains: ['*'] });
    const vhAll = Buffer.concat([vhBytes, Buffer.from([0x1a, merged.length]), merged]); // routes = 3
    const rc = Buffer.concat([encodeMessage(R, { name: 'r' }), Buffer.from([0x12, vhAll.length]), vhAll]); // virtual_hosts = 2
    const got = sharedRead(url, rc);
    expect(got).toEqual(plain(url, rc));
    expect((got.value as any).virtualHosts[0].routes[0].route).toEqual({ cluster: 'a', timeout: '1s', prefixRewrite: '/x' });
    expect(route).toEqual(before);
    expect(sharedRead(url, vh([{ match: { prefix: '/' }, route: { cluster: 'a', timeout: '1s' } }]))).toEqual(first);
  });

  it('keeps the nesting bound: a sub-message shared from a shallow place still fails deeper down', () => {
    const nested = (k: number): unknown => (k === 0 ? 'x' : [nested(k - 1)]);
    // The same Metadata bytes as a Cluster's metadata (field 25, shallow) and as an endpoint's
    // (ClusterLoadAssignment.endpoints 2 > LocalityLbEndpoints.lb_endpoints 2 > LbEndpoint.metadata 3).
    const meta = (k: number) => encodeMessage('envoy.config.core.v3.Metadata', { filterMetadata: { deep: { v: nested(k) } } });
    const field = (no: number, inner: Uint8Array): Uint8Array => { const w = new WireWriter(); w.tag(no, 2); w.bytes(inner); return w.finish(); };
    const shallow = (k: number) => Buffer.concat([cluster('c'), field(25, meta(k))]);
    const deep = (k: number) => Buffer.concat([encodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', { clusterName: 'c' }), field(2, field(2, field(3, meta(k))))]);
    // The deepest list that still decodes in a Cluster but not in an endpoint's metadata.
    // (Each list is two levels, Value and ListValue.)
    let k = 20;
    while (k < 50 && !(plain(TYPE_URL.Cluster, shallow(k)).ok && !plain(TYPE_URL.ClusterLoadAssignment, deep(k)).ok)) k++;
    expect(k).toBeLessThan(50);
    expect(sharedRead(TYPE_URL.Cluster, shallow(k)).ok).toBe(true);
    const r = sharedRead(TYPE_URL.ClusterLoadAssignment, deep(k));
    expect(r).toEqual(plain(TYPE_URL.ClusterLoadAssignment, deep(k)));
    expect(r.error).toMatch(/nesting deeper than 100/);
  });

  it('reads mutated resources, decoded over and over, exactly as decodeAny does', () => {
    const samples: [string, Uint8Array][] = [
      [TYPE_URL.Cluster, cluster('outbound|80||s.ns.svc.cluster.local')],
      [TYPE_URL.Cluster, cluster('outbound|81||t.ns.svc.cluster.local', { metadata: { filterMetadata: { istio: { services: [{ host: 't', name: 't', namespace: 'ns' }] } } } })],
      [TYPE_URL.ClusterLoadAssignment, encodeAny({ '@type': TYPE_URL.ClusterLoadAssignment, clusterName: 'c', endpoints: [{ locality: { region: 'r' }, lbEndpoints: [1, 2, 3].map((i) => ({ endpoint: { address: { socketAddress: { address: `10.0.0.${i}`, portValue: 80 } } }, metadata: { filterMetadata: { istio: { workload: 'w' } } } })) }] }).value],
    ];
    fc.assert(
      fc.property(
        fc.nat({ max: samples.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        (i, flips) => {
          const [url, good] = samples[i]!;
          const bytes = new Uint8Array(good);
          for (const [at, v] of flips) bytes[at % bytes.length] = v;
          expect(sharedRead(url, bytes)).toEqual(plain(url, bytes));
          expect(stepsRead(url, bytes)).toEqual(plain(url, bytes));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('decodeResourceValueSteps', () => {
  const RC = TYPE_URL.RouteConfiguration;
  const vhost = (i: number) => ({
    name: `svc-${i}.ns.svc.cluster.local:80`,
    domains: [`svc-${i}.ns.svc.cluster.local`, `svc-${i}`],
    routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: `outbound|80||svc-${i}.ns.svc.cluster.local`, timeout: '0s', retryPolicy: { retryOn: 'connect-failure', numRetries: 2 } } }],
  });
  const routeConfig = (n: number) => encodeAny({ '@type': RC, name: '80', virtualHosts: Array.from({ length: n }, (_, i) => vhost(i)), validateClusters: false }).value;

  it('yields once per virtual host and reads the resource as the one-shot decode does', () => {
    const bytes = routeConfig(50);
    const steps = { count: 0 };
    const got = stepsRead(RC, bytes, steps);
    expect(steps.count).toBe(50);
    expect(got).toEqual(sharedRead(RC, bytes));
    expect(got).toEqual(plain(RC, bytes));
  });

  it('gives the same results when decodes of other resources run between its steps', () => {
    const a = routeConfig(20);
    const b = routeConfig(7);
    const ga = decodeResourceValueSteps(RC, a);
    const gb = decodeResourceValueSteps(RC, b);
    let ra = ga.next();
    let rb = gb.next();
    while (!ra.done || !rb.done) {
      // A one-shot decode between steps: the sharing must be off again after each step.
      expect(decodeAny(TYPE_URL.Cluster, cluster('x')).ok).toBe(true);
      if (!ra.done) ra = ga.next();
      if (!rb.done) rb = gb.next();
    }
    expect(outcome(ra.value)).toEqual(plain(RC, a));
    expect(outcome(rb.value)).toEqual(plain(RC, b));
  });

  it('fails as the one-shot decode does, naming the same field, when a virtual host is cut short', () => {
    const good = routeConfig(5);
    for (const cut of [good.length - 1, Math.floor(good.length / 2), 3]) {
      const bytes = good.subarray(0, cut);
      const got = stepsRead(RC, bytes);
      expect(got.ok).toBe(false);
      expect(got).toEqual(sharedRead(RC, bytes));
      expect(got).toEqual(plain(RC, bytes));
    }
  });
});
