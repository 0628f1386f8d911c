// The RBAC shipped in examples/kubernetes/, applied to a real kube-apiserver: a mesh
// authenticated as the example's service account (a bound token from the TokenRequest API,
// what a pod's projected token volume holds) runs with exactly those permissions — scoped to
// its namespaces plus Istio's root namespace, or cluster-wide — and everything it watches is
// granted there.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { startBackend, type Backend } from '../xds-helpers.ts';
import { HAS_GO } from './go-build.ts';
import { KubeCluster, type KubeResource } from './kube-cluster.ts';
import { namespace, routeTo, serviceEntry, subsets } from './kube-objects.ts';

function exampleObjects(file: string): KubeResource[] {
  const text = readFileSync(fileURLToPath(new URL(`../../../../examples/kubernetes/${file}`, import.meta.url)), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as KubeResource).filter(Boolean);
}

/** `plural.group` of every resource the example's roles grant get/list/watch on. */
function granted(objects: KubeResource[]): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'ClusterRole' && o.kind !== 'Role') continue;
    for (const rule of o['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
      expect([...rule.verbs].sort()).toEqual(['get', 'list', 'watch']);
      for (const g of rule.apiGroups) for (const r of rule.resources) out.add(g === '' ? r : `${r}.${g}`);
    }
  }
  return out;
}

describe.skipIf(!HAS_GO)('the example RBAC against a real kube-apiserver (needs Go to build it)', () => {
  let cluster: KubeCluster;
  let v1: Backend, v2: Backend;
  const meshes: Mesh[] = [];

  beforeAll(async () => {
    cluster = await KubeCluster.start();
    [v1, v2] = await Promise.all([startBackend('v1'), startBackend('v2')]);
    for (const ns of ['bookinfo', 'istio-system', 'other']) await cluster.apply(namespace(ns));
    await cluster.apply(serviceEntry('bookinfo', 'reviews', 9080, 'HTTP', { v1: v1.port, v2: v2.port }));
    // Subsets from a mesh-wide rule in the root namespace: found only if that namespace is watched.
    await cluster.apply({ ...subsets('istio-system', 'reviews', ['v1', 'v2']), spec: { host: 'reviews.bookinfo.svc.cluster.local', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } });
    await cluster.apply(routeTo('bookinfo', 'reviews', 'v2'));
    await cluster.apply(routeTo('other', 'reviews', 'v1'));
  });
  afterAll(async () => {
    for (const m of meshes) await m.close();
    await Promise.all([v1?.close(), v2?.close()]);
    await cluster?.stop();
  });

  async function meshAsReviews(namespaces?: string[]): Promise<Mesh> {
    const token = await cluster.serviceAccountToken('bookinfo', 'reviews');
    const mesh = await createMesh({
      kubernetes: { kubeconfig: cluster.writeKubeconfig({ token }), ...(namespaces && { namespaces }) },
      namespace: 'bookinfo',
      logger: silentLogger,
      telemetry: false,
    });
    meshes.push(mesh);
    return mesh;
  }

  async function backendOf(mesh: Mesh): Promise<string> {
    const agent = new MeshAgent({ mesh });
    try {
      const res = await request('http://reviews:9080/', { dispatcher: agent });
      return await res.body.text();
    } finally {
      await agent.close();
    }
  }

  it('native-rbac-namespaced.yaml: a mesh watching bookinfo (and istio-system) needs nothing more', async () => {
    const objects = exampleObjects('native-rbac-namespaced.yaml');
    for (const o of objects) await cluster.apply(o);
    const mesh = await meshAsReviews(['bookinfo']);
    expect(await backendOf(mesh)).toBe('v2');

    const watches = mesh.configDump().kubernetes!.watches;
    expect(watches.every((w) => w.synced && w.lastError === undefined)).toBe(true);
    // Namespaced kinds only where told; Istio config also from the root namespace.
    const namespaces = new Set(watches.map((w) => w.namespace ?? '*'));
    expect(namespaces.has('other')).toBe(false);
    const grants = granted(objects);
    for (const w of watches) expect(grants.has(w.resource)).toBe(true);
  });

  it('native-rbac.yaml: a mesh watching every namespace, with exactly the kinds it reads granted', async () => {
    const objects = exampleObjects('native-rbac.yaml');
    for (const o of objects) await cluster.apply(o);
    const mesh = await meshAsReviews();
    expect(await backendOf(mesh)).toBe('v2');
    const status = mesh.configDump().kubernetes!;
    const watched = new Set(status.watches.map((w) => w.resource));
    const grants = granted(objects);
    for (const w of watched) expect(grants.has(w)).toBe(true);
    // Nothing granted that is not read: each grant is watched, or a Gateway API kind this
    // cluster does not serve (its CRDs are not installed here).
    const missing = new Set(status.missing.map((m) => m.kind));
    for (const g of grants) {
      if (watched.has(g)) continue;
      expect(g, `${g} is granted but not watched`).toMatch(/\.gateway\.networking\.k8s\.io$/);
      expect(missing.has(g.startsWith('httproutes') ? 'HTTPRoute' : 'GRPCRoute')).toBe(true);
    }
  });
});
