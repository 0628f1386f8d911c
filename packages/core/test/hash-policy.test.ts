import { describe, expect, it } from 'vitest';
import { compileHashPolicy, cookieValue, setCookieHeader } from '../src/router/hash-policy.ts';
import { requestView } from '../src/router/request-view.ts';
import { xxHash64 } from '../src/lb/xxhash64.ts';
import { translateRouteConfiguration } from '../src/snapshot/translate-route-config.ts';
import { translateCluster } from '../src/snapshot/translate-cluster.ts';
import type { HashPolicy, RouteConfiguration } from '../src/xds/resources.ts';

const req = (headers: Record<string, string> = {}, path = '/') => requestView('GET', 'http', 'svc', path, headers);
const rotl1 = (h: bigint) => ((h << 1n) | (h >> 63n)) & 0xffff_ffff_ffff_ffffn;

function hasher(policies: HashPolicy[]) {
  const fn = compileHashPolicy(policies, 'hashPolicy');
  if (!fn) throw new Error('no hasher');
  return fn;
}

describe('hash policies (Envoy RouteAction.hash_policy)', () => {
  it('hashes a header value with xxHash64, case-insensitively by name', () => {
    const h = hasher([{ header: { headerName: 'X-User' } }]);
    expect(h(req({ 'x-user': 'alice' }), undefined)).toEqual({ hash: xxHash64('alice') });
    expect(h(req(), undefined).hash).toBeUndefined();
  });

  it('hashes a cookie value, quotes removed', () => {
    const h = hasher([{ cookie: { name: 'session' } }]);
    expect(h(req({ cookie: 'a=1; session="abc"; b=2' }), undefined)).toEqual({ hash: xxHash64('abc') });
    expect(h(req({ cookie: 'a=1' }), undefined)).toEqual({ hash: undefined });
  });

  it('generates the cookie when it is missing and a ttl is set, and keys on it', () => {
    const h = hasher([{ cookie: { name: 'sticky', ttl: '3600s', path: '/api' } }]);
    const first = h(req(), undefined);
    expect(first.setCookie).toMatchObject({ name: 'sticky', path: '/api', ttlSeconds: 3600 });
    expect(first.setCookie!.value).toMatch(/^[0-9a-f]{16}$/);
    expect(first.hash).toBe(xxHash64(first.setCookie!.value));
    // The next request carries the cookie back and hashes to the same key, with nothing to set.
    const cookie = setCookieHeader(first.setCookie!);
    expect(cookie).toBe(`sticky="${first.setCookie!.value}"; Max-Age=3600; Path=/api; HttpOnly`);
    const second = h(req({ cookie: cookie.split(';')[0]! }), undefined);
    expect(second).toEqual({ hash: first.hash });
  });

  it('writes cookie attributes after Path, as Envoy does', () => {
    const c = hasher([{ cookie: { name: 's', ttl: '10s', path: '/', attributes: [{ name: 'SameSite', value: 'Strict' }, { name: 'Secure' }] } }])(req(), undefined).setCookie!;
    expect(setCookieHeader(c)).toBe(`s="${c.value}"; Max-Age=10; Path=/; SameSite=Strict; Secure; HttpOnly`);
  });

  it('a ttl of 0 makes a session cookie (no Max-Age)', () => {
    const c = hasher([{ cookie: { name: 's', ttl: '0s' } }])(req(), undefined).setCookie!;
    expect(setCookieHeader(c)).toBe(`s="${c.value}"; HttpOnly`);
  });

  it('hashes the source IP when given one', () => {
    const h = hasher([{ connectionProperties: { sourceIp: true } }]);
    expect(h(req(), '10.1.2.3').hash).toBe(xxHash64('10.1.2.3'));
    expect(h(req(), undefined).hash).toBeUndefined();
    expect(compileHashPolicy([{ connectionProperties: { sourceIp: false } }], 'p')).toBeUndefined();
  });

  it('hashes the first query parameter value as written', () => {
    const h = hasher([{ queryParameter: { name: 'user' } }]);
    expect(h(req({}, '/x?a=1&user=b%20c&user=z'), undefined).hash).toBe(xxHash64('b%20c'));
    expect(h(req({}, '/x?a=1'), undefined).hash).toBeUndefined();
  });

  it('combines several policies by rotating and xoring, skipping those that find nothing', () => {
    const h = hasher([{ header: { headerName: 'a' } }, { header: { headerName: 'b' } }, { header: { headerName: 'c' } }]);
    expect(h(req({ a: '1', c: '3' }), undefined).hash).toBe(rotl1(xxHash64('1')) ^ xxHash64('3'));
    // Two identical policies do not cancel out.
    const twice = hasher([{ header: { headerName: 'a' } }, { header: { headerName: 'a' } }]);
    expect(twice(req({ a: '1' }), undefined).hash).toBe(rotl1(xxHash64('1')) ^ xxHash64('1'));
  });

  it('stops at a terminal policy that produced a key', () => {
    const h = hasher([{ header: { headerName: 'a' }, terminal: true }, { header: { headerName: 'b' } }]);
    expect(h(req({ a: '1', b: '2' }), undefined).hash).toBe(xxHash64('1'));
    // A terminal policy that found nothing does not stop the next one.
    expect(h(req({ b: '2' }), undefined).hash).toBe(xxHash64('2'));
  });

  it('rejects policies Envoy rejects', () => {
    expect(() => compileHashPolicy([{}], 'p')).toThrow(/exactly one of/);
    expect(() => compileHashPolicy([{ header: { headerName: 'bad name' } }], 'p')).toThrow(/not a header name/);
    expect(() => compileHashPolicy([{ cookie: { name: '' } }], 'p')).toThrow(/cookie.name/);
  });

  it('reads cookies split over several Cookie headers', () => {
    expect(cookieValue('a=1,b=2', 'b')).toBe('2');
    expect(cookieValue(' x = y ', 'x')).toBe('y');
  });
});

describe('hash policies and hashing balancers in xDS translation', () => {
  const rc = (hashPolicy: unknown[]): RouteConfiguration => ({
    name: 'rc',
    virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', hashPolicy } }] }],
  });

  it('compiles RouteAction.hashPolicy into ForwardAction.hash', () => {
    const r = translateRouteConfiguration(rc([{ header: { headerName: 'x-user' } }]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const action = r.value[0]!.routes[0]!.action;
    expect(action.kind).toBe('forward');
    if (action.kind !== 'forward') return;
    expect(action.hash?.(req({ 'x-user': 'u' }), undefined).hash).toBe(xxHash64('u'));
    const none = translateRouteConfiguration(rc([]));
    expect(none.ok && none.value[0]!.routes[0]!.action.kind === 'forward' && none.value[0]!.routes[0]!.action.hash).toBe(undefined);
  });

  it('NACKs a malformed hash policy, naming the field', () => {
    const r = translateRouteConfiguration(rc([{ header: {} }]));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/virtualHosts\[0\]\.routes\[0\]\.route\.hashPolicy\[0\]\.header\.headerName/);
  });

  it('accepts RING_HASH and MAGLEV with Envoy\'s bounds', () => {
    const ring = translateCluster({ name: 'c', type: 'STATIC', lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: '2048' } });
    expect(ring.ok && ring.value.lbPolicy).toBe('RING_HASH');
    expect(ring.ok && ring.value.hashLb).toEqual({ minimumRingSize: 2048, maximumRingSize: 8388608 });
    const maglev = translateCluster({ name: 'c', type: 'STATIC', lbPolicy: 'MAGLEV' });
    expect(maglev.ok && maglev.value.hashLb).toEqual({ tableSize: 65537 });
    const notPrime = translateCluster({ name: 'c', type: 'STATIC', lbPolicy: 'MAGLEV', maglevLbConfig: { tableSize: '65536' } });
    expect(!notPrime.ok && notPrime.error).toMatch(/tableSize.*prime/);
    const inverted = translateCluster({ name: 'c', type: 'STATIC', lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: '4096', maximumRingSize: '1024' } });
    expect(!inverted.ok && inverted.error).toMatch(/minimumRingSize \(4096\) > maximumRingSize \(1024\)/);
    const huge = translateCluster({ name: 'c', type: 'STATIC', lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: '9000000' } });
    expect(huge.ok).toBe(false);
  });
});
