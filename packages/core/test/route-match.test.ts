import { describe, expect, it } from 'vitest';
import { compileRouteMatch } from '../src/router/route-match.ts';
import { requestView } from '../src/router/request-view.ts';
import type { RouteMatch } from '../src/xds/resources.ts';

const req = (path: string, headers: Record<string, string> = {}, method = 'GET') => requestView(method, 'http', 'reviews:9080', path, headers);
const m = (match: RouteMatch) => compileRouteMatch(match);

describe('route matching (Envoy RouteMatch)', () => {
  it('prefix, path and regex on the path without its query', () => {
    expect(m({ prefix: '/api' })(req('/api/v1?x=1'))).toBe(true);
    expect(m({ prefix: '/api' })(req('/API/v1'))).toBe(false);
    expect(m({ prefix: '/api', caseSensitive: false })(req('/API/v1'))).toBe(true);
    expect(m({ path: '/exact' })(req('/exact?q'))).toBe(true);
    expect(m({ path: '/exact' })(req('/exact/'))).toBe(false);
    expect(m({ safeRegex: { regex: '/v[0-9]+/.*' } })(req('/v12/x'))).toBe(true);
    // RE2 full match: a partial match is no match.
    expect(m({ safeRegex: { regex: 'v[0-9]+' } })(req('/v12/x'))).toBe(false);
  });

  it('header matchers: exact, prefix, regex, presence, invert, pseudo-headers', () => {
    expect(m({ prefix: '/', headers: [{ name: 'end-user', stringMatch: { exact: 'jason' } }] })(req('/', { 'end-user': 'jason' }))).toBe(true);
    expect(m({ prefix: '/', headers: [{ name: 'End-User', stringMatch: { exact: 'jason' } }] })(req('/', { 'end-user': 'Jason' }))).toBe(false);
    expect(m({ prefix: '/', headers: [{ name: 'x', stringMatch: { prefix: 'ab' } }] })(req('/', { x: 'abc' }))).toBe(true);
    expect(m({ prefix: '/', headers: [{ name: 'x', stringMatch: { safeRegex: { regex: 'a.c' } } }] })(req('/', { x: 'abc' }))).toBe(true);
    expect(m({ prefix: '/', headers: [{ name: 'x', presentMatch: true }] })(req('/', { x: '' }))).toBe(true);
    expect(m({ prefix: '/', headers: [{ name: 'x', presentMatch: true }] })(req('/'))).toBe(false);
    // withoutHeaders: invert. An absent header does not match an inverted value match (Envoy).
    expect(m({ prefix: '/', headers: [{ name: 'x', stringMatch: { exact: 'a' }, invertMatch: true }] })(req('/', { x: 'b' }))).toBe(true);
    expect(m({ prefix: '/', headers: [{ name: 'x', stringMatch: { exact: 'a' }, invertMatch: true }] })(req('/', { x: 'a' }))).toBe(false);
    expect(m({ prefix: '/', headers: [{ name: 'x', stringMatch: { exact: 'a' }, invertMatch: true }] })(req('/'))).toBe(false);
    expect(m({ prefix: '/', headers: [{ name: 'x', presentMatch: true, invertMatch: true }] })(req('/'))).toBe(true);
    expect(m({ prefix: '/', headers: [{ name: ':method', stringMatch: { exact: 'POST' } }] })(req('/', {}, 'POST'))).toBe(true);
    expect(m({ prefix: '/', headers: [{ name: ':authority', stringMatch: { prefix: 'reviews' } }] })(req('/'))).toBe(true);
  });

  it('query parameters: exact, regex, presence; all conditions ANDed', () => {
    const match = m({ prefix: '/', queryParameters: [{ name: 'v', stringMatch: { exact: '2' } }, { name: 'debug', presentMatch: true }] });
    expect(match(req('/?v=2&debug'))).toBe(true);
    expect(match(req('/?v=2'))).toBe(false);
    expect(match(req('/?v=3&debug=1'))).toBe(false);
    expect(m({ prefix: '/', queryParameters: [{ name: 'q', stringMatch: { safeRegex: { regex: 'a b' } } }] })(req('/?q=a+b'))).toBe(true);
  });
});
