// The sidecar profile against istiod's sidecar generator (istiod/main.go: istiod's
// DiscoveryServer fed Kubernetes objects through its fake client), on bookinfo: its Services,
// DestinationRules and the jason VirtualService (tests/fixtures/bookinfo) unchanged, plus a
// DestinationRule with outlier detection, connection-pool limits and SIMPLE TLS origination, and
// the Pods and EndpointSlices of pods that are real servers on 127.0.0.101+ (this test's own: the
// fixture's pods listen on 127.0.0.1x:9080, which the default suite's bookinfo test binds, and
// ratings needs a second, failing pod). Through istiod, Meshlet must make the decisions
// the embedded compiler makes on the same files, and enforce them the same way, measured: a
// failing pod ejected, an overflow failing fast, TLS originated. And a host outside the mesh is
// reached without waiting in both xDS profiles; REGISTRY_ONLY blocks it.

import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, OverflowError, OutboundBlockedError, silentLogger, type Explanation, type Mesh } from '../../src/index.ts';
import { createRootCa, issueWorkloadCert } from '../../src/security/dev-certs.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { startBackend, tempDir, writeBootstrap, type Backend } from '../xds-helpers.ts';
import { buildGo, HAS_GO, startGoServer, type GoServer } from './go-build.ts';
import { podObjects, startPod, type LoopbackPod } from './loopback-pods.ts';

const BOOKINFO = fileURLToPath(new URL('../../../../tests/fixtures/bookinfo/', import.meta.url));
const SNI = 'details.bookinfo.test';

/** The test's own additions to bookinfo: what a sidecar enforces and istiod's grpc generator drops. */
function protections(caFile: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings-protection, namespace: default }
spec:
  host: ratings
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details-protection, namespace: default }
spec:
  host: details
  trafficPolicy:
    connectionPool: { http: { http2MaxRequests: 1, http1MaxPendingRequests: 1 }, tcp: { connectTimeout: 2s } }
    tls: { mode: SIMPLE, caCertificates: ${caFile}, sni: ${SNI} }
`;
}

const REQUESTS: { url: string; headers?: Record<string, string> }[] = [
  { url: 'http://reviews:9080/reviews/0' },
  { url: 'http://reviews:9080/reviews/0', headers: { 'end-user': 'jason' } },
  { url: 'http://reviews.default.svc.cluster.local:9080/', headers: { 'end-user': 'someone' } },
  { url: 'http://ratings:9080/ratings/0' },
  { url: 'http://details:9080/details/0' },
  { url: 'http://productpage.default:9080/productpage' },
];

/** The parts of a decision both must agree on. */
function decision(e: Explanation): unknown {
  return {
    action: e.action, route: e.route?.name ?? null,
    clusters: e.clusters.map((c) => ({ name: c.name, weight: c.weight, endpoints: c.endpoints?.map((x) => x.address).sort() ?? null })),
    timeoutMs: e.timeoutMs, retry: e.retry, fault: e.fault, rewrite: e.rewrite,
  };
}

describe.skipIf(!HAS_GO)('the sidecar profile against istiod, on bookinfo', () => {
  let binary: string;
  let dir: string;
  let bsDir: string;
  let pods: LoopbackPod[];
  let outside: Backend;
  let istiod: GoServer;
  let registryOnly: GoServer;
  const meshes: Mesh[] = [];
  let embedded: Mesh;
  let sidecar: Mesh;
  const pod = (name: string) => pods.find((p) => p.name === name)!;

  beforeAll(async () => {
    const ca = createRootCa();
    const detailsCert = issueWorkloadCert(ca, { dnsNames: [SNI] });
    dir = tempDir('istiod-sidecar');
    bsDir = tempDir('istiod-sidecar-bootstrap');
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    [binary, pods, outside] = await Promise.all([
      buildGo('istiod'),
      Promise.all([
        startPod({ name: 'productpage-v1-0', service: 'productpage', labels: { app: 'productpage', version: 'v1' }, serviceAccount: 'bookinfo-productpage', ip: 101 }),
        startPod({ name: 'details-v1-0', service: 'details', labels: { app: 'details', version: 'v1' }, serviceAccount: 'bookinfo-details', ip: 102, delayMs: 400, tls: detailsCert }),
        startPod({ name: 'ratings-v1-0', service: 'ratings', labels: { app: 'ratings', version: 'v1' }, serviceAccount: 'bookinfo-ratings', ip: 103 }),
        startPod({ name: 'ratings-v1-1', service: 'ratings', labels: { app: 'ratings', version: 'v1' }, serviceAccount: 'bookinfo-ratings', ip: 104, status: 503 }),
        startPod({ name: 'reviews-v1-0', service: 'reviews', labels: { app: 'reviews', version: 'v1' }, serviceAccount: 'bookinfo-reviews', ip: 105 }),
        startPod({ name: 'reviews-v2-0', service: 'reviews', labels: { app: 'reviews', version: 'v2' }, serviceAccount: 'bookinfo-reviews', ip: 106 }),
        startPod({ name: 'reviews-v3-0', service: 'reviews', labels: { app: 'reviews', version: 'v3' }, serviceAccount: 'bookinfo-reviews', ip: 107 }),
      ]),
      startBackend('outside'),
    ]);
    // Bookinfo's own files, unchanged: the Services (and the rest of bookinfo.yaml), every
    // DestinationRule, the jason VirtualService.
    for (const f of ['bookinfo.yaml', 'destination-rule-all.yaml', 'virtual-service-reviews-jason-v2-v3.yaml']) cpSync(join(BOOKINFO, findFixture(f)), join(dir, f));
    writeFileSync(join(dir, 'pods.yaml'), pods.map((p) => podObjects(p)).join('---\n'));
    writeFileSync(join(dir, 'protections.yaml'), protections(caFile));
    [istiod, registryOnly] = await Promise.all([
      startGoServer(binary, ['-config', dir]),
      startGoServer(binary, ['-config', dir, '-outbound-traffic-policy', 'REGISTRY_ONLY']),
    ]);
    const identity = { namespace: 'default', labels: { app: 'productpage', version: 'v1' } };
    embedded = await createMesh({ config: dir, watch: false, logger: silentLogger, ...identity });
    sidecar = await createMesh({ bootstrap: bootstrapFor(istiod), xds: { generator: 'sidecar', initialFetchTimeoutMs: 20_000 }, logger: silentLogger });
    meshes.push(embedded, sidecar);
  }, 1_200_000);

  afterAll(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await Promise.all([istiod?.stop(), registryOnly?.stop()]);
    await Promise.all([...(pods ?? []).map((p) => p.close()), outside?.close()]);
    for (const d of [dir, bsDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** The productpage pod's bootstrap, as istio-agent writes it (GENERATOR grpc; the sidecar profile drops it). */
  function bootstrapFor(server: GoServer, delta = false): string {
    return writeBootstrap(bsDir, server.address, { delta, labels: { app: 'productpage', version: 'v1' } });
  }

  function findFixture(name: string): string {
    const hit = readdirSync(BOOKINFO, { recursive: true, encoding: 'utf8' }).find((f) => f === name || f.endsWith(`/${name}`));
    if (!hit) throw new Error(`tests/fixtures/bookinfo has no ${name}`);
    return hit;
  }

  it('ACKs everything istiod sends a sidecar', () => {
    const dump = sidecar.configDump();
    expect(dump.xds?.connected).toBe(true);
    expect(dump.problems).toEqual([]);
    expect(dump.routeConfigs.map((r) => (r as { name: string }).name)).toContain('9080');
  });

  it.each(REQUESTS)('decides $url $headers as the embedded compiler does', (req) => {
    const viaIstiod = sidecar.explain(req);
    expect(viaIstiod.action).toBe('forward');
    expect(decision(viaIstiod)).toEqual(decision(embedded.explain(req)));
  });

  it('follows the jason route to reviews v2, and everyone else to v3 (bookinfo\'s VirtualService)', () => {
    const to = (headers: Record<string, string>) => sidecar.explain({ url: 'http://reviews:9080/', headers }).clusters.map((c) => [c.name, c.endpoints?.map((e) => e.address)]);
    expect(to({ 'end-user': 'jason' })).toEqual([['outbound|9080|v2|reviews.default.svc.cluster.local', [`127.0.0.106:${pod('reviews-v2-0').port}`]]]);
    expect(to({})).toEqual([['outbound|9080|v3|reviews.default.svc.cluster.local', [`127.0.0.107:${pod('reviews-v3-0').port}`]]]);
  });

  it('holds every protection of the DestinationRules, as the embedded compiler does', () => {
    // The clusters requests to ratings and details use (no VirtualService: their default routes).
    for (const name of ['outbound|9080||ratings.default.svc.cluster.local', 'outbound|9080||details.default.svc.cluster.local']) {
      const a = sidecar.snapshot.clusters.get(name)!;
      const b = embedded.snapshot.clusters.get(name)!;
      expect({ name, outlier: a.outlier, limits: a.limits, connect: a.connectTimeoutMs, tls: a.tls?.sni }).toEqual({ name, outlier: b.outlier, limits: b.limits, connect: b.connectTimeoutMs, tls: b.tls?.sni });
    }
    expect(sidecar.snapshot.clusters.get('outbound|9080||details.default.svc.cluster.local')!.tls?.trust).toMatchObject({ kind: 'file' });
  });

  describe.each([['embedded', () => embedded], ['sidecar via istiod', () => sidecar]] as const)('enforced (%s)', (_label, meshOf) => {
    let agent: MeshAgent;
    beforeAll(() => { agent = new MeshAgent({ mesh: meshOf() }); });
    afterAll(() => agent.close());
    const get = async (origin: string, path = '/') => {
      const res = await agent.request({ origin, path, method: 'GET' });
      await res.body.dump();
      return res.statusCode;
    };

    it('ejects the failing ratings pod after 2 consecutive 5xx', async () => {
      const bad = pod('ratings-v1-1');
      bad.hits = 0;
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push(await get('http://ratings:9080', '/ratings/0'));
      // Least request between two hosts reaches the bad one within a few requests; two 503s
      // (consecutive5xxErrors: 2) eject it for 60 s, so it never sees another request.
      expect(bad.hits).toBe(2);
      expect(statuses.filter((s) => s === 503)).toHaveLength(2);
      expect(statuses.slice(-20).every((s) => s === 200)).toBe(true);
    });

    it('originates TLS to details with the rule\'s SNI, and fails an overflow fast', async () => {
      const details = pod('details-v1-0');
      details.seen = [];
      expect(await get('http://details:9080', '/details/0')).toBe(200);
      expect(details.seen).toEqual([{ tls: true, servername: SNI }]);
      // http2MaxRequests 1: of five at once, one is served (the pod takes 400 ms); four fail at once.
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 5 }, () => get('http://details:9080', '/details/0').then((s) => ({ s, ms: performance.now() - started }), (e: unknown) => ({ e, ms: performance.now() - started }))));
      const overflowed = results.filter((r) => 'e' in r && r.e instanceof OverflowError);
      expect(results.filter((r) => 's' in r && r.s === 200)).toHaveLength(1);
      expect(overflowed).toHaveLength(4);
      for (const r of overflowed) expect(r.ms).toBeLessThan(300);
    });
  });

  it('reaches a host outside the mesh without waiting, in both xDS profiles', async () => {
    const proxyless = await createMesh({ bootstrap: bootstrapFor(istiod), logger: silentLogger, xds: { initialFetchTimeoutMs: 20_000 } });
    meshes.push(proxyless);
    for (const mesh of [proxyless, sidecar]) {
      const agent = new MeshAgent({ mesh });
      try {
        const start = performance.now();
        const res = await agent.request({ origin: `http://127.0.0.1:${outside.port}`, path: '/', method: 'GET' });
        expect(await res.body.text()).toBe('outside');
        // The does-not-exist timer would be 15 s.
        expect(performance.now() - start).toBeLessThan(3000);
      } finally {
        await agent.close();
      }
    }
    // The proxyless profile still routes mesh hosts, fetched on first use.
    expect(await proxyless.ensureService('reviews', 9080)).toBe(true);
  });

  it('blocks hosts outside the mesh under REGISTRY_ONLY, as the sidecar does', async () => {
    const blocked = await createMesh({ bootstrap: bootstrapFor(registryOnly, true), xds: { generator: 'sidecar', initialFetchTimeoutMs: 20_000 }, logger: silentLogger });
    meshes.push(blocked);
    const agent = new MeshAgent({ mesh: blocked });
    try {
      const res = await agent.request({ origin: 'http://example.com:9080', path: '/', method: 'GET' });
      expect(res.statusCode).toBe(502);
      await res.body.dump();
      const err = await agent.request({ origin: `http://127.0.0.1:${outside.port}`, path: '/', method: 'GET' }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(OutboundBlockedError);
      expect(decision(blocked.explain({ url: 'http://reviews:9080/', headers: { 'end-user': 'jason' } }))).toEqual(decision(embedded.explain({ url: 'http://reviews:9080/', headers: { 'end-user': 'jason' } })));
    } finally {
      await agent.close();
    }
  });
});
