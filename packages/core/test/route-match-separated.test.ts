import { describe, expect, it } from 'vitest';
import { compileRouteMatch } from '../src/router/route-match.ts';
import { requestView } from '../src/router/request-view.ts';
import { redirectPath, rewritePath } from '../src/router/rewrite.ts';
import type { RedirectActionConfig } from '../src/router/rewrite.ts';
import { translateRouteConfiguration } from '../src/snapshot/translate-route-config.ts';

const get = (path: string) => requestView('GET', 'http', 'svc', path, {});

describe('path_separated_prefix (Gateway API PathPrefix)', () => {
  it('matches the prefix as whole path segments only', () => {
    const m = compileRouteMatch({ pathSeparatedPrefix: '/api' });
    for (const p of ['/api', '/api/', '/api/v1', '/api?x=1']) expect(m(get(p))).toBe(true);
    for (const p of ['/apis', '/ap', '/', '/v1/api']) expect(m(get(p))).toBe(false);
    expect(compileRouteMatch({ pathSeparatedPrefix: '/API', caseSensitive: false })(get('/api/x'))).toBe(true);
    expect(compileRouteMatch({ pathSeparatedPrefix: '/' })(get('/anything'))).toBe(true);
    expect(() => compileRouteMatch({ pathSeparatedPrefix: '/api/' })).toThrow(/must start with/);
  });

  it('a prefix rewrite swaps the matched segments', () => {
    const r = translateRouteConfiguration({
      name: 'rc',
      virtualHosts: [{ name: 'vh', domains: ['*'], routes: [
        { match: { pathSeparatedPrefix: '/v1' }, route: { cluster: 'c', prefixRewrite: '/v2' } },
        { match: { pathSeparatedPrefix: '/api' }, route: { cluster: 'c', regexRewrite: { pattern: { regex: '^/api(/?)(.*)' }, substitution: '/\\2' } } },
      ] }],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [v1, api] = r.value[0]!.routes.map((x) => (x.action.kind === 'forward' ? x.action.rewrite : undefined));
    expect(rewritePath(v1, '/v1/users?id=1')).toBe('/v2/users?id=1');
    expect(rewritePath(v1, '/v1')).toBe('/v2');
    expect(rewritePath(api, '/api/users')).toBe('/users');
    expect(rewritePath(api, '/api')).toBe('/');
  });
});

describe('redirect paths', () => {
  const redirect = (over: Partial<RedirectActionConfig>): RedirectActionConfig => ({
    kind: 'redirect', status: 302, scheme: undefined, host: undefined, port: undefined, path: undefined, prefixRewrite: undefined, stripQuery: false, ...over,
  });
  it('keeps the path, replaces it, or replaces the matched prefix', () => {
    expect(redirectPath(redirect({}), '/a/b')).toBe('/a/b');
    expect(redirectPath(redirect({ path: '/login' }), '/a/b')).toBe('/login');
    expect(redirectPath(redirect({ prefixRewrite: '/new', matchedPrefix: '/old' }), '/old/x')).toBe('/new/x');
    expect(redirectPath(redirect({ prefixRewrite: '/', matchedPrefix: '/old' }), '/old/x')).toBe('/x');
    expect(redirectPath(redirect({ prefixRewrite: '/', matchedPrefix: '/old' }), '/old')).toBe('/');
  });
});
