// The route index must pick exactly the route a first-match scan picks, for any table and path.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileRouteMatch } from '../src/router/route-match.ts';
import { firstMatchingRoute } from '../src/router/route-index.ts';
import { requestView } from '../src/router/request-view.ts';
import type { CompiledRoute, VirtualHostRoutes } from '../src/snapshot/mesh-snapshot.ts';
import type { RouteMatch } from '../src/xds/resources.ts';

const segment = fc.constantFrom('a', 'b', 'api', 'v1', 'A', 'x-y', '');
const pathArb = fc.array(segment, { minLength: 0, maxLength: 4 }).map((s) => `/${s.join('/')}`);

const matchArb: fc.Arbitrary<RouteMatch> = fc.oneof(
  pathArb.map((prefix) => ({ prefix })),
  pathArb.map((prefix) => ({ prefix, caseSensitive: false })),
  pathArb.map((path) => ({ path })),
  pathArb.map((path) => ({ path, caseSensitive: false })),
  fc.constant({ prefix: '/' }),
  regexArb(),
  fc.tuple(pathArb, fc.constantFrom('t1', 't2')).map(([prefix, v]) => ({ prefix, headers: [{ name: 'x-tenant', stringMatch: { exact: v } }] })),
);

// Regexes with and without a literal start, literal ones, and ones whose literal must not be
// taken for a prefix (alternation, case folding, optional parts, anchors).
function regexArb(): fc.Arbitrary<RouteMatch> {
  return fc.constantFrom(
    '/a.*', '/api/v[0-9]+/.*', '.*b', '/a', '/api/v1', '/a(/b)?', '/a|/b', '(?i)/A.*', '/a/?', '^/a.*', '/(a|api)/.*', '/a\\.b', '/api/v1/b*', '/x-y.*',
    // No literal start: found by a literal inside (or always tried when none can be proven).
    '.*', '.*/v[0-9]+', '[a-z/]*b', '(/a)+', '/?a.*', '.*a|/b', '(?i).*/API', '.*/x-y/?', '[/a-z0-9-]*/v1/.*', '.*A$',
    '.*/api/.*', '[a-z/]*/v1/b', '.*x-y.*', '(a|b)*/api', '.*(?i:API).*', '.*/api(/v1)?', '[^/]*/api/v1', '.*/a\\x2Fb.*', '.*(/a){2}/b',
  ).map((regex) => ({ safeRegex: { regex } }));
}

function table(matches: RouteMatch[]): VirtualHostRoutes {
  const routes = matches.map((m, index) => ({ name: `r${index}`, index, match: compileRouteMatch(m) }) as unknown as CompiledRoute);
  return { name: 'vh', domains: ['*'], routes };
}

function scan(vh: VirtualHostRoutes, path: string, tenant: string): number | undefined {
  const req = requestView('GET', 'http', 'h', path, { 'x-tenant': tenant });
  return vh.routes.findIndex((r) => r.match(req));
}

describe('route index', () => {
  it('agrees with a first-match scan (tables long enough to be indexed)', () => {
    fc.assert(fc.property(
      fc.array(matchArb, { minLength: 16, maxLength: 60 }),
      fc.array(fc.tuple(pathArb, fc.constantFrom('t1', 't2', 'none'), fc.constantFrom('', '?q=1')), { minLength: 1, maxLength: 10 }),
      (matches, requests) => {
        const vh = table(matches);
        for (const [path, tenant, query] of requests) {
          const got = firstMatchingRoute(vh, requestView('GET', 'http', 'h', path + query, { 'x-tenant': tenant }));
          const want = scan(vh, path + query, tenant);
          expect(got ? vh.routes.indexOf(got) : -1).toBe(want);
        }
      },
    ), { numRuns: 300 });
  });

  it('agrees with a first-match scan on tables of regexes only (the literal index in use)', () => {
    fc.assert(fc.property(
      fc.array(regexArb(), { minLength: 16, maxLength: 40 }),
      fc.array(pathArb, { minLength: 1, maxLength: 10 }),
      (matches, paths) => {
        const vh = table(matches);
        for (const path of paths) {
          const got = firstMatchingRoute(vh, requestView('GET', 'http', 'h', path, {}));
          expect(got ? vh.routes.indexOf(got) : -1).toBe(scan(vh, path, 'none'));
        }
      },
    ), { numRuns: 300 });
  });

  it('finds the route among 1,000 regex routes with no literal start (by the literal each contains), as a scan does', () => {
    const vh = table(Array.from({ length: 1000 }, (_, i) => ({ safeRegex: { regex: `.*/r${i}/[a-z]+/[0-9]+` } })));
    for (const i of [0, 1, 10, 500, 999]) {
      const path = `/api/v1/r${i}/items/42`;
      expect(firstMatchingRoute(vh, requestView('GET', 'http', 'h', path, {}))?.name).toBe(`r${i}`);
      expect(scan(vh, path, 'none')).toBe(i);
    }
    expect(firstMatchingRoute(vh, requestView('GET', 'http', 'h', '/api/v1/r999/items/x', {}))).toBeUndefined();
    expect(firstMatchingRoute(vh, requestView('GET', 'http', 'h', '/api/v1/r1000/items/1', {}))).toBeUndefined();
  });

  it('finds the last of 1,000 prefix routes', () => {
    const vh = table(Array.from({ length: 1000 }, (_, i) => ({ prefix: `/api/v1/r${i}/` })));
    const route = firstMatchingRoute(vh, requestView('GET', 'http', 'h', '/api/v1/r999/items', {}));
    expect(route?.name).toBe('r999');
    expect(firstMatchingRoute(vh, requestView('GET', 'http', 'h', '/api/v1/r1000/items', {}))).toBeUndefined();
    // r1/ must not be taken for r10/ and so on: prefixes end in '/'.
    expect(firstMatchingRoute(vh, requestView('GET', 'http', 'h', '/api/v1/r10/x', {}))?.name).toBe('r10');
  });
});
