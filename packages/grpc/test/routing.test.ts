// Route matching on /<service>/<method> and metadata, weighted splits, and the four call kinds,
// through mesh:/// against real grpc-js servers.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentials, status, type Client } from '@grpc/grpc-js';
import type { Mesh } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, FQDN, TARGET, cluster, meshOf, service } from './helpers/xds.ts';
import { bidi, clientStream, serverStream, unary, unaryError } from './helpers/calls.ts';

let v1: EchoServer, v2: EchoServer;
beforeAll(async () => {
  v1 = await startEchoServer('v1');
  v2 = await startEchoServer('v2');
});
afterAll(async () => { await Promise.all([v1.close(), v2.close()]); });

let mesh: Mesh | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await mesh?.close();
  client = mesh = undefined;
});

function connect(routes: Parameters<typeof service>[0]): Client {
  mesh = meshOf([service(routes), cluster(C('v1'), [v1.port]), cluster(C('v2'), [v2.port])]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
  return client;
}

describe('mesh:/// routing', () => {
  it('matches the gRPC path exactly, by prefix and by regex', async () => {
    const c = connect([
      { match: { path: '/test.Echo/Other' }, route: { cluster: C('v2') } },
      { match: { safeRegex: { regex: '/test\\.Echo/Server.*' } }, route: { cluster: C('v2') } },
      { match: { prefix: '/test.Echo/' }, route: { cluster: C('v1') } },
    ]);
    expect((await unary(c, { text: 'a' })).reply).toMatchObject({ server: 'v1', text: 'a', path: '/test.Echo/Unary' });
    expect((await unary(c, {}, {}, 'other')).reply.server).toBe('v2');
    expect((await serverStream(c, 2)).replies.map((r) => r.server)).toEqual(['v2', 'v2']);
  });

  it('matches on metadata and keeps the logical authority', async () => {
    const c = connect([
      { match: { prefix: '/', headers: [{ name: 'end-user', stringMatch: { exact: 'jason' } }] }, route: { cluster: C('v2') } },
      { match: { prefix: '/' }, route: { cluster: C('v1') } },
    ]);
    expect((await unary(c, {}, { headers: { 'end-user': 'jason' } })).reply.server).toBe('v2');
    expect((await unary(c, {}, { headers: { 'end-user': 'bob' } })).reply.server).toBe('v1');
    expect((await unary(c)).reply.server).toBe('v1');
    expect(v1.calls.at(-1)!.authority).toBe(`${FQDN}:9000`);
  });

  it('fails a call no route matches with UNAVAILABLE naming the path and route table', async () => {
    const c = connect([{ match: { path: '/test.Echo/Other' }, route: { cluster: C('v1') } }]);
    const err = await unaryError(c);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain('meshlet:');
    expect(err.details).toContain('/test.Echo/Unary');
    expect(err.details).toContain(`outbound|9000||${FQDN}`);
    expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_NO_ROUTE']);
  });

  it('splits 80/20 by weight within a tolerance that cannot flake', async () => {
    const c = connect([{ match: { prefix: '/' }, route: { weightedClusters: { clusters: [{ name: C('v1'), weight: 80 }, { name: C('v2'), weight: 20 }] } } }]);
    const n = 2000;
    const counts: Record<string, number> = { v1: 0, v2: 0 };
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => unary(c)));
      for (const r of batch) counts[r.reply.server]!++;
    }
    // Binomial(2000, 0.2): sd ≈ 17.9; ±8 sd leaves a flake chance below 1e-14.
    expect(Math.abs(counts['v2']! - 400)).toBeLessThan(143);
    expect(counts['v1']! + counts['v2']!).toBe(n);
  });

  it('carries client-, server- and bidi-streaming calls', async () => {
    const c = connect([{ match: { prefix: '/' }, route: { cluster: C('v2') } }]);
    expect(await clientStream(c, ['a', 'b', 'c'])).toMatchObject({ server: 'v2', text: 'a,b,c', count: 3 });
    const s = await serverStream(c, 5);
    expect(s.error).toBeUndefined();
    expect(s.replies.map((r) => r.count)).toEqual([0, 1, 2, 3, 4]);
    const replies = await bidi(c, ['x', 'y', 'z']);
    expect(replies.map((r) => `${r.server}:${r.text}`)).toEqual(['v2:x', 'v2:y', 'v2:z']);
  });

  it('sends a host the mesh does not know straight to its address (Istio ALLOW_ANY)', async () => {
    connect([{ match: { prefix: '/' }, route: { cluster: C('v1') } }]);
    const direct = new EchoClient(`mesh:///127.0.0.1:${v2.port}`, credentials.createInsecure());
    try {
      expect((await unary(direct)).reply.server).toBe('v2');
    } finally {
      direct.close();
    }
  });

  it('rejects a target without a port when the client is created', () => {
    mesh = meshOf([service([])]);
    register(mesh);
    expect(() => new EchoClient(`mesh:///${FQDN}`, credentials.createInsecure())).toThrow(/no port; a mesh service is addressed as mesh:\/\/\/echo\.default\.svc\.cluster\.local:<port>/);
  });
});

describe('header mutations', () => {
  it("apply the route's request and response header rules to call metadata", async () => {
    const c = connect([{
      match: { prefix: '/' },
      route: { cluster: C('v1') },
      requestHeadersToAdd: [{ header: { key: 'x-added', value: 'yes' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      requestHeadersToRemove: ['x-secret'],
      responseHeadersToAdd: [{ header: { key: 'x-served-by', value: 'mesh' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    }]);
    const r = await unary(c, {}, { headers: { 'x-secret': 'hide me', 'x-kept': 'ok' } });
    expect(r.reply.headers).toMatchObject({ 'x-added': 'yes', 'x-kept': 'ok' });
    expect(r.reply.headers?.['x-secret']).toBeUndefined();
    expect(r.headers?.get('x-served-by')).toEqual(['mesh']);
  });
});

describe('mirroring', () => {
  it("sends a copy to the mirror cluster with a -shadow authority, and the mirror's failures never reach the caller", async () => {
    const shadow = await startEchoServer('shadow', { failWith: { code: status.INTERNAL, details: 'mirror broke' } });
    try {
      mesh = meshOf([
        service([{ match: { prefix: '/' }, route: { cluster: C('v1'), requestMirrorPolicies: [{ cluster: 'mirror', runtimeFraction: { defaultValue: { numerator: 100, denominator: 'HUNDRED' } } }, { cluster: 'dead-mirror' }] } }]),
        cluster(C('v1'), [v1.port]),
        cluster('mirror', [shadow.port]),
        cluster('dead-mirror', [1]),
      ]);
      register(mesh);
      client = new EchoClient(TARGET, credentials.createInsecure());
      for (let i = 0; i < 3; i++) expect((await unary(client, { text: `m${i}` })).reply).toMatchObject({ server: 'v1', text: `m${i}` });
      expect(await clientStream(client, ['a', 'b'])).toMatchObject({ server: 'v1', text: 'a,b' });
      for (let i = 0; i < 50 && shadow.calls.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(shadow.calls.map((c) => c.path)).toEqual(['/test.Echo/Unary', '/test.Echo/Unary', '/test.Echo/Unary', '/test.Echo/ClientStream']);
      expect(shadow.calls[0]!.authority).toBe(`${FQDN}-shadow:9000`);
    } finally {
      await shadow.close();
    }
  });
});

describe('call credentials', () => {
  it('attaches call credentials composed onto the channel credentials, routed and passthrough alike', async () => {
    const { meshCredentials } = await import('@meshlet/grpc');
    const { credentials: creds, Metadata: Md } = await import('@grpc/grpc-js');
    const token = creds.createFromMetadataGenerator((_params, cb) => {
      const md = new Md();
      md.set('authorization', 'Bearer t0ken');
      cb(null, md);
    });
    connect([{ match: { prefix: '/' }, route: { cluster: C('v1') } }]);
    const channelCreds = creds.combineChannelCredentials(meshCredentials(), token);
    for (const [target, server] of [[TARGET, 'v1'], [`mesh:///127.0.0.1:${v2.port}`, 'v2']] as const) {
      const c = new EchoClient(target, channelCreds);
      try {
        const r = await unary(c);
        expect(r.reply.server).toBe(server);
        expect(r.reply.headers?.['authorization']).toBe('Bearer t0ken');
      } finally {
        c.close();
      }
    }
  });
});

describe('before register()', () => {
  it('fails calls on a mesh:/// channel with UNAVAILABLE saying to call register(mesh)', async () => {
    const { unregister } = await import('@meshlet/grpc');
    unregister(['mesh']);
    const c = new EchoClient(TARGET, credentials.createInsecure());
    try {
      const err = await unaryError(c);
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toContain('no mesh is registered for mesh:/// targets; call register(mesh) from @meshlet/grpc before creating the client');
    } finally {
      c.close();
    }
  });
});
