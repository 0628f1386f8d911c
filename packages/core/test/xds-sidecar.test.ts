// The sidecar profile against `meshlet xds` serving the Envoy sidecar's form: Meshlet introduces
// itself as istio-agent introduces an Envoy (no GENERATOR), takes every listener, route table by
// port, cluster and endpoint, and makes the same decisions as the embedded compiler on the same
// CRDs — and enforces them through a real MeshAgent. Hosts outside the mesh are known at once
// (no does-not-exist wait): ALLOW_ANY passes them through, REGISTRY_ONLY blocks them as Envoy
// does (502 on a port with a listener, a typed error elsewhere). TCP listeners are noted.

import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, OutboundBlockedError, silentLogger, XdsServer, type Explanation, type Mesh } from '../src/index.ts';
import { MeshAgent } from '../../http/src/index.ts';
import { routesYaml, servicesYaml, startBackend, tempDir, writeBootstrap, writeConfig, type Backend } from './xds-helpers.ts';

const EXTRA = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: mysql, namespace: default }
spec:
  hosts: [mysql.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 3306, name: tcp, protocol: TCP }]
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: default }
spec:
  hosts: [ratings.default.svc.cluster.local]
  addresses: [10.96.0.7]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: RATINGS_PORT } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: default }
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: { simple: RANDOM }
    connectionPool: { tcp: { maxConnections: 7, connectTimeout: 250ms }, http: { http2MaxRequests: 9, http1MaxPendingRequests: 3, maxRetries: 2, maxRequestsPerConnection: 5, idleTimeout: 30s } }
    outlierDetection: { consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 15s, maxEjectionPercent: 50 }
`;

const REQUESTS: { url: string; headers?: Record<string, string> }[] = [
  { url: 'http://reviews:9080/' },
  { url: 'http://reviews:9080/', headers: { 'end-user': 'jason' } },
  { url: 'http://reviews.default:9080/x' },
  { url: 'http://reviews.default.svc.cluster.local:9080/y', headers: { 'end-user': 'jason' } },
  { url: 'http://ratings:9080/r' },
];

/** What must agree between the embedded compiler and the sidecar form. */
function decision(e: Explanation): unknown {
  return {
    action: e.action, route: e.route?.name ?? null,
    clusters: e.clusters.map((c) => ({ name: c.name, weight: c.weight, endpoints: c.endpoints?.map((x) => x.address).sort() ?? null })),
    timeoutMs: e.timeoutMs, retry: e.retry, fault: e.fault, rewrite: e.rewrite,
  };
}

describe('the sidecar profile against meshlet xds', () => {
  let backends: Backend[];
  let dir: string;
  let bsDir: string;
  let allowAny: XdsServer;
  let registryOnly: XdsServer;
  let embedded: Mesh;
  let sidecar: Mesh;
  let blocked: Mesh;
  let agent: MeshAgent;

  beforeAll(async () => {
    backends = await Promise.all(['v1', 'v2', 'v3', 'ratings', 'outside'].map((n) => startBackend(n)));
    const [v1, v2, v3, ratings] = backends;
    dir = tempDir('xds-sidecar');
    bsDir = tempDir('xds-sidecar-bs');
    writeConfig(dir, {
      'services.yaml': servicesYaml({ v1: v1!.port, v2: v2!.port, v3: v3!.port }),
      'routes.yaml': routesYaml({ v1: 75, v3: 25 }),
      'extra.yaml': EXTRA.replace('RATINGS_PORT', String(ratings!.port)),
    });
    allowAny = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    registryOnly = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, outboundTrafficPolicy: 'REGISTRY_ONLY' });
    embedded = await createMesh({ config: dir, watch: false, logger: silentLogger });
    sidecar = await createMesh({ bootstrap: writeBootstrap(bsDir, allowAny.address), xds: { generator: 'sidecar' }, logger: silentLogger });
    blocked = await createMesh({ bootstrap: writeBootstrap(bsDir, registryOnly.address, { delta: true }), xds: { generator: 'sidecar' }, logger: silentLogger });
    agent = new MeshAgent({ mesh: sidecar });
  }, 30_000);

  afterAll(async () => {
    await agent?.close();
    await Promise.all([embedded, sidecar, blocked].map((m) => m?.close()));
    allowAny?.close();
    registryOnly?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    for (const d of [dir, bsDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('asks as an Envoy sidecar and holds its listeners, route tables by port and catch-all clusters', () => {
    const dump = sidecar.configDump();
    expect(dump.xds?.node).toBe('sidecar~127.0.0.1~client-1.default~default.svc.cluster.local');
    const listeners = dump.listeners.map((l) => (l as { name: string }).name).sort();
    expect(listeners).toEqual(['0.0.0.0_3306', '0.0.0.0_9080', 'virtualOutbound']);
    expect(dump.routeConfigs.map((r) => (r as { name: string }).name)).toEqual(['9080']);
    const clusters = dump.clusters.map((c) => (c as { name: string }).name);
    expect(clusters).toContain('PassthroughCluster');
    expect(clusters).toContain('outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(dump.notes).toEqual([expect.stringMatching(/^Listener 0\.0\.0\.0_3306: filterChains\[0\] \(outbound\|3306\|\|mysql\.default\.svc\.cluster\.local\): TCP proxy to outbound\|3306\|\|mysql\.default\.svc\.cluster\.local ignored/)]);
    expect(dump.problems).toEqual([]);
  });

  it('makes the decisions the embedded compiler makes, for every name a service goes by', () => {
    for (const r of REQUESTS) {
      const want = decision(embedded.explain(r));
      expect({ url: r.url, d: decision(sidecar.explain(r)) }).toEqual({ url: r.url, d: want });
    }
    // Short names, the FQDN and the cluster IP all select the same virtual host, by Host header.
    expect(sidecar.explain({ url: 'http://10.96.0.7:9080/' }).virtualHost).toBe('ratings.default.svc.cluster.local:9080');
    expect(sidecar.explain({ url: 'http://ratings.default.svc:9080/' }).virtualHost).toBe('ratings.default.svc.cluster.local:9080');
  });

  it('takes every DestinationRule field the sidecar honours onto its clusters', () => {
    const c = sidecar.snapshot.clusters.get('outbound|9080||ratings.default.svc.cluster.local')!;
    const e = embedded.snapshot.clusters.get('outbound|9080||ratings.default.svc.cluster.local')!;
    expect(c.lbPolicy).toBe('RANDOM');
    expect(c.connectTimeoutMs).toBe(250);
    expect(c.limits).toEqual(e.limits);
    expect(c.outlier).toEqual(e.outlier);
    expect(c.connections).toEqual({ maxRequestsPerConnection: 5, idleTimeoutMs: 30_000, upstreamProtocol: 'http1', maxConcurrentStreams: undefined });
    expect(c.connections).toEqual(e.connections);
  });

  it('routes real requests: header match, split, and a host outside the mesh at once', async () => {
    const get = async (origin: string, headers: Record<string, string> = {}) => (await (await agent.request({ origin, path: '/', method: 'GET', headers })).body.text());
    for (let i = 0; i < 5; i++) expect(await get('http://reviews:9080', { 'end-user': 'jason' })).toBe('v2');
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) seen.add(await get('http://reviews:9080'));
    expect([...seen].sort()).toEqual(['v1', 'v3']);
    // Not in the mesh, on a port with no listener: known at once, passed through (ALLOW_ANY).
    const outside = backends[4]!;
    const start = performance.now();
    expect(await sidecar.ensureService('127.0.0.1', outside.port)).toBe(false);
    expect(await get(`http://127.0.0.1:${outside.port}`)).toBe('outside');
    // The does-not-exist timer is 15 s; a sidecar holds every listener and needs none.
    expect(performance.now() - start).toBeLessThan(3000);
    // On a port with a listener: the route table's catch-all, allow_any → PassthroughCluster.
    const e = sidecar.explain({ url: 'http://example.com:9080/' });
    expect([e.virtualHost, e.route?.name, e.clusters.map((c) => c.name)]).toEqual(['allow_any', 'allow_any', ['PassthroughCluster']]);
  });

  it('blocks hosts outside the mesh under REGISTRY_ONLY, as Envoy does', async () => {
    expect(blocked.explain({ url: 'http://reviews:9080/', headers: { 'end-user': 'jason' } }).clusters.map((c) => c.name)).toEqual(['outbound|9080|v2|reviews.default.svc.cluster.local']);
    // A port with a listener: block_all answers 502 itself.
    const onPort = blocked.explain({ url: 'http://example.com:9080/' });
    expect([onPort.action, onPort.directResponse?.status]).toEqual(['direct', 502]);
    const a = new MeshAgent({ mesh: blocked });
    try {
      const res = await a.request({ origin: 'http://example.com:9080', path: '/', method: 'GET' });
      expect(res.statusCode).toBe(502);
      await res.body.dump();
      // Elsewhere: the BlackHoleCluster, as a typed error.
      const err = await a.request({ origin: `http://127.0.0.1:${backends[4]!.port}`, path: '/', method: 'GET' }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(OutboundBlockedError);
      expect(backends[4]!.hits).toBe(1); // only the ALLOW_ANY request above reached it
    } finally {
      await a.close();
    }
  });
});
