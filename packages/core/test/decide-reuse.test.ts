// decide() builds a fault-free forward decision once per route, weighted cluster and snapshot
// and hands the same one to every request (decisions are only read). These tests prove the reuse
// never shows a request anything stale or wrong: a new snapshot's cluster, each split's own
// cluster, and a fresh fault draw per request where the route has a fault.

import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { compileMesh } from '../src/istio/compile/compile-mesh.ts';
import { Mesh } from '../src/mesh.ts';
import { resolveIdentity } from '../src/identity.ts';
import { silentLogger } from '../src/logger.ts';
import { requestView } from '../src/router/request-view.ts';

const HOST = 'reviews.default.svc.cluster.local';
const SERVICE = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
    - { address: 10.0.0.1, labels: { version: v1 } }
    - { address: 10.0.0.2, labels: { version: v2 } }
`;

function apply(mesh: Mesh, yaml: string): void {
  const loaded = parseConfigText(yaml, 'reviews.yaml');
  expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
  const compiled = compileMesh(loaded.objects, { namespace: 'default', labels: {}, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' });
  expect(mesh.applyResources(compiled.resources, 'test')).toEqual([]);
}

function decide(mesh: Mesh, path = '/') {
  const d = mesh.decide(requestView('GET', 'http', `${HOST}:9080`, path, {}), HOST, 9080);
  if (d.kind !== 'forward') throw new Error(`not forwarded: ${d.kind}`);
  return d;
}

const pool = (maxRequests: number) => `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy: { connectionPool: { http: { http2MaxRequests: ${maxRequests} } } }
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;

/** A VirtualService for reviews with these `http` routes (YAML list items). */
const routes = (http: string) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${HOST}]
  http:${http}
`;

describe('forward decisions reused across requests', () => {
  it('a fault-free route gives every request the same decision, and a new snapshot a new one with its own cluster', () => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + pool(7));
    const first = decide(mesh);
    expect(decide(mesh)).toBe(first);
    expect(first.cluster.limits.maxRequests).toBe(7);
    expect(first.fault.delayMs).toBe(0);
    expect(first.fault.abortStatus).toBeUndefined();

    apply(mesh, SERVICE + pool(9));
    const next = decide(mesh);
    expect(next).not.toBe(first);
    expect(next.cluster.limits.maxRequests).toBe(9);
    expect(decide(mesh)).toBe(next);
  });

  it('a weighted split: each decision names the cluster its target picked, both picked', () => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + pool(7) + routes(`
    - route:
        - { destination: { host: ${HOST}, subset: v1 }, weight: 50 }
        - { destination: { host: ${HOST}, subset: v2 }, weight: 50 }`));
    const seen = new Map<string, object>();
    // 400 draws at 50%: both clusters with certainty (a miss has probability 2^-399).
    for (let i = 0; i < 400; i++) {
      const d = decide(mesh);
      expect(d.cluster.name).toBe(d.target.name);
      const kept = seen.get(d.cluster.name);
      if (kept) expect(d).toBe(kept);
      else seen.set(d.cluster.name, d);
    }
    expect([...seen.keys()].sort()).toEqual([`outbound|9080|v1|${HOST}`, `outbound|9080|v2|${HOST}`]);
  });

  it('a route with a fault draws it per request: some requests aborted, some not', () => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + routes(`
    - fault: { abort: { httpStatus: 503, percentage: { value: 50 } } }
      route: [{ destination: { host: ${HOST} } }]`));
    let aborted = 0;
    for (let i = 0; i < 400; i++) if (decide(mesh).fault.abortStatus === 503) aborted++;
    // Binomial(400, 0.5): outside [100, 300] has probability far below 1e-20.
    expect(aborted).toBeGreaterThan(100);
    expect(aborted).toBeLessThan(300);
  });
});

// hostRoute().fixed: the decision an adapter may take without building a view of the request. It
// must be what decide() gives every request, and undefined whenever something about a request
// could change the answer; decide() handed a host route must route as it does without one.
describe('fixed decisions (no view of the request needed)', () => {
  const fixed = (mesh: Mesh) => mesh.hostRoute(HOST, 9080, `${HOST}:9080`)?.fixed;

  it("Istio's default route: the decision decide() gives, kept until the snapshot changes", () => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + pool(7));
    const d = fixed(mesh);
    expect(d).toBeDefined();
    const routed = decide(mesh, '/any/path?q=1');
    for (const k of ['kind', 'service', 'fqdn', 'route', 'action', 'target', 'cluster'] as const) expect(d![k]).toBe(routed[k]);
    expect(d!.fault).toEqual(routed.fault);
    expect(fixed(mesh)).toBe(d);

    apply(mesh, SERVICE + pool(9));
    const next = fixed(mesh);
    expect(next).not.toBe(d);
    expect(next!.cluster.limits.maxRequests).toBe(9);
    expect(next!.cluster).toBe(decide(mesh).cluster);
  });

  it('a VirtualService whose first route takes every request (retries, a timeout) is fixed too', () => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + pool(7) + routes(`
    - timeout: 3s
      retries: { attempts: 4, retryOn: 5xx }
      route: [{ destination: { host: ${HOST}, subset: v2 } }]`));
    const d = fixed(mesh);
    expect(d?.cluster.name).toBe(`outbound|9080|v2|${HOST}`);
    expect(d?.action.timeoutMs).toBe(3000);
    expect(d?.route).toBe(decide(mesh, '/x').route);
  });

  it('a table that reads the request: decide() handed the host route matches as it does alone', () => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + pool(7) + routes(`
    - match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: ${HOST}, subset: v2 } }]
    - route: [{ destination: { host: ${HOST}, subset: v1 } }]`));
    const at = mesh.hostRoute(HOST, 9080, `${HOST}:9080`);
    expect(at?.fixed).toBeUndefined();
    expect(at?.virtualHost.routes.length).toBe(2);
    for (const [headers, subset] of [[{ 'end-user': 'jason' }, 'v2'], [{}, 'v1'], [{ 'end-user': 'ann' }, 'v1']] as const) {
      const view = requestView('GET', 'http', `${HOST}:9080`, '/', headers);
      const alone = mesh.decide(view, HOST, 9080);
      const handed = mesh.decide(view, HOST, 9080, at);
      if (alone.kind !== 'forward' || handed.kind !== 'forward') throw new Error('not forwarded');
      expect(handed.cluster.name).toBe(`outbound|9080|${subset}|${HOST}`);
      expect(handed.route).toBe(alone.route);
      expect(handed.cluster).toBe(alone.cluster);
    }
  });

  it('undefined whenever a request could be routed otherwise', () => {
    const cases: [string, string][] = [
      ['a header match first', routes(`
    - match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: ${HOST}, subset: v2 } }]
    - route: [{ destination: { host: ${HOST}, subset: v1 } }]`)],
      ['a path prefix', routes(`
    - match: [{ uri: { prefix: /api } }]
      route: [{ destination: { host: ${HOST}, subset: v2 } }]`)],
      ['a weighted split', routes(`
    - route:
        - { destination: { host: ${HOST}, subset: v1 }, weight: 90 }
        - { destination: { host: ${HOST}, subset: v2 }, weight: 10 }`)],
      ['a fault to draw', routes(`
    - fault: { delay: { fixedDelay: 1s, percentage: { value: 10 } } }
      route: [{ destination: { host: ${HOST} } }]`)],
      ['a direct response', routes(`
    - directResponse: { status: 418 }`)],
      ['a consistent-hash cluster', `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
`],
    ];
    for (const [what, extra] of cases) {
      const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
      apply(mesh, SERVICE + (what === 'a consistent-hash cluster' ? extra : pool(7) + extra));
      expect(fixed(mesh), what).toBeUndefined();
    }
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE);
    expect(mesh.hostRoute('elsewhere.example.com', 80, 'elsewhere.example.com')).toBeUndefined();
    expect(mesh.hostRoute(HOST, 9081, `${HOST}:9081`)).toBeUndefined();
  });
});

// The header flags a decision carries let the adapters skip copying headers for every request
// whose route changes none. A flag wrong one way sends headers unchanged that a route rewrites.
describe('header flags on forward decisions', () => {
  const flags = (d: { rewritesRequestHeaders: boolean; rewritesResponseHeaders: boolean }) => [d.rewritesRequestHeaders, d.rewritesResponseHeaders];
  const cases: [string, string, [boolean, boolean]][] = [
    ['a plain route', `
    - route: [{ destination: { host: ${HOST} } }]`, [false, false]],
    ['route request headers', `
    - headers: { request: { set: { x-a: '1' } } }
      route: [{ destination: { host: ${HOST} } }]`, [true, false]],
    ['a request header removed', `
    - headers: { request: { remove: [x-b] } }
      route: [{ destination: { host: ${HOST} } }]`, [true, false]],
    ['a host rewrite', `
    - rewrite: { authority: other.example.com }
      route: [{ destination: { host: ${HOST} } }]`, [true, false]],
    ['route response headers', `
    - headers: { response: { add: { x-c: '1' } } }
      route: [{ destination: { host: ${HOST} } }]`, [false, true]],
    ["the weighted cluster's own", `
    - route: [{ destination: { host: ${HOST} }, headers: { request: { set: { x-d: '1' } }, response: { remove: [x-e] } } }]`, [true, true]],
  ];

  it.each(cases)('%s', (_what, http, expected) => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + routes(http));
    // decide()'s reused decision, and the fixed one a plain first route gives.
    expect(flags(decide(mesh))).toEqual(expected);
    expect(flags(mesh.hostRoute(HOST, 9080, `${HOST}:9080`)!.fixed!)).toEqual(expected);
  });

  it('a route with a fault (a decision per request) carries them too', () => {
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    apply(mesh, SERVICE + routes(`
    - fault: { abort: { httpStatus: 503, percentage: { value: 1 } } }
      headers: { request: { set: { x-a: '1' } } }
      route: [{ destination: { host: ${HOST} } }]`));
    expect(flags(decide(mesh))).toEqual([true, false]);
  });
});
