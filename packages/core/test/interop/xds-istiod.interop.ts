// Meshlet's ADS client against istiod: the same Istio CRDs served by istiod's DiscoveryServer
// (its proxyless "grpc" generator; see istiod/main.go for why not the pilot-discovery binary)
// and compiled by Meshlet's embedded compiler must give the same routing decisions — route,
// weighted clusters, timeout, retry policy, fault, rewrite — for the same requests. Where the
// resources themselves differ is written down in docs/istiod-differences.md.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, silentLogger, type Explanation, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { REVIEWS, startBackend, tempDir, writeBootstrap, writeConfig, type Backend } from '../xds-helpers.ts';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { buildGo, HAS_GO, installPilotDiscovery, ISTIO_VERSION, startGoServer, type GoServer } from './go-build.ts';

function crds(p: { v1: number; v2: number; v3: number; ratings: number }): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: ${p.v1} }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { http: ${p.v2} }, labels: { version: v2 } }
    - { address: 127.0.0.1, ports: { http: ${p.v3} }, labels: { version: v3 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: default }
spec:
  hosts: [ratings.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: ${p.ratings} } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
    - { name: v3, labels: { version: v3 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
    - name: jason
      match: [{ headers: { end-user: { exact: jason } } }]
      timeout: 2s
      retries: { attempts: 3, perTryTimeout: 500ms, retryOn: 5xx }
      route: [{ destination: { host: reviews, subset: v2 } }]
    - name: v3-api
      match: [{ uri: { prefix: /v3/ } }, { uri: { regex: "/beta/[0-9]+" } }]
      rewrite: { uri: /api/ }
      route: [{ destination: { host: reviews, subset: v3 } }]
    - name: faulty
      match: [{ queryParams: { chaos: { exact: "1" } } }]
      fault: { abort: { httpStatus: 503, percentage: { value: 50 } }, delay: { fixedDelay: 1s, percentage: { value: 10 } } }
      route: [{ destination: { host: reviews, subset: v1 } }]
    - name: split
      route:
        - { destination: { host: reviews, subset: v1 }, weight: 75 }
        - { destination: { host: reviews, subset: v3 }, weight: 25 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings, namespace: default }
spec:
  hosts: [ratings]
  http:
    - timeout: 750ms
      retries: { attempts: 0 }
      route: [{ destination: { host: ratings } }]
`;
}

const RATINGS = 'ratings.default.svc.cluster.local:9080';

const REQUESTS: { url: string; headers?: Record<string, string> }[] = [
  { url: 'http://reviews:9080/' },
  { url: 'http://reviews:9080/', headers: { 'end-user': 'jason' } },
  { url: 'http://reviews:9080/v3/items' },
  { url: 'http://reviews:9080/beta/42' },
  { url: 'http://reviews:9080/beta/x' },
  { url: 'http://reviews:9080/x?chaos=1' },
  { url: 'http://reviews.default.svc.cluster.local:9080/other' },
  { url: 'http://ratings:9080/r' },
];

/** The parts of a decision that must agree; load-balancer details are compared separately. */
function decision(e: Explanation): unknown {
  return {
    action: e.action,
    service: e.service,
    routeConfig: e.routeConfig,
    route: e.route?.name ?? null,
    clusters: e.clusters.map((c) => ({ name: c.name, weight: c.weight, endpoints: c.endpoints?.map((x) => x.address).sort() ?? null })),
    timeoutMs: e.timeoutMs,
    retry: e.retry,
    fault: e.fault,
    rewrite: e.rewrite,
    redirect: e.redirect,
    directResponse: e.directResponse,
  };
}

describe.skipIf(!HAS_GO)('Meshlet ADS client against istiod', () => {
  let binary: string;
  let backends: Backend[];
  let dir: string;
  let embedded: Mesh;
  beforeAll(async () => {
    [binary, backends] = await Promise.all([buildGo('istiod'), Promise.all(['v1', 'v2', 'v3', 'ratings'].map((n) => startBackend(n)))]);
    dir = tempDir('istiod');
    const [v1, v2, v3, ratings] = backends.map((b) => b.port) as [number, number, number, number];
    writeConfig(dir, { 'mesh.yaml': crds({ v1, v2, v3, ratings }) });
    embedded = await createMesh({ config: dir, watch: false, logger: silentLogger });
  });
  afterAll(async () => {
    await embedded?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  describe.each([['state-of-the-world', false], ['delta', true]] as const)('%s', (_label, delta) => {
    let istiod: GoServer;
    let mesh: Mesh;
    beforeAll(async () => {
      istiod = await startGoServer(binary, ['-config', dir]);
      mesh = await createMesh({
        bootstrap: writeBootstrap(tempDir('istiod-bootstrap'), istiod.address, { delta }),
        listeners: [REVIEWS, RATINGS],
        logger: silentLogger,
        xds: { initialFetchTimeoutMs: 20_000 },
      });
    });
    afterAll(async () => {
      await mesh?.close();
      await istiod?.stop();
    });

    it("ACKs every resource istiod sends", () => {
      const xds = mesh.configDump().xds!;
      expect(xds.connected).toBe(true);
      const bad = xds.resources.filter((r) => r.status !== 'ACKED').map((r) => `${r.type} ${r.name}: ${r.status} ${r.errorState?.details ?? ''}`);
      expect(bad).toEqual([]);
      expect(xds.resources.filter((r) => r.type === 'Cluster').map((r) => r.name).sort()).toEqual([
        'outbound|9080|v1|reviews.default.svc.cluster.local',
        'outbound|9080|v2|reviews.default.svc.cluster.local',
        'outbound|9080|v3|reviews.default.svc.cluster.local',
        'outbound|9080||ratings.default.svc.cluster.local',
      ].sort());
    });

    it.each(REQUESTS)('decides $url $headers as the embedded compiler does', (req) => {
      const viaIstiod = mesh.explain({ url: req.url, headers: req.headers ?? {} });
      const viaCompiler = embedded.explain({ url: req.url, headers: req.headers ?? {} });
      expect(decision(viaIstiod)).toEqual(decision(viaCompiler));
    });

    it('sends real requests where istiod says', async () => {
      const agent = new MeshAgent({ mesh });
      try {
        const jason = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET', headers: { 'end-user': 'jason' } });
        expect(await jason.body.text()).toBe('v2');
        const v3 = await agent.request({ origin: 'http://reviews:9080', path: '/v3/x', method: 'GET' });
        expect(await v3.body.text()).toBe('v3');
        const ratings = await agent.request({ origin: 'http://ratings:9080', path: '/', method: 'GET' });
        expect(await ratings.body.text()).toBe('ratings');
      } finally {
        await agent.close();
      }
    });
  });

  // The binary the issue asks for. At the pinned version it panics without Kubernetes (nil
  // multicluster controller, docs/istiod-differences.md); this notices the day it stops doing so.
  it(`pilot-discovery --registries= --configDir (istio.io/istio ${ISTIO_VERSION})`, async (ctx) => {
    const binary = await installPilotDiscovery();
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
    });
    const child = spawn(binary, [
      'discovery', '--registries=', `--configDir=${dir}`, `--grpcAddr=127.0.0.1:${port}`, '--httpAddr=127.0.0.1:0',
      '--monitoringAddr=127.0.0.1:0', '--secureGRPCAddr=', '--httpsAddr=', '--meshConfig=/nonexistent',
    ], { env: { ...process.env, POD_NAMESPACE: 'istio-system' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const early = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 5000))]);
    if (early !== 'running') {
      if (/nil pointer dereference/.test(stderr) && /multicluster/.test(stderr)) {
        ctx.skip(`pilot-discovery exits without Kubernetes at this version (nil multicluster controller); the DiscoveryServer tests above stand in for it`);
      }
      throw new Error(`pilot-discovery exited with ${early}: ${stderr.slice(-2000)}`);
    }
    try {
      const viaBinary = await createMesh({ bootstrap: writeBootstrap(tempDir('pd'), `127.0.0.1:${port}`), listeners: [REVIEWS, RATINGS], logger: silentLogger, xds: { initialFetchTimeoutMs: 20_000 } });
      try {
        for (const req of REQUESTS) {
          expect(decision(viaBinary.explain({ url: req.url, headers: req.headers ?? {} }))).toEqual(decision(embedded.explain({ url: req.url, headers: req.headers ?? {} })));
        }
      } finally {
        await viaBinary.close();
      }
    } finally {
      child.kill();
      await exited;
    }
  });
});
