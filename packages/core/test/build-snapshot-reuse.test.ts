// Incremental snapshot builds: an unchanged resource (the same object) reuses what the last
// build made of it; a changed one is rebuilt; rejections are reported on every build.

import { describe, expect, it } from 'vitest';
import { Mesh } from '../src/mesh.ts';
import { resolveIdentity } from '../src/identity.ts';
import { silentLogger } from '../src/logger.ts';
import type { ClusterLoadAssignment, RouteConfiguration, XdsResources } from '../src/xds/resources.ts';
import { OverlayMap } from '../src/snapshot/overlay-map.ts';
import { compile, staticService, virtualService } from './compile-helpers.ts';

const A = 'a.default.svc.cluster.local';
const B = 'b.default.svc.cluster.local';
const CA = `outbound|8080||${A}`;
const CB = `outbound|8080||${B}`;

function setup(): { mesh: Mesh; resources: XdsResources } {
  const { resources } = compile([
    staticService(A, 8080, [{ address: '10.0.0.1' }, { address: '10.0.0.2' }]),
    staticService(B, 8080, [{ address: '10.0.1.1' }]),
    virtualService('a', { hosts: [A], http: [{ match: [{ uri: { prefix: '/v2' } }], route: [{ destination: { host: B } }] }, { route: [{ destination: { host: A } }] }] }),
  ]);
  const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
  mesh.applyResources(resources, 'test');
  return { mesh, resources };
}

function withEndpoints(r: XdsResources, name: string, addresses: string[]): XdsResources {
  const cla: ClusterLoadAssignment = structuredClone(r.endpoints.get(name)!);
  const template = cla.endpoints![0]!.lbEndpoints![0]!;
  cla.endpoints![0]!.lbEndpoints = addresses.map((address) => {
    const e = structuredClone(template);
    e.endpoint!.address!.socketAddress!.address = address;
    return e;
  });
  const endpoints = new Map(r.endpoints);
  endpoints.set(name, cla);
  return { ...r, endpoints };
}

const addresses = (mesh: Mesh, cluster: string) => mesh.snapshot.clusters.get(cluster)!.endpoints.map((e) => e.address).sort();

describe('incremental snapshot builds', () => {
  it('an EDS change rebuilds that cluster only and keeps every other compiled object', () => {
    const { mesh, resources } = setup();
    const before = mesh.snapshot;
    mesh.applyResources(withEndpoints(resources, CA, ['10.0.0.9']), 'test');
    const after = mesh.snapshot;
    expect(addresses(mesh, CA)).toEqual(['10.0.0.9']);
    expect(after.clusters.get(CA)).not.toBe(before.clusters.get(CA));
    expect(after.clusters.get(CB)).toBe(before.clusters.get(CB));
    expect(after.services.get(`${A}:8080`)).toBe(before.services.get(`${A}:8080`));
    // The runtime (counters, ejection state) is the same object across the change.
    expect(after.clusters.get(CA)!.runtime).toBe(before.clusters.get(CA)!.runtime);
    void mesh.close();
  });

  it('an EDS change handed over as a change set (OverlayMap.replacing) rebuilds what changed, also across sets never applied', () => {
    const { mesh, resources } = setup();
    const before = mesh.snapshot;
    const viaOverlay = (r: XdsResources, name: string, addrs: string[]): XdsResources =>
      ({ ...r, endpoints: OverlayMap.replacing(r.endpoints, new Map([[name, withEndpoints(r, name, addrs).endpoints.get(name)!]])) as Map<string, ClusterLoadAssignment> });
    const one = viaOverlay(resources, CA, ['10.0.0.7']);
    mesh.applyResources(one, 'test');
    expect(addresses(mesh, CA)).toEqual(['10.0.0.7']);
    expect(mesh.snapshot.clusters.get(CB)).toBe(before.clusters.get(CB));
    // Two sets made in a row, only the second applied: both changes arrive.
    const skipped = viaOverlay(one, CB, ['10.0.1.5']);
    const two = viaOverlay(skipped, CA, ['10.0.0.8']);
    mesh.applyResources(two, 'test');
    expect(addresses(mesh, CA)).toEqual(['10.0.0.8']);
    expect(addresses(mesh, CB)).toEqual(['10.0.1.5']);
    // The same assignment replaced by itself: nothing is rebuilt.
    const kept = mesh.snapshot.clusters.get(CA);
    mesh.applyResources({ ...two, endpoints: OverlayMap.replacing(two.endpoints, new Map([[CA, two.endpoints.get(CA)!]])) as Map<string, ClusterLoadAssignment> }, 'test');
    expect(mesh.snapshot.clusters.get(CA)).toBe(kept);
    // A set not made from the last one (a plain copy) is still compared entry by entry.
    mesh.applyResources(withEndpoints(resources, CA, ['10.0.0.2']), 'test');
    expect(addresses(mesh, CA)).toEqual(['10.0.0.2']);
    expect(addresses(mesh, CB)).toEqual(['10.0.1.1']);
    void mesh.close();
  });

  it('keeps endpoint state for addresses that stay, across an EDS change', () => {
    const { mesh, resources } = setup();
    const kept = mesh.snapshot.clusters.get(CA)!.endpoints.find((e) => e.address === '10.0.0.1')!;
    kept.active = 3;
    mesh.applyResources(withEndpoints(resources, CA, ['10.0.0.1', '10.0.0.3']), 'test');
    expect(mesh.snapshot.clusters.get(CA)!.endpoints.find((e) => e.address === '10.0.0.1')).toBe(kept);
    void mesh.close();
  });

  it('a fully rebuilt resource set of the same objects reuses everything; new objects are retranslated', () => {
    const { mesh, resources } = setup();
    const before = mesh.snapshot;
    const copy: XdsResources = { listeners: new Map(resources.listeners), routeConfigs: new Map(resources.routeConfigs), clusters: new Map(resources.clusters), endpoints: new Map(resources.endpoints) };
    mesh.applyResources(copy, 'test');
    expect(mesh.snapshot.clusters.get(CA)).toBe(before.clusters.get(CA));
    expect(mesh.snapshot.services.get(`${A}:8080`)).toBe(before.services.get(`${A}:8080`));

    // A changed route table (a new object) is retranslated and its listener's service rebuilt.
    const rcName = `outbound|8080||${A}`;
    const rc: RouteConfiguration = structuredClone(copy.routeConfigs.get(rcName)!);
    rc.virtualHosts![0]!.routes = rc.virtualHosts![0]!.routes!.slice(1);
    const routeConfigs = new Map(copy.routeConfigs);
    routeConfigs.set(rcName, rc);
    mesh.applyResources({ ...copy, routeConfigs }, 'test');
    const svc = mesh.snapshot.services.get(`${A}:8080`)!;
    expect(svc).not.toBe(before.services.get(`${A}:8080`));
    expect(svc.virtualHosts[0]!.routes.length).toBe(before.services.get(`${A}:8080`)!.virtualHosts[0]!.routes.length - 1);
    void mesh.close();
  });

  it('a cluster that leaves drops its runtime; one that comes back starts fresh', () => {
    const { mesh, resources } = setup();
    const runtime = mesh.snapshot.clusters.get(CB)!.runtime;
    const clusters = new Map(resources.clusters);
    clusters.delete(CB);
    mesh.applyResources({ ...resources, clusters }, 'test');
    expect(mesh.snapshot.clusters.has(CB)).toBe(false);
    mesh.applyResources(resources, 'test');
    expect(mesh.snapshot.clusters.get(CB)!.runtime).not.toBe(runtime);
    void mesh.close();
  });

  it('reports a rejected resource on every build, also when nothing changed', () => {
    const { mesh, resources } = setup();
    const bad: RouteConfiguration = structuredClone(resources.routeConfigs.get(`outbound|8080||${B}`)!);
    bad.virtualHosts![0]!.routes![0]!.match = { safeRegex: { regex: '(' } } as never;
    const broken = { ...resources, routeConfigs: new Map(resources.routeConfigs).set(`outbound|8080||${B}`, bad) };
    const first = mesh.applyResources(broken, 'test');
    expect(first.length).toBeGreaterThan(0);
    expect(mesh.applyResources(broken, 'test')).toEqual(first);
    expect(mesh.applyResources(withEndpoints(broken, CA, ['10.0.0.7']), 'test')).toEqual(first);
    void mesh.close();
  });

  it('an EDS change that breaks an assignment drops that cluster and reports it; fixing it brings it back', () => {
    const { mesh, resources } = setup();
    const cla: ClusterLoadAssignment = structuredClone(resources.endpoints.get(CA)!);
    cla.endpoints![0]!.lbEndpoints![0]!.endpoint!.address!.socketAddress!.portValue = 70000;
    const errors = mesh.applyResources({ ...resources, endpoints: new Map(resources.endpoints).set(CA, cla) }, 'test');
    expect(errors.join('\n')).toMatch(/port|70000/i);
    expect(mesh.snapshot.clusters.has(CA)).toBe(false);
    expect(mesh.applyResources(resources, 'test')).toEqual([]); // after the fix
    expect(addresses(mesh, CA)).toEqual(['10.0.0.1', '10.0.0.2']);
    void mesh.close();
  });
});
