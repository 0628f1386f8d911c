// The EDS fast path (xds-config-source.ts): a response that only gives new values to
// assignments in force is applied on the last published set, with no subscription walk and no
// closure assembled again, and routes exactly as the full path would; anything else (a new or
// removed assignment, a NACK, another type) takes the full path. Drives the real client state
// and config source with responses encoded and decoded by the real codec (no network).

import { afterEach, describe, expect, it } from 'vitest';
import { applyResponse } from './xds-helpers.ts';
import { Mesh, requestView, resolveIdentity, silentLogger } from '../src/index.ts';
import { decodeResource } from '../src/config/xds/resource-decode.ts';
import { parseBootstrap } from '../src/config/xds/bootstrap.ts';
import { encodeAny } from '../src/xds/codec/index.ts';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER, ROUTE_CONFIGURATION, type ResourceType } from '../src/config/xds/resource-types.ts';
import { XdsConfigSource } from '../src/config/xds/xds-config-source.ts';
import { OverlayMap } from '../src/snapshot/overlay-map.ts';
import { TYPE_URL, type XdsResources } from '../src/xds/resources.ts';

const HOST = 'reviews.default.svc.cluster.local';
const LISTENER_NAME = `${HOST}:9080`;
const RC = `outbound|9080||${HOST}`;
const A = `outbound|9080|a|${HOST}`;
const B = `outbound|9080|b|${HOST}`;

const listener = { name: LISTENER_NAME, apiListener: { apiListener: { '@type': TYPE_URL.HttpConnectionManager, rds: { routeConfigName: RC, configSource: { ads: {} } }, httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': TYPE_URL.Router } }] } } };
/** '/' goes to `to`; '/other' to the other cluster, so both are always in force. */
const route = (to: string): object => ({
  name: RC,
  virtualHosts: [{ name: 'reviews', domains: ['*'], routes: [{ match: { prefix: '/other' }, route: { cluster: to === A ? B : A } }, { match: { prefix: '/' }, route: { cluster: to } }] }],
});
const cluster = (name: string): object => ({ name, type: 'EDS', edsClusterConfig: { serviceName: name, edsConfig: { ads: {} } }, lbPolicy: 'ROUND_ROBIN' });
const cla = (name: string, ...ports: number[]): object => ({ clusterName: name, endpoints: [{ lbEndpoints: ports.map((portValue) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue } } } })) }] });
/** An assignment the client must reject: an endpoint with no port. */
const badCla = (name: string): object => ({ clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1' } } } }] }] });

interface Rig {
  mesh: Mesh;
  source: XdsConfigSource;
  /** What each apply was handed, in order. */
  applied: XdsResources[];
  /** How many applies took the fast path: handed a set whose endpoints are an overlay on the last one. */
  fastApplies: () => number;
  /** How many subscription walks ran (each begins with the listener subscription). */
  walks: () => number;
  send(type: ResourceType, values: object[], delta?: boolean): Promise<string | undefined>;
  remove(type: ResourceType, names: string[]): Promise<void>;
  ports(cluster: string): number[];
  routedTo(): string;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.source.close();
    await r.mesh.close();
  }
});

async function rig(): Promise<Rig> {
  const b = parseBootstrap(JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } }), 'eds-fast-path');
  if (!b.ok) throw new Error(b.error);
  const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
  const source = new XdsConfigSource(mesh, b.value, { listeners: [] });
  const applied: XdsResources[] = [];
  const apply = mesh.applyResourcesInSteps.bind(mesh);
  mesh.applyResourcesInSteps = (resources, ...rest) => { applied.push(resources); return apply(resources, ...rest); };
  let walks = 0;
  const subscribe = source.client.subscribe.bind(source.client);
  source.client.subscribe = (typeUrl, names) => { if (typeUrl === LISTENER.typeUrl) walks++; return subscribe(typeUrl, names); };
  void source.want(LISTENER_NAME);
  let version = 0;
  const r: Rig = {
    mesh, source, applied,
    fastApplies: () => applied.filter((set) => set.endpoints instanceof OverlayMap).length,
    walks: () => walks,
    async send(type, values, delta = false) {
      version++;
      const updates = values.map((v) => {
        const { typeUrl, value } = encodeAny({ '@type': type.typeUrl, ...v });
        return decodeResource(type, { typeUrl, bytes: value }, String(version));
      });
      const nack = applyResponse(source.client, { type, delta, versionInfo: String(version), updates, removed: [] });
      await source.settled();
      return nack;
    },
    async remove(type, names) {
      version++;
      applyResponse(source.client, { type, delta: true, versionInfo: String(version), updates: [], removed: names });
      await source.settled();
    },
    ports: (c) => mesh.snapshot.clusters.get(c)?.endpoints.map((e) => e.port).sort((x, y) => x - y) ?? [],
    routedTo() {
      const d = mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', {}), 'reviews', 9080);
      return d.kind === 'forward' ? `${d.target.name}:${d.cluster.endpoints.map((e) => e.port).join(',')}` : d.kind;
    },
  };
  rigs.push(r);
  await source.settled();
  await r.send(LISTENER, [listener]);
  await r.send(ROUTE_CONFIGURATION, [route(A)]);
  await r.send(CLUSTER, [cluster(A), cluster(B)]);
  await r.send(ROUTE_CONFIGURATION, [route(A)]); // the clusters are subscribed once the route is in
  await r.send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, 1001), cla(B, 2001)]);
  expect(r.ports(A)).toEqual([1001]);
  return r;
}

describe('EDS fast path', () => {
  it('an endpoint change is applied on the last set (OverlayMap over it), with no subscription walk, and routes to the new endpoint', async () => {
    for (const delta of [false, true]) {
      const r = await rig();
      const walks = r.walks();
      const last = r.applied.at(-1)!;
      const before = r.mesh.snapshot;
      // SotW resends B unchanged; delta sends A only.
      await r.send(CLUSTER_LOAD_ASSIGNMENT, delta ? [cla(A, 1002)] : [cla(A, 1002), cla(B, 2001)], delta);
      expect(r.fastApplies()).toBe(1);
      expect(r.walks()).toBe(walks);
      const set = r.applied.at(-1)!;
      expect(set).not.toBe(last);
      expect(OverlayMap.changedKeys(last.endpoints, set.endpoints)).toEqual([A]);
      expect(set.listeners).toBe(last.listeners);
      expect(set.routeConfigs).toBe(last.routeConfigs);
      expect(set.clusters).toBe(last.clusters);
      expect(r.routedTo()).toBe(`${A}:1002`);
      expect(r.ports(B)).toEqual([2001]);
      // Readers of the old snapshot still see the old endpoints; the untouched cluster is shared.
      expect(before.clusters.get(A)!.endpoints.map((e) => e.port)).toEqual([1001]);
      expect(r.mesh.snapshot.clusters.get(B)).toBe(before.clusters.get(B));
      expect(r.mesh.snapshot.version).toBe(before.version + 1);
      // A second change in a row builds on the first.
      await r.send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, 1003, 1004), cla(B, 2002)], delta);
      expect(r.fastApplies()).toBe(2);
      expect(r.walks()).toBe(walks);
      expect(r.ports(A)).toEqual([1003, 1004]);
      expect(r.ports(B)).toEqual([2002]);
      // A SotW resend of the same bytes changes nothing: no publish at all.
      const applies = r.applied.length;
      await r.send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, 1003, 1004), cla(B, 2002)], delta);
      expect(r.applied.length).toBe(applies);
      // The fast path's result is what the full path makes of the same state: a route change
      // (full path) now sends to B, whose endpoints came in on the fast path.
      await r.send(ROUTE_CONFIGURATION, [route(B)]);
      expect(r.fastApplies()).toBe(2);
      expect(r.walks()).toBeGreaterThan(walks);
      expect(r.applied.at(-1)!.endpoints).toBeInstanceOf(Map);
      expect(r.routedTo()).toBe(`${B}:2002`);
      expect(r.ports(A)).toEqual([1003, 1004]);
      r.source.close();
      await r.mesh.close();
      rigs.splice(rigs.indexOf(r), 1);
    }
  });

  it('a rejected assignment never replaces the good one, and the change after it takes the full path', async () => {
    const r = await rig();
    const walks = r.walks();
    const nack = await r.send(CLUSTER_LOAD_ASSIGNMENT, [badCla(A), cla(B, 2001)]);
    expect(nack).toContain(A);
    expect(r.fastApplies()).toBe(0);
    expect(r.walks()).toBeGreaterThan(walks);
    expect(r.routedTo()).toBe(`${A}:1001`);
    expect(r.source.client.state.get(CLUSTER_LOAD_ASSIGNMENT.typeUrl, A)!.status).toBe('NACKED');
    expect(r.mesh.configDump().problems.join('\n')).toContain('NACKed');
    // The good version after a NACK changes a status (the NACK is cleared): full path, and the
    // problem goes away.
    await r.send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, 1005), cla(B, 2001)]);
    expect(r.fastApplies()).toBe(0);
    expect(r.routedTo()).toBe(`${A}:1005`);
    expect(r.mesh.configDump().problems.join('\n')).not.toContain('NACKed');
    // And from there endpoint changes are fast again.
    await r.send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, 1006), cla(B, 2001)]);
    expect(r.fastApplies()).toBe(1);
    expect(r.routedTo()).toBe(`${A}:1006`);
  });

  it('a removed assignment and a change to another type take the full path', async () => {
    const r = await rig();
    const walks = r.walks();
    await r.remove(CLUSTER_LOAD_ASSIGNMENT, [A]);
    expect(r.fastApplies()).toBe(0);
    expect(r.walks()).toBeGreaterThan(walks);
    expect(r.source.client.state.get(CLUSTER_LOAD_ASSIGNMENT.typeUrl, A)!.status).toBe('DOES_NOT_EXIST');
    expect(r.ports(A)).toEqual([]);
    // It comes back: a watch that had no value gets one, which is not a value change either.
    await r.send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, 1007)], true);
    expect(r.fastApplies()).toBe(0);
    expect(r.routedTo()).toBe(`${A}:1007`);
    const cds = r.walks();
    await r.send(CLUSTER, [{ ...cluster(A), lbPolicy: 'LEAST_REQUEST' }, cluster(B)]);
    expect(r.fastApplies()).toBe(0);
    expect(r.walks()).toBeGreaterThan(cds);
    expect(r.mesh.snapshot.clusters.get(A)!.lbPolicy).toBe('LEAST_REQUEST');
  });
});
