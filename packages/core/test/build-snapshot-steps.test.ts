// A snapshot built in steps (Mesh#applyResourcesInSteps) while requests are served between the
// steps: every cluster in force changes, and a request at any step must see the old snapshot
// whole — its clusters' runtimes still configured as that snapshot says — or the new one whole.

import { describe, expect, it } from 'vitest';
import { Mesh } from '../src/mesh.ts';
import { resolveIdentity } from '../src/identity.ts';
import { silentLogger } from '../src/logger.ts';
import type { MeshSnapshot } from '../src/snapshot/mesh-snapshot.ts';
import type { Cluster, ClusterLoadAssignment, XdsResources } from '../src/xds/resources.ts';
import { compile, staticService } from './compile-helpers.ts';

const N = 30;
const host = (i: number) => `s${i}.default.svc.cluster.local`;
const cluster = (i: number) => `outbound|8080||${host(i)}`;

function meshOf(n: number): { mesh: Mesh; resources: XdsResources } {
  const { resources } = compile(Array.from({ length: n }, (_, i) => staticService(host(i), 8080, [{ address: `10.0.${i}.1` }, { address: `10.0.${i}.2` }])));
  const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
  mesh.applyResources(resources, 'test');
  return { mesh, resources };
}

/** Every cluster changed (a new object with another connect timeout) and every endpoint moved. */
function everythingMoved(r: XdsResources): XdsResources {
  const clusters = new Map<string, Cluster>();
  for (const [name, c] of r.clusters) clusters.set(name, { ...structuredClone(c), connectTimeout: '7s' });
  const endpoints = new Map<string, ClusterLoadAssignment>();
  for (const [name, cla] of r.endpoints) {
    const moved = structuredClone(cla);
    for (const l of moved.endpoints ?? []) for (const e of l.lbEndpoints ?? []) e.endpoint!.address!.socketAddress!.address = e.endpoint!.address!.socketAddress!.address!.replace(/^10\./, '11.');
    endpoints.set(name, moved);
  }
  return { ...r, clusters, endpoints };
}

/** What a request reading `s` meets: each cluster's runtime as `s` configured it, its picks among `s`'s hosts. */
function whole(s: MeshSnapshot, prefix: string, except?: string): void {
  for (let i = 0; i < N; i++) {
    if (cluster(i) === except) continue;
    const c = s.clusters.get(cluster(i))!;
    expect(c.runtime.config.endpoints).toBe(c.endpoints);
    expect(c.endpoints.map((e) => e.address).every((a) => a.startsWith(prefix))).toBe(true);
    expect(c.runtime.pick()!.address.startsWith(prefix)).toBe(true);
  }
}

describe('a snapshot built in steps', () => {
  it('requests between the steps see the old snapshot whole, then the new one whole', () => {
    const { mesh, resources } = meshOf(N);
    const before = mesh.snapshot;
    whole(before, '10.');
    const steps = mesh.applyResourcesInSteps(everythingMoved(resources), 'test');
    let yields = 0;
    for (let r = steps.next(); !r.done; r = steps.next()) {
      yields++;
      // A request arriving between two steps.
      expect(mesh.snapshot).toBe(before);
      whole(mesh.snapshot, '10.');
    }
    // The clusters were translated in steps of their own, not in the last one.
    expect(yields).toBeGreaterThanOrEqual(N);
    expect(mesh.snapshot).not.toBe(before);
    whole(mesh.snapshot, '11.');
    expect(mesh.snapshot.clusters.get(cluster(0))!.connectTimeoutMs).toBe(7000);
    // Runtimes (counters, ejections) carry over.
    for (let i = 0; i < N; i++) expect(mesh.snapshot.clusters.get(cluster(i))!.runtime).toBe(before.clusters.get(cluster(i))!.runtime);
    void mesh.close();
  });

  it('a build abandoned midway leaves the snapshot in force and its runtimes as they were', () => {
    const { mesh, resources } = meshOf(N);
    const before = mesh.snapshot;
    const steps = mesh.applyResourcesInSteps(everythingMoved(resources), 'test');
    for (let i = 0; i < N; i++) steps.next();
    steps.return([]);
    expect(mesh.snapshot).toBe(before);
    whole(mesh.snapshot, '10.');
    // The next build still applies whole.
    mesh.applyResources(everythingMoved(resources), 'test');
    whole(mesh.snapshot, '11.');
    void mesh.close();
  });

  it('a cluster that fails to translate is reported and left out; the rest apply whole', () => {
    const { mesh, resources } = meshOf(N);
    const moved = everythingMoved(resources);
    const bad = moved.clusters.get(cluster(3))!;
    moved.clusters.set(cluster(3), { ...bad, connectTimeout: '-1s' });
    const errors = mesh.applyResources(moved, 'test');
    expect(errors.join('\n')).toContain(cluster(3));
    expect(mesh.snapshot.clusters.has(cluster(3))).toBe(false);
    whole(mesh.snapshot, '11.', cluster(3));
    void mesh.close();
  });
});
