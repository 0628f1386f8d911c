// Plans kept per method (config-selector-mesh.ts): a call whose route decision depends on its
// method alone reuses the plan of the call before it. What must still hold per call: header
// mutations, retries that replay what the caller sent, outlier accounting, and a decision made
// anew for routes that read metadata, split by weight, inject faults, and after a new snapshot.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, status, type Client } from '@grpc/grpc-js';
import type { Cluster, Mesh, Route } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { meshConfigSelector } from '../src/config-selector-mesh.ts';
import { MeshTarget } from '../src/mesh-target.ts';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, FQDN, PORT, TARGET, cluster, meshOf, resourcesOf, service } from './helpers/xds.ts';
import { unary } from './helpers/calls.ts';

let v1: EchoServer, v2: EchoServer, bad: EchoServer;
beforeAll(async () => {
  v1 = await startEchoServer('v1');
  v2 = await startEchoServer('v2');
  bad = await startEchoServer('bad', { failWith: { code: status.UNAVAILABLE } });
});
afterAll(async () => { await Promise.all([v1.close(), v2.close(), bad.close()]); });

let mesh: Mesh | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await mesh?.close();
  client = mesh = undefined;
  for (const s of [v1, v2, bad]) s.calls.length = 0;
});

const HEADERS: Partial<Route> = {
  requestHeadersToAdd: [{ header: { key: 'x-route', value: 'kept' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
  responseHeadersToAdd: [{ header: { key: 'x-answered-by', value: 'mesh' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
};

function connect(routes: Route[], parts = [cluster(C('v1'), [v1.port]), cluster(C('v2'), [v2.port])]): Client {
  mesh = meshOf([service(routes), ...parts]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
  return client;
}

describe('plans kept per method', () => {
  it('are kept only for decisions that depend on the method alone, and until the snapshot changes', () => {
    const parts = [cluster(C('v1'), [v1.port]), cluster(C('v2'), [v2.port])];
    mesh = meshOf([service([
      { match: { path: '/test.Echo/Other', headers: [{ name: 'end-user', stringMatch: { exact: 'jason' } }] }, route: { cluster: C('v2') } },
      { match: { path: '/test.Echo/Other' }, route: { cluster: C('v1') } },
      { match: { prefix: '/test.Echo/Split' }, route: { weightedClusters: { clusters: [{ name: C('v1'), weight: 50 }, { name: C('v2'), weight: 50 }] } } },
      { match: { prefix: '/' }, route: { cluster: C('v1') } },
    ]), ...parts]);
    const selector = meshConfigSelector(new MeshTarget(mesh, FQDN, PORT));
    const md = new Metadata();
    const first = selector.invoke('/test.Echo/Unary', md, 0);
    expect(selector.invoke('/test.Echo/Unary', md, 0)).toBe(first);
    // A matcher read the call's metadata; a route splits by weight: decided per call.
    expect(selector.invoke('/test.Echo/Other', md, 0)).not.toBe(selector.invoke('/test.Echo/Other', md, 0));
    expect(selector.invoke('/test.Echo/Split', md, 0)).not.toBe(selector.invoke('/test.Echo/Split', md, 0));
    mesh.applyResources(resourcesOf([service([{ match: { prefix: '/' }, route: { cluster: C('v2') } }]), ...parts]), 'test');
    const fresh = selector.invoke('/test.Echo/Unary', md, 0);
    expect(fresh).not.toBe(first);
    expect(selector.invoke('/test.Echo/Unary', md, 0)).toBe(fresh);
  });

  it('still mutate headers and replay a retried call on every call of the method', async () => {
    const parts = [cluster(C('v1'), [bad.port, v1.port])];
    (parts[0]!.cluster as Cluster).outlierDetection = { consecutive5xx: 3, baseEjectionTime: '30s', maxEjectionPercent: 100, interval: '10s' };
    const c = connect([{ match: { prefix: '/' }, route: { cluster: C('v1'), retryPolicy: { retryOn: 'unavailable', numRetries: 2 } }, ...HEADERS }], parts);
    for (let i = 0; i < 8; i++) {
      const r = await unary(c, { text: `m${i}` });
      // The retry carried the caller's message to the good endpoint.
      expect(r.reply).toMatchObject({ server: 'v1', text: `m${i}` });
      expect(r.headers?.get('x-answered-by')).toEqual(['mesh']);
    }
    expect(v1.calls.length).toBe(8);
    expect(v1.calls.every((call) => call.metadata['x-route'] === 'kept')).toBe(true);
    // Round robin sent every other first attempt to the failing endpoint until its third
    // UNAVAILABLE ejected it: outlier detection heard each attempt.
    expect(bad.calls.length).toBe(3);
    expect(mesh!.snapshot.clusters.get(C('v1'))!.runtime.stats()['outlier_detection.ejections_active']).toBe(1);
  });

  it('route by metadata per call, whichever call came first', async () => {
    const c = connect([
      { match: { prefix: '/', headers: [{ name: 'end-user', stringMatch: { exact: 'jason' } }] }, route: { cluster: C('v2') } },
      { match: { prefix: '/' }, route: { cluster: C('v1') } },
    ]);
    expect((await unary(c)).reply.server).toBe('v1');
    expect((await unary(c, {}, { headers: { 'end-user': 'jason' } })).reply.server).toBe('v2');
    expect((await unary(c)).reply.server).toBe('v1');
  });

  it('leave a call in flight on the plan it started with when the snapshot changes under it', async () => {
    const parts = [cluster(C('v1'), [v1.port]), cluster(C('v2'), [v2.port])];
    const c = connect([{ match: { prefix: '/' }, route: { cluster: C('v1') }, ...HEADERS }], parts);
    // Kept by the call before: the client stream below starts from the kept plan.
    await unary(c);
    const stream = c as unknown as { clientStream(md: Metadata, opts: object, cb: (err: Error | null, reply?: { server: string; text?: string }) => void): { write(m: object): void; end(): void } };
    let answer!: (r: { server: string; text?: string }) => void;
    let fail!: (e: Error) => void;
    const reply = new Promise<{ server: string; text?: string }>((resolve, reject) => { answer = resolve; fail = reject; });
    const call = stream.clientStream(new Metadata(), {}, (err, r) => (err ? fail(err) : answer(r!)));
    call.write({ text: 'a' });
    const started = Date.now();
    while (!v1.calls.some((x) => x.path === '/test.Echo/ClientStream') && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 5));
    // Every later call goes to v2, without the old route's header mutations.
    mesh!.applyResources(resourcesOf([service([{ match: { prefix: '/' }, route: { cluster: C('v2') } }]), ...parts]), 'test');
    call.write({ text: 'b' });
    call.end();
    expect(await reply).toEqual(expect.objectContaining({ server: 'v1', text: 'a,b' }));
    expect(v1.calls.find((x) => x.path === '/test.Echo/ClientStream')!.metadata['x-route']).toBe('kept');
    const after = await unary(c);
    expect(after.reply.server).toBe('v2');
    expect(after.headers?.get('x-answered-by')).toEqual([]);
    expect(v2.calls.at(-1)!.metadata['x-route']).toBeUndefined();
  });

  it('give way to a new snapshot', async () => {
    const parts = [cluster(C('v1'), [v1.port]), cluster(C('v2'), [v2.port])];
    const c = connect([{ match: { prefix: '/' }, route: { cluster: C('v1') } }], parts);
    expect((await unary(c)).reply.server).toBe('v1');
    expect((await unary(c)).reply.server).toBe('v1');
    mesh!.applyResources(resourcesOf([service([{ match: { prefix: '/' }, route: { cluster: C('v2') }, ...HEADERS }]), ...parts]), 'test');
    const r = await unary(c);
    expect(r.reply.server).toBe('v2');
    expect(r.headers?.get('x-answered-by')).toEqual(['mesh']);
    expect(v2.calls.at(-1)!.metadata['x-route']).toBe('kept');
  });
});
