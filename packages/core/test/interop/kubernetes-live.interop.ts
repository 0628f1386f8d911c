// Kubernetes-native mode against a real kube-apiserver and etcd (built from Go modules, see
// kube-cluster.ts) with Istio's CRDs installed: config written through the API routes HTTP
// (MeshAgent) and gRPC, edits follow within a second, an invalid object keeps its last good
// version, and neither an API server restart nor an expired watch (410 Gone) costs a request.
// Real traffic goes to servers on 127.0.0.1, reached through ServiceEntry endpoints (Kubernetes
// refuses loopback addresses in EndpointSlices).

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, type Client } from '@grpc/grpc-js';
import { request } from 'undici';
import { createMesh, type Logger, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { register } from '../../../grpc/src/index.ts';
import { EchoClient, startEchoServer } from '../../../grpc/test/helpers/echo-server.ts';
import { unary } from '../../../grpc/test/helpers/calls.ts';
import { startBackend, waitFor, type Backend } from '../xds-helpers.ts';
import { HAS_GO } from './go-build.ts';
import { KubeCluster } from './kube-cluster.ts';
import { CuttableProxy, namespace, routeTo, serviceEntry, subsets, virtualService } from './kube-objects.ts';

/** A logger that keeps every line, for asserting what was reported. */
function recordingLogger(): Logger & { lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = [];
  const add = (level: string) => (obj: object | string, msg?: string) => {
    lines.push({ level, text: typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}` });
  };
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs the meshlet CLI; resolves with stdout, rejects with stderr on a non-zero exit. */
function meshlet(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--conditions=source', CLI, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`meshlet ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The subset explain() picks for `host` (the only cluster of the decision). */
function subsetOf(mesh: Mesh, url: string): string | undefined {
  const e = mesh.explain({ url });
  if (e.clusters.length !== 1) return e.clusters.length === 0 ? undefined : 'split';
  return e.clusters[0]!.name.split('|')[2];
}

describe.skipIf(!HAS_GO)('Kubernetes-native mode against a real kube-apiserver (needs Go to build it)', () => {
  let cluster: KubeCluster;
  let v1: Backend, v2: Backend;
  const meshes: Mesh[] = [];

  beforeAll(async () => {
    cluster = await KubeCluster.start();
    [v1, v2] = await Promise.all([startBackend('v1'), startBackend('v2')]);
  });
  afterAll(async () => {
    for (const m of meshes) await m.close();
    await Promise.all([v1?.close(), v2?.close()]);
    await cluster?.stop();
  });

  /** A namespace of its own per test, with the reviews service (v1, v2) in it. */
  async function reviewsIn(ns: string): Promise<void> {
    await cluster.apply(namespace(ns));
    await cluster.apply(serviceEntry(ns, 'reviews', 9080, 'HTTP', { v1: v1.port, v2: v2.port }));
    await cluster.apply(subsets(ns, 'reviews', ['v1', 'v2']));
  }

  async function meshFor(ns: string, kubeconfig = cluster.writeKubeconfig('admin'), logger = recordingLogger()): Promise<Mesh> {
    const mesh = await createMesh({ kubernetes: { kubeconfig, namespaces: [ns] }, namespace: ns, logger, telemetry: false });
    meshes.push(mesh);
    return mesh;
  }

  async function backendOf(agent: MeshAgent, url: string): Promise<string> {
    const res = await request(url, { dispatcher: agent });
    return res.body.text();
  }

  it('routes HTTP by VirtualServices created through the API, and follows create, update and delete within a second', async () => {
    const ns = 'http-edits';
    await reviewsIn(ns);
    const mesh = await meshFor(ns);
    const agent = new MeshAgent({ mesh });
    const url = 'http://reviews:9080/';
    // No VirtualService yet: the default route round-robins over both versions.
    expect(subsetOf(mesh, url)).toBe('');

    const timings: number[] = [];
    await cluster.apply(routeTo(ns, 'reviews', 'v2'));
    timings.push(await waitFor(() => subsetOf(mesh, url) === 'v2', 5000, 'the created VirtualService'));
    for (let i = 0; i < 5; i++) expect(await backendOf(agent, url)).toBe('v2');

    await cluster.apply(routeTo(ns, 'reviews', 'v1'));
    timings.push(await waitFor(() => subsetOf(mesh, url) === 'v1', 5000, 'the updated VirtualService'));
    for (let i = 0; i < 5; i++) expect(await backendOf(agent, url)).toBe('v1');

    await cluster.delete(routeTo(ns, 'reviews', 'v1'));
    timings.push(await waitFor(() => subsetOf(mesh, url) === '', 5000, 'the deleted VirtualService'));
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await backendOf(agent, url));
    expect([...seen].sort()).toEqual(['v1', 'v2']);

    for (const t of timings) expect(t).toBeLessThan(1000);
    await agent.close();
  });

  it('routes gRPC by a VirtualService created through the API', async () => {
    const ns = 'grpc-routes';
    const [g1, g2] = await Promise.all([startEchoServer('g1'), startEchoServer('g2')]);
    let client: Client | undefined;
    try {
      await cluster.apply(namespace(ns));
      await cluster.apply(serviceEntry(ns, 'echo', 9000, 'GRPC', { v1: g1.port, v2: g2.port }));
      await cluster.apply(subsets(ns, 'echo', ['v1', 'v2']));
      await cluster.apply(virtualService(ns, 'echo', [
        { name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'echo', subset: 'v2' } }] },
        { name: 'rest', route: [{ destination: { host: 'echo', subset: 'v1' } }] },
      ]));
      const mesh = await meshFor(ns);
      register(mesh);
      client = new EchoClient(`mesh:///echo.${ns}.svc.cluster.local:9000`, credentials.createInsecure());
      expect((await unary(client, {}, { headers: { 'end-user': 'jason' } })).reply.server).toBe('g2');
      expect((await unary(client)).reply.server).toBe('g1');

      // An edit through the API reaches the gRPC channel too.
      await cluster.apply(routeTo(ns, 'echo', 'v2'));
      await waitFor(() => subsetOf(mesh, `http://echo.${ns}.svc.cluster.local:9000/`) === 'v2', 5000, 'the gRPC route change');
      expect((await unary(client)).reply.server).toBe('g2');
    } finally {
      client?.close();
      await Promise.all([g1.close(), g2.close()]);
    }
  });

  it('rejects an invalid VirtualService naming it, its resourceVersion and the field, and keeps its last good routes', async () => {
    const ns = 'invalid-edit';
    await reviewsIn(ns);
    await cluster.apply(routeTo(ns, 'reviews', 'v2'));
    const logger = recordingLogger();
    const mesh = await meshFor(ns, undefined, logger);
    const url = 'http://reviews:9080/';
    expect(subsetOf(mesh, url)).toBe('v2');

    // The CRD's schema takes any string as a regex and any weight; istiod's webhook would not.
    const bad = virtualService(ns, 'reviews', [
      { match: [{ uri: { regex: '/api/(v1' } }], route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
      { route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: -5 }] },
    ]);
    const written = await cluster.apply(bad);
    const rv = written.metadata.resourceVersion as string;
    await waitFor(() => mesh.problems.some((p) => p.includes(`resourceVersion ${rv}`)), 5000, 'the rejection');
    const problems = mesh.problems.filter((p) => p.includes(`VirtualService ${ns}/reviews (resourceVersion ${rv})`));
    expect(problems.some((p) => p.includes('spec.http[0].match[0].uri.regex'))).toBe(true);
    expect(problems.some((p) => p.includes('spec.http[1].route[0].weight'))).toBe(true);
    expect(logger.lines.some((l) => l.level === 'error' && l.text.startsWith(`VirtualService ${ns}/reviews (resourceVersion ${rv}): spec.http[0].match[0].uri.regex`))).toBe(true);
    // The last good version stays in force.
    expect(subsetOf(mesh, url)).toBe('v2');
    const agent = new MeshAgent({ mesh });
    expect(await backendOf(agent, url)).toBe('v2');

    // A valid version replaces it and clears the problem.
    await cluster.apply(routeTo(ns, 'reviews', 'v1'));
    await waitFor(() => subsetOf(mesh, url) === 'v1', 5000, 'the fixed VirtualService');
    await waitFor(() => !mesh.problems.some((p) => p.includes(`VirtualService ${ns}/reviews`)), 5000, 'the problem to clear');
    await agent.close();
  });

  it('starts beside an invalid object written before it, leaving it out, or refuses to when told to', async () => {
    const ns = 'invalid-at-start';
    await reviewsIn(ns);
    await cluster.apply(virtualService(ns, 'reviews', [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: -1 }] }]));
    const logger = recordingLogger();
    const mesh = await meshFor(ns, undefined, logger);
    // As istiod does: the object is left out (reported), the rest applies.
    expect(subsetOf(mesh, 'http://reviews:9080/')).toBe('');
    expect(mesh.problems.some((p) => p.startsWith(`VirtualService ${ns}/reviews (resourceVersion `) && p.includes('spec.http[0].route[0].weight'))).toBe(true);
    expect(logger.lines.some((l) => l.text === `kubernetes: VirtualService ${ns}/reviews is left out until a valid version of it arrives`)).toBe(true);

    const err = await createMesh({ kubernetes: { kubeconfig: cluster.writeKubeconfig('admin'), namespaces: [ns] }, skipInvalidObjects: false, namespace: ns, logger: recordingLogger(), telemetry: false }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^kubernetes: an invalid object in https:\/\/127\.0\.0\.1:\d+; nothing was applied/);
    expect(err?.message).toContain(`VirtualService ${ns}/reviews (resourceVersion `);
  });

  it('serves every request while the API server restarts, then resumes its watches and follows edits', async () => {
    const ns = 'restart';
    await reviewsIn(ns);
    await cluster.apply(routeTo(ns, 'reviews', 'v2'));
    const mesh = await meshFor(ns);
    const agent = new MeshAgent({ mesh });
    const url = 'http://reviews:9080/';

    // Traffic all along: a request every 5 ms, bounded by count and by the `stop` flag.
    let stop = false;
    const results = { ok: 0, failed: [] as string[] };
    const traffic = (async () => {
      for (let i = 0; i < 20_000 && !stop; i++) {
        try {
          const body = await backendOf(agent, url);
          if (body === 'v2') results.ok++;
          else results.failed.push(`routed to ${body}`);
        } catch (err) {
          results.failed.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    await cluster.stopApiserver();
    await waitFor(() => mesh.configDump().kubernetes!.watches.every((w) => w.lastError !== undefined), 60_000, 'every watch to notice');
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.startApiserver();
    await waitFor(() => mesh.configDump().kubernetes!.watches.every((w) => w.lastError === undefined), 60_000, 'every watch to resume');
    stop = true;
    await traffic;
    expect(results.failed).toEqual([]);
    expect(results.ok).toBeGreaterThan(20);

    // The resumed watches follow edits again. The one-second bound is the first test's, on
    // settled watches; just after a restart a watch may still be relisting (measured 1.04 s once
    // at load average 6), so this bound only proves the edit is not lost or left for a resync.
    await cluster.apply(routeTo(ns, 'reviews', 'v1'));
    expect(await waitFor(() => subsetOf(mesh, url) === 'v1', 5000, 'an edit after the restart')).toBeLessThan(3000);
    await agent.close();
  });

  it('relists after 410 Gone and applies only the difference, with no gap in routing', async () => {
    const ns = 'expired';
    await cluster.apply(namespace(ns));
    for (const name of ['reviews', 'ratings', 'details']) {
      await cluster.apply(serviceEntry(ns, name, 9080, 'HTTP', { v1: v1.port, v2: v2.port }));
      await cluster.apply(subsets(ns, name, ['v1', 'v2']));
    }
    await cluster.apply(routeTo(ns, 'reviews', 'v2'));
    await cluster.apply(routeTo(ns, 'ratings', 'v2'));
    const proxy = await CuttableProxy.start(cluster.port);
    try {
      const mesh = await meshFor(ns, cluster.writeKubeconfig('admin', { server: `https://127.0.0.1:${proxy.port}` }));
      const at = (name: string) => subsetOf(mesh, `http://${name}:9080/`);
      expect([at('reviews'), at('ratings'), at('details')]).toEqual(['v2', 'v2', '']);
      const vsWatch = () => mesh.configDump().kubernetes!.watches.find((w) => w.resource === 'virtualservices.networking.istio.io' && w.namespace === ns)!;
      expect(vsWatch()).toMatchObject({ lists: 1, expired: 0 });
      // Every snapshot from here on must keep reviews' route: a relist must not pass through
      // an empty view.
      const reviewsSeen: (string | undefined)[] = [];
      mesh.subscribe(() => reviewsSeen.push(at('reviews')));

      // Cut the mesh off, change things behind its back, and restart the API server: its watch
      // cache now starts after the mesh's resourceVersion, so resuming gets 410 Gone.
      proxy.cut();
      await waitFor(() => vsWatch().lastError !== undefined, 60_000, 'the watch to break');
      await cluster.delete(routeTo(ns, 'ratings', 'v2'));
      await cluster.apply(routeTo(ns, 'details', 'v2'));
      await cluster.stopApiserver();
      await cluster.startApiserver();
      expect([at('reviews'), at('ratings'), at('details')]).toEqual(['v2', 'v2', '']);
      proxy.heal();

      await waitFor(() => at('details') === 'v2' && at('ratings') === '', 60_000, 'the relist to apply');
      expect(vsWatch()).toMatchObject({ lists: 2, expired: 1 });
      expect(vsWatch().lastError).toBeUndefined();
      expect(at('reviews')).toBe('v2');
      expect(reviewsSeen.length).toBeGreaterThan(0);
      expect(reviewsSeen.every((s) => s === 'v2')).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('meshlet explain and dump --kubernetes show the decision a live cluster gives', async () => {
    const ns = 'cli';
    await reviewsIn(ns);
    await cluster.apply(virtualService(ns, 'reviews', [
      { name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
      { name: 'rest', route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
    ]));
    const kubeconfig = cluster.writeKubeconfig('admin');
    const explain = JSON.parse(await meshlet(['explain', '--kubernetes', '--kubeconfig', kubeconfig, '--namespace', ns, '--watch-namespace', ns, '-H', 'end-user: jason', 'GET', 'http://reviews:9080/']));
    expect(explain.route).toMatchObject({ name: 'jason', origin: `VirtualService ${ns}/reviews` });
    expect(explain.clusters.map((c: { name: string }) => c.name)).toEqual([`outbound|9080|v2|reviews.${ns}.svc.cluster.local`]);
    const dump = JSON.parse(await meshlet(['dump', '--kubernetes', '--kubeconfig', kubeconfig, '--namespace', ns, '--watch-namespace', ns]));
    expect(dump.source).toBe(`kubernetes:${cluster.server}`);
    expect(dump.kubernetes.watches.length).toBeGreaterThan(0);
    expect(dump.kubernetes.watches.every((w: { synced: boolean }) => w.synced)).toBe(true);
  });

  it('gives one clear error when RBAC forbids a kind it reads', async () => {
    const ns = 'rbac';
    await reviewsIn(ns);
    // Everything Meshlet reads except DestinationRules.
    await cluster.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'meshlet-partial' },
      rules: [
        { apiGroups: [''], resources: ['services', 'pods', 'nodes', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.istio.io'], resources: ['virtualservices', 'serviceentries', 'workloadentries', 'sidecars'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['security.istio.io', 'telemetry.istio.io', 'gateway.networking.k8s.io'], resources: ['*'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    await cluster.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'meshlet-partial' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'meshlet-partial' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'meshlet-limited' }],
    });
    const logger = recordingLogger();
    const err = await createMesh({ kubernetes: { kubeconfig: cluster.writeKubeconfig('limited') }, namespace: ns, logger, telemetry: false }).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^kubernetes: forbidden: cannot list\/watch destinationrules\.networking\.istio\.io as kubeconfig .*: .*meshlet-limited.* cannot list resource "destinationrules".*; grant get, list and watch on destinationrules\.networking\.istio\.io/);
    expect(err!.message.split('\n')).toHaveLength(1);
    await cluster.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/meshlet-partial');
  });
});
