// MeshAgent against real servers on 127.0.0.1, fed hand-written xDS resources (what a control
// plane sends), so the data path is checked on its own.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request, fetch as undiciFetch } from 'undici';
import { Readable } from 'node:stream';
import { Mesh, resolveIdentity, NoRouteError, RouteTimeoutError, NoHealthyUpstreamError, silentLogger, type Route, type RetryPolicy } from '@meshlet/core';
import { MeshAgent, installGlobalDispatcher } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';
import { cluster, resources, service } from './helpers/xds-builders.ts';

const FQDN = 'reviews.default.svc.cluster.local';
const C = (subset: string) => `outbound|9080|${subset}|${FQDN}`;
const RETRY: RetryPolicy = {
  retryOn: '5xx', numRetries: 2,
  retryHostPredicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }], hostSelectionRetryMaxAttempts: 5,
  retryBackOff: { baseInterval: '0.001s' },
};

let v1: TestServer, v2: TestServer, bad: TestServer, slow: TestServer, other: TestServer;
const servers: TestServer[] = [];

beforeAll(async () => {
  v1 = await startServer('v1');
  v2 = await startServer('v2');
  bad = await startServer('bad', (_req, res) => { res.statusCode = 503; res.end('down'); });
  slow = await startServer('slow', (_req, res) => { setTimeout(() => res.end('slow'), 400); });
  other = await startServer('outside');
  servers.push(v1, v2, bad, slow, other);
});
afterAll(async () => { await Promise.all(servers.map((s) => s.close())); });

let mesh: Mesh;
let agent: MeshAgent;
afterEach(async () => { await agent?.close(); await mesh?.close(); });

function meshWith(routes: Route[], extra: Parameters<typeof resources>[0] = []): void {
  mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
  const errors = mesh.applyResources(resources([
    service(FQDN, 9080, routes),
    cluster(C('v1'), [v1.port]),
    cluster(C('v2'), [v2.port]),
    cluster(C('mixed'), [v1.port, v2.port, bad.port]),
    cluster(C('bad'), [bad.port]),
    cluster(C('slow'), [slow.port]),
    cluster(C('empty'), []),
    ...extra,
  ]), 'test');
  expect(errors).toEqual([]);
  agent = new MeshAgent({ mesh });
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { dispatcher: agent, headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('MeshAgent routing', () => {
  it('matches a header rule first and falls back to the catch-all, keeping the logical Host', async () => {
    meshWith([
      { match: { prefix: '/', headers: [{ name: 'end-user', stringMatch: { exact: 'jason' } }] }, route: { cluster: C('v2'), timeout: '0s' } },
      { match: { prefix: '/' }, route: { cluster: C('v1'), timeout: '0s' } },
    ]);
    expect((await get('http://reviews:9080/r', { 'end-user': 'jason' })).body).toBe('v2');
    expect((await get('http://reviews:9080/r', { 'end-user': 'bob' })).body).toBe('v1');
    expect((await get('http://reviews.default:9080/r')).body).toBe('v1');
    expect((await get(`http://${FQDN}:9080/r`)).body).toBe('v1');
    expect(v1.requests.at(-1)!.headers.host).toBe(`${FQDN}:9080`);
    expect(v1.requests.at(-2)!.headers.host).toBe('reviews.default:9080');
  });

  it('splits 80/20 by weight within a tolerance that cannot flake', async () => {
    meshWith([{ match: { prefix: '/' }, route: { weightedClusters: { clusters: [{ name: C('v1'), weight: 80 }, { name: C('v2'), weight: 20 }] }, timeout: '0s' } }]);
    const n = 2000;
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < n; i++) counts[(await get('http://reviews:9080/')).body as 'v1' | 'v2']++;
    // Binomial(2000, 0.2): sd ≈ 17.9; ±8 sd leaves a flake chance below 1e-14.
    expect(Math.abs(counts.v2 - 400)).toBeLessThan(143);
    expect(counts.v1 + counts.v2).toBe(n);
  });

  it('retries a 503 on another endpoint, so every request succeeds with one of three endpoints failing', async () => {
    meshWith([{ match: { prefix: '/' }, route: { cluster: C('mixed'), timeout: '0s', retryPolicy: RETRY } }]);
    const before = bad.hits;
    for (let i = 0; i < 300; i++) expect((await get('http://reviews:9080/')).status).toBe(200);
    expect(bad.hits - before).toBeGreaterThan(20); // the failing endpoint really was tried
  });

  it('returns the last 5xx when retries run out, and does not retry without a policy', async () => {
    meshWith([
      { match: { prefix: '/retry' }, route: { cluster: C('bad'), timeout: '0s', retryPolicy: RETRY } },
      { match: { prefix: '/' }, route: { cluster: C('bad'), timeout: '0s' } },
    ]);
    let before = bad.hits;
    expect((await get('http://reviews:9080/retry')).status).toBe(503);
    expect(bad.hits - before).toBe(3);
    expect(bad.requests.at(-1)!.headers['x-envoy-attempt-count']).toBe('3');
    before = bad.hits;
    expect((await get('http://reviews:9080/none')).status).toBe(503);
    expect(bad.hits - before).toBe(1);
  });

  it('enforces the route timeout with a typed error', async () => {
    meshWith([{ match: { prefix: '/' }, route: { cluster: C('slow'), timeout: '0.1s' } }]);
    const started = Date.now();
    const err = await get('http://reviews:9080/').catch((e) => e);
    expect(err).toBeInstanceOf(RouteTimeoutError);
    expect(Date.now() - started).toBeLessThan(380);
  });

  it('retries a per-try timeout onto a fast endpoint', async () => {
    meshWith([{ match: { prefix: '/' }, route: { weightedClusters: { clusters: [{ name: C('slow'), weight: 1 }] }, timeout: '2s', retryPolicy: { ...RETRY, perTryTimeout: '0.05s' } } }], [
      { cluster: { ...cluster(C('slow'), [slow.port, v1.port]).cluster }, cla: cluster(C('slow'), [slow.port, v1.port]).cla },
    ]);
    for (let i = 0; i < 20; i++) expect((await get('http://reviews:9080/')).body).toBe('v1');
  });

  it('injects an abort fault and a delay', async () => {
    const fault = (abort: number, delay?: string) => ({
      'envoy.filters.http.fault': {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
        abort: { httpStatus: abort, percentage: { numerator: 100, denominator: 'HUNDRED' } },
        ...(delay && { delay: { fixedDelay: delay, percentage: { numerator: 100 } } }),
      },
    });
    meshWith([
      { match: { prefix: '/abort' }, route: { cluster: C('v1'), timeout: '0s' }, typedPerFilterConfig: fault(418) },
      { match: { prefix: '/delay' }, route: { cluster: C('v1'), timeout: '0s' }, typedPerFilterConfig: { 'envoy.filters.http.fault': { '@type': 'x', delay: { fixedDelay: '0.2s', percentage: { numerator: 1_000_000, denominator: 'MILLION' } } } } },
    ]);
    const before = v1.hits;
    const r = await get('http://reviews:9080/abort');
    expect(r.status).toBe(418);
    expect(r.body).toBe('fault filter abort');
    expect(v1.hits).toBe(before);
    const t = Date.now();
    expect((await get('http://reviews:9080/delay')).body).toBe('v1');
    expect(Date.now() - t).toBeGreaterThanOrEqual(190);
  });

  it('rewrites the path and authority and mutates headers both ways', async () => {
    meshWith([{
      match: { prefix: '/old/' },
      route: { cluster: C('v1'), timeout: '0s', prefixRewrite: '/new/', hostRewriteLiteral: 'ratings.example' },
      requestHeadersToAdd: [{ header: { key: 'x-added', value: 'yes' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      requestHeadersToRemove: ['x-secret'],
      responseHeadersToAdd: [{ header: { key: 'x-route', value: 'old' } }],
      responseHeadersToRemove: ['x-server'],
    }]);
    const r = await get('http://reviews:9080/old/thing?q=1', { 'x-secret': 's', 'x-added': 'no' });
    const seen = v1.requests.at(-1)!;
    expect(seen.url).toBe('/new/thing?q=1');
    expect(seen.headers.host).toBe('ratings.example');
    expect(seen.headers['x-added']).toBe('yes');
    expect(seen.headers['x-secret']).toBeUndefined();
    expect(r.headers['x-route']).toBe('old');
    expect(r.headers['x-server']).toBeUndefined();
  });

  it('fails fast with typed errors when the mesh cannot serve, and passes unknown hosts through', async () => {
    meshWith([
      { match: { path: '/only' }, route: { cluster: C('v1'), timeout: '0s' } },
      { match: { path: '/empty' }, route: { cluster: C('empty'), timeout: '0s' } },
    ]);
    await expect(get('http://reviews:9080/other')).rejects.toBeInstanceOf(NoRouteError);
    await expect(get('http://reviews:9080/empty')).rejects.toBeInstanceOf(NoHealthyUpstreamError);
    expect((await get(`http://127.0.0.1:${other.port}/x`)).body).toBe('outside');
  });

  it('waits for a token provider that answers later, and fails the request with the error of one that rejects', async () => {
    meshWith([{ match: { prefix: '/' }, route: { cluster: C('bad'), timeout: '0s', retryPolicy: RETRY } }]);
    await agent.close();
    const asked: string[] = [];
    let reject = false;
    agent = new MeshAgent({
      mesh,
      token: (cluster) => {
        asked.push(cluster);
        return new Promise<string | undefined>((resolve, fail) => setTimeout(() => (reject ? fail(new Error('token file unreadable')) : resolve('t0k3n')), 5));
      },
    });
    // The token arrives after the request was dispatched; the request then goes out with it,
    // and still gets the route's retries (every endpoint answers 503: 1 + 2 retries).
    const before = bad.hits;
    const res = await get('http://reviews:9080/late');
    expect(res.status).toBe(503);
    expect(bad.hits - before).toBe(3);
    expect(bad.requests.at(-1)!.headers.authorization).toBe('Bearer t0k3n');
    expect(asked).toEqual([C('bad')]);
    reject = true;
    const hits = bad.hits;
    await expect(get('http://reviews:9080/late')).rejects.toThrow('token file unreadable');
    expect(bad.hits).toBe(hits);
  });

  it('streams a request body through and does not retry it', async () => {
    meshWith([{ match: { prefix: '/' }, route: { cluster: C('bad'), timeout: '0s', retryPolicy: RETRY } }]);
    const before = bad.hits;
    const res = await request('http://reviews:9080/upload', { dispatcher: agent, method: 'POST', body: Readable.from(['a', 'b', 'c']) });
    await res.body.text();
    expect(res.statusCode).toBe(503);
    expect(bad.hits - before).toBe(1);
    expect(bad.requests.at(-1)!.body).toBe('abc');
  });

  it('routes global fetch once installed, and restores the previous dispatcher', async () => {
    meshWith([{ match: { prefix: '/' }, route: { cluster: C('v2'), timeout: '0s' } }]);
    const restore = installGlobalDispatcher(mesh);
    try {
      const r = await fetch('http://reviews:9080/f', { method: 'POST', body: 'hello' });
      expect(await r.text()).toBe('v2');
      expect(v2.requests.at(-1)!.body).toBe('hello');
      const r2 = await undiciFetch('http://reviews:9080/f');
      expect(await r2.text()).toBe('v2');
    } finally {
      await restore();
    }
    await expect(fetch('http://reviews:9080/f')).rejects.toThrow();
  });

  it("mirrors a copy to the mirror cluster with a -shadow Host, and the mirror's failures never reach the caller", async () => {
    const shadow = await startServer('shadow', (_req, res) => { res.statusCode = 500; res.end('mirror broke'); });
    const keep = await startServer('keep');
    servers.push(shadow, keep);
    meshWith([{
      match: { prefix: '/' },
      route: { cluster: C('v1'), timeout: '0s', requestMirrorPolicies: [{ cluster: 'mirror', runtimeFraction: { defaultValue: { numerator: 100, denominator: 'HUNDRED' } } }, { cluster: 'dead-mirror', runtimeFraction: { defaultValue: { numerator: 100 } } }, { cluster: 'keep-host', runtimeFraction: { defaultValue: { numerator: 100 } }, disableShadowHostSuffixAppend: true }] },
    }], [cluster('mirror', [shadow.port]), cluster('dead-mirror', [1]), cluster('keep-host', [keep.port])]);
    for (let i = 0; i < 5; i++) {
      const r = await request('http://reviews:9080/m?x=1', { dispatcher: agent, method: 'POST', body: 'copy me' });
      expect(r.statusCode).toBe(200);
      expect(await r.body.text()).toBe('v1');
    }
    for (let i = 0; i < 50 && shadow.hits < 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(shadow.hits).toBe(5);
    const seen = shadow.requests.at(-1)!;
    expect(seen.headers.host).toBe('reviews-shadow:9080');
    expect(seen.url).toBe('/m?x=1');
    expect(seen.body).toBe('copy me');
    // istiod sets disable_shadow_host_suffix_append on VirtualService mirrors: the Host stays.
    for (let i = 0; i < 50 && keep.hits < 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(keep.requests.at(-1)!.headers.host).toBe('reviews:9080');
  });
});
