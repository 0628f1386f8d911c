// Property (SEMANTICS.md, "how Envoy tests this"): whatever sequence of good and bad updates a
// control plane sends, a NACKed update never changes routing — the snapshot always reflects the
// last good version of each resource. Drives the real client state and config source with
// responses encoded and decoded by the real codec; no network (the stream is never started).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyResponse } from './xds-helpers.ts';
import { Mesh, requestView, resolveIdentity, silentLogger } from '../src/index.ts';
import { decodeResource } from '../src/config/xds/resource-decode.ts';
import { parseBootstrap } from '../src/config/xds/bootstrap.ts';
import { encodeAny } from '../src/xds/codec/index.ts';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER, ROUTE_CONFIGURATION, type ResourceType } from '../src/config/xds/resource-types.ts';
import { XdsConfigSource } from '../src/config/xds/xds-config-source.ts';
import { TYPE_URL } from '../src/xds/resources.ts';

const LISTENER_NAME = 'reviews.default.svc.cluster.local:9080';
const RC = 'outbound|9080||reviews.default.svc.cluster.local';
const A = 'outbound|9080|a|reviews.default.svc.cluster.local';
const B = 'outbound|9080|b|reviews.default.svc.cluster.local';

const listener = { name: LISTENER_NAME, apiListener: { apiListener: { '@type': TYPE_URL.HttpConnectionManager, rds: { routeConfigName: RC, configSource: { ads: {} } }, httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': TYPE_URL.Router } }] } } };
const route = (to: string, valid: boolean): object => ({
  name: RC,
  virtualHosts: [{ name: 'reviews', domains: ['*'], routes: [{ match: { prefix: '/' }, route: valid ? { cluster: to } : { weightedClusters: { clusters: [{ name: to, weight: 0 }] } } }] }],
});
const cluster = (name: string, lbPolicy: string): object => ({ name, type: 'EDS', edsClusterConfig: { serviceName: name, edsConfig: { ads: {} } }, lbPolicy });
const cla = (name: string, port: number): object => ({ clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: port } } } }] }] });
/** Port 0 is not a port: NACKed. */
const claOrBad = (name: string, port: number, valid: boolean): object => cla(name, valid ? port : 0);

const step = fc.oneof(
  fc.record({ kind: fc.constant('rds' as const), to: fc.constantFrom(A, B), valid: fc.boolean() }),
  fc.record({ kind: fc.constant('cds' as const), name: fc.constantFrom(A, B), lb: fc.constantFrom('ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST', 'CLUSTER_PROVIDED' /* an EDS cluster cannot: NACKed */) }),
  // An endpoint move (the EDS fast path when it is the only change), good or bad.
  fc.record({ kind: fc.constant('eds' as const), name: fc.constantFrom(A, B), port: fc.integer({ min: 1001, max: 1009 }), valid: fc.boolean() }),
);

describe('a NACKed update never changes routing', () => {
  it('holds for random sequences of good and bad RDS, CDS and EDS updates (SotW)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
      const b = parseBootstrap(JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } }), 'property');
      if (!b.ok) throw new Error(b.error);
      const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
      const source = new XdsConfigSource(mesh, b.value, { listeners: [] });
      void source.want(LISTENER_NAME);
      let version = 0;
      const send = async (type: ResourceType, values: object[]): Promise<string | undefined> => {
        version++;
        const updates = values.map((v) => {
          const { typeUrl, value } = encodeAny({ '@type': type.typeUrl, ...v });
          return decodeResource(type, { typeUrl, bytes: value }, String(version));
        });
        const nack = applyResponse(source.client, { type, delta: false, versionInfo: String(version), updates, removed: [] });
        await source.settled(); // the coalesced reconcile and its snapshot, in slices when the work is large
        return nack;
      };
      try {
        await send(LISTENER, [listener]);
        await send(ROUTE_CONFIGURATION, [route(A, true)]);
        await send(CLUSTER, [cluster(A, 'ROUND_ROBIN'), cluster(B, 'ROUND_ROBIN')]);
        await send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, 1001), cla(B, 1002)]);
        let want = A;
        const lbWanted = new Map([[A, 'ROUND_ROBIN'], [B, 'ROUND_ROBIN']]);
        const portWanted = new Map([[A, 1001], [B, 1002]]);
        for (const s of steps) {
          if (s.kind === 'eds') {
            const other = s.name === A ? B : A;
            const nack = await send(CLUSTER_LOAD_ASSIGNMENT, [claOrBad(s.name, s.port, s.valid), cla(other, portWanted.get(other)!)]);
            expect(nack === undefined).toBe(s.valid);
            if (s.valid) portWanted.set(s.name, s.port);
          } else if (s.kind === 'rds') {
            const nack = await send(ROUTE_CONFIGURATION, [route(s.to, s.valid)]);
            expect(nack === undefined).toBe(s.valid);
            if (s.valid) want = s.to;
          } else {
            // SotW CDS is complete: both clusters in every response, the other one unchanged.
            const other = s.name === A ? B : A;
            const nack = await send(CLUSTER, [cluster(s.name, s.lb), cluster(other, lbWanted.get(other)!)]);
            expect(nack === undefined).toBe(s.lb !== 'CLUSTER_PROVIDED');
            if (s.lb !== 'CLUSTER_PROVIDED') lbWanted.set(s.name, s.lb);
          }
          // What a SotW server sends when the client's subscriptions follow a new route: the
          // clusters (as last accepted) and their endpoints.
          await send(CLUSTER, [cluster(A, lbWanted.get(A)!), cluster(B, lbWanted.get(B)!)]);
          await send(CLUSTER_LOAD_ASSIGNMENT, [cla(A, portWanted.get(A)!), cla(B, portWanted.get(B)!)]);
          const d = mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', {}), 'reviews', 9080);
          expect(d.kind === 'forward' ? d.target.name : d.kind).toBe(want);
          expect(d.kind === 'forward' ? d.cluster.lbPolicy : undefined).toBe(lbWanted.get(want));
          expect(d.kind === 'forward' ? d.cluster.endpoints.map((e) => e.port) : undefined).toEqual([portWanted.get(want)]);
        }
      } finally {
        source.close();
        await mesh.close();
      }
    }), { numRuns: 60 });
  });
});

describe('duplicate names in one SotW response', () => {
  it('NACK the whole response and apply none of it', async () => {
    const b = parseBootstrap(JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } }), 'dup');
    if (!b.ok) throw new Error(b.error);
    const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    const source = new XdsConfigSource(mesh, b.value, { listeners: [] });
    void source.want(LISTENER_NAME);
    const batch = (type: ResourceType, values: object[], version: string) => ({
      type, delta: false, versionInfo: version, removed: [],
      updates: values.map((v) => {
        const { typeUrl, value } = encodeAny({ '@type': type.typeUrl, ...v });
        return decodeResource(type, { typeUrl, bytes: value }, version);
      }),
    });
    try {
      // The subscription walk after a change may go on over several turns when the machine is
      // busy (the xDS work shares one time budget per turn): wait for it, not a fixed count of ticks.
      await source.settled();
      applyResponse(source.client, batch(LISTENER, [listener], '1'));
      await source.settled(); // the route configuration is subscribed once the listener is in
      applyResponse(source.client, batch(ROUTE_CONFIGURATION, [route(A, true)], '1'));
      const nack = applyResponse(source.client, batch(ROUTE_CONFIGURATION, [route(B, true), route(A, true)], '2'));
      expect(nack).toContain(`RouteConfiguration ${RC} appears more than once`);
      const w = source.client.state.get(TYPE_URL.RouteConfiguration, RC)!;
      expect(w.status).toBe('NACKED');
      expect(w.version).toBe('1');
      expect(JSON.stringify(w.value)).toContain(A);
    } finally {
      source.close();
      await mesh.close();
    }
  });
});
