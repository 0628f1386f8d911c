// Objects as the Kubernetes API sends them (JSON, with resourceVersion, managedFields, status)
// through the loader entry for API objects, and the last-good store the live source keeps. The
// live source itself runs against a real API server in the interop suite
// (test/interop/kubernetes-live.interop.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileMesh } from '../src/istio/compile/compile-mesh.ts';
import { trimObject } from '../src/config/kubernetes/kube-trim.ts';
import { formatProblem } from '../src/config-error.ts';
import { loadApiObject } from '../src/istio/load/load-api-object.ts';
import { LastGoodObjects } from '../src/config/kubernetes/last-good-objects.ts';
import type { KubeObject } from '../src/config/kubernetes/kube-connection.ts';
import type { VirtualService } from '../src/istio/types.ts';

function vs(rv: string, http: unknown[], name = 'reviews'): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name,
      namespace: 'prod',
      resourceVersion: rv,
      uid: '6f1c2d1e-0000-4000-8000-000000000001',
      generation: 3,
      creationTimestamp: '2026-01-02T03:04:05Z',
      managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
    },
    spec: { hosts: ['reviews'], http },
    status: {},
  };
}

const toV1 = [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }];
const badRegex = [{ match: [{ uri: { regex: '/api/(v1' } }], route: [{ destination: { host: 'reviews' } }] }];

describe('loadApiObject', () => {
  it('reads an API object with its server-side metadata, keeping the resourceVersion as its source', () => {
    const { objects, problems } = loadApiObject(vs('4182', toV1));
    expect(problems).toEqual([]);
    const obj = objects[0] as VirtualService;
    expect(obj.metadata).toEqual({ name: 'reviews', namespace: 'prod', creationTimestamp: '2026-01-02T03:04:05Z' });
    expect(obj.source).toMatchObject({ file: '', line: 0, resourceVersion: '4182' });
  });

  it('names the object, its resourceVersion and the field in each problem, with no file:line', () => {
    const { objects, problems } = loadApiObject(vs('77', badRegex));
    expect(objects).toEqual([]);
    expect(problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^VirtualService prod\/reviews \(resourceVersion 77\): spec\.http\[0\]\.match\[0\]\.uri\.regex: /),
    ]);
    expect(problems[0]).toMatchObject({ file: '', line: 0, resourceVersion: '77', kind: 'VirtualService', namespace: 'prod', name: 'reviews' });
  });

  it('refuses a value that is not an object, without throwing', () => {
    expect(loadApiObject(null).problems[0]?.message).toBe('the API sent an empty value, not an object');
    expect(loadApiObject([]).problems[0]?.message).toBe('the API sent a list, not an object');
  });
});

describe('formatProblem', () => {
  it('keeps file:line for objects read from files', () => {
    expect(formatProblem({ severity: 'error', file: 'mesh.yaml', line: 7, kind: 'VirtualService', namespace: 'default', name: 'r', field: 'spec.hosts', message: 'required' }))
      .toBe('mesh.yaml:7: VirtualService default/r: spec.hosts: required');
  });

  it('names a cluster-scoped object without a namespace', () => {
    expect(formatProblem({ severity: 'warning', file: '', line: 0, resourceVersion: '9', kind: 'Node', namespace: '', name: 'n1', field: 'metadata.labels', message: 'odd' }))
      .toBe('Node n1 (resourceVersion 9): metadata.labels: warning: odd');
  });
});

describe('LastGoodObjects', () => {
  it('keeps the last good version of an object whose new version is invalid, and reports the new one', () => {
    const store = new LastGoodObjects();
    expect(store.upsert(vs('1', toV1))).toEqual({ changed: true, kept: false, problems: [] });
    const good = store.objects();

    const rejected = store.upsert(vs('2', badRegex));
    expect(rejected).toMatchObject({ changed: false, kept: true });
    expect(rejected.problems[0]?.resourceVersion).toBe('2');
    expect(store.objects()).toBe(good);
    expect(store.objects()[0]?.source.resourceVersion).toBe('1');
    expect(store.problems().map(formatProblem)).toEqual([expect.stringContaining('(resourceVersion 2)')]);

    // A valid version replaces both the object and the problem.
    expect(store.upsert(vs('3', toV1)).changed).toBe(true);
    expect(store.objects()[0]?.source.resourceVersion).toBe('3');
    expect(store.problems()).toEqual([]);
  });

  it('removes an object and its problems on delete, even one that never validated', () => {
    const store = new LastGoodObjects();
    store.upsert(vs('1', toV1, 'a'));
    expect(store.upsert(vs('2', badRegex, 'b'))).toMatchObject({ changed: false, kept: false });
    expect(store.size).toBe(1);
    expect(store.problems()).toHaveLength(1);
    expect(store.remove(vs('3', [], 'b'))).toBe(false);
    expect(store.problems()).toEqual([]);
    expect(store.remove(vs('4', [], 'a'))).toBe(true);
    expect(store.objects()).toEqual([]);
  });

  it('lists objects in a stable order whatever order they arrived in', () => {
    const a = new LastGoodObjects();
    const b = new LastGoodObjects();
    for (const n of ['c', 'a', 'b']) a.upsert(vs('1', toV1, n));
    for (const n of ['b', 'c', 'a']) b.upsert(vs('1', toV1, n));
    expect(a.objects().map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(b.objects().map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('trimObject', () => {
  // Istio's bookinfo as a cluster holds it: injected pods, nodes, a namespace, slices, services.
  const dir = fileURLToPath(new URL('../../../tests/fixtures/bookinfo/', import.meta.url));
  const files = ['platform', 'networking'].flatMap((d) => readdirSync(join(dir, d)).map((f) => join(dir, d, f)));
  const raw = (): KubeObject[] => files.flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as KubeObject & { items?: KubeObject[] }))
    .filter(Boolean)
    .flatMap((o) => (o.kind === 'List' ? o.items ?? [] : [o]))
    .map((o, i) => ({ ...o, metadata: { ...o.metadata, resourceVersion: String(100 + i) } }));
  const compiled = (objects: KubeObject[]) => {
    const loaded = objects.flatMap((o) => loadApiObject(o).objects);
    const { resources } = compileMesh(loaded, { namespace: 'default', labels: {}, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' });
    return JSON.stringify([...resources.listeners, ...resources.routeConfigs, ...resources.clusters, ...resources.endpoints]);
  };

  it('keeps everything the registry reads: bookinfo compiles the same with and without it', () => {
    const whole = raw();
    const trimmed = raw();
    for (const o of trimmed) trimObject(o);
    const out = compiled(whole);
    // Pod-derived facts are in the output: service accounts (identities) and pod addresses.
    expect(out).toContain('bookinfo-reviews');
    expect(out).toContain('127.0.0.11');
    expect(compiled(trimmed)).toBe(out);
  });

  it('drops most of an injected pod and all of a node but its labels', () => {
    const pods = raw().filter((o) => o.kind === 'Pod');
    const before = JSON.stringify(pods).length;
    for (const p of pods) trimObject(p);
    expect(JSON.stringify(pods).length).toBeLessThan(before / 2);
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' }, managedFields: [{}] }, spec: { podCIDR: '10.0.0.0/24' }, status: { images: [{ names: ['x'] }] } };
    trimObject(node);
    expect(node).toEqual({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } });
  });
});
