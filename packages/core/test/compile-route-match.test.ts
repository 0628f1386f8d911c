import { describe, expect, it } from 'vitest';
import type { HTTPMatchRequest, HTTPRoute } from '../src/istio/types.ts';
import type { Route } from '../src/xds/resources.ts';
import { client, compile, findings, routes, staticService, virtualService } from './compile-helpers.ts';

const HOST = 'reviews.default.svc.cluster.local';
const RC = `outbound|9080||${HOST}`;

function compileRules(http: HTTPRoute[], who = client()): Route[] {
  return routes(compile([staticService(HOST, 9080), virtualService('reviews', { hosts: ['reviews'], http })], who), RC);
}

function matchOf(m: HTTPMatchRequest): Route['match'] {
  return compileRules([{ match: [m], route: [{ destination: { host: 'reviews' } }] }])[0]?.match;
}

describe('compileMesh: VirtualService match translation', () => {
  it('uri exact → path, prefix → prefix, regex → safeRegex, each case-sensitive by default', () => {
    expect(matchOf({ uri: { exact: '/a' } })).toEqual({ path: '/a', caseSensitive: true });
    expect(matchOf({ uri: { prefix: '/api/' } })).toEqual({ prefix: '/api/', caseSensitive: true });
    expect(matchOf({ uri: { regex: '/v[0-9]+/.*' } })).toEqual({ safeRegex: { regex: '/v[0-9]+/.*' }, caseSensitive: true });
  });

  it('ignoreUriCase → caseSensitive false', () => {
    expect(matchOf({ uri: { prefix: '/API' }, ignoreUriCase: true })).toEqual({ prefix: '/API', caseSensitive: false });
  });

  it('a match entry without uri matches prefix "/"', () => {
    expect(matchOf({ headers: { x: { exact: '1' } } })?.prefix).toBe('/');
  });

  it('headers → stringMatch, sorted by name; {} and regex "*" → presentMatch', () => {
    expect(matchOf({ headers: { zeta: { prefix: 'p' }, alpha: { exact: 'a' }, mid: { regex: 'b.*' }, any: {}, star: { regex: '*' } } })?.headers).toEqual([
      { name: 'alpha', stringMatch: { exact: 'a' } },
      { name: 'any', presentMatch: true },
      { name: 'mid', stringMatch: { safeRegex: { regex: 'b.*' } } },
      { name: 'star', presentMatch: true },
      { name: 'zeta', stringMatch: { prefix: 'p' } },
    ]);
  });

  it('withoutHeaders → inverted matchers, missing header treated as empty unless a presence match', () => {
    expect(matchOf({ withoutHeaders: { debug: { exact: '1' }, trace: {} } })?.headers).toEqual([
      { name: 'debug', stringMatch: { exact: '1' }, invertMatch: true, treatMissingHeaderAsEmpty: true },
      { name: 'trace', presentMatch: true, invertMatch: true },
    ]);
  });

  it('method, authority, scheme → :method, :authority, :scheme after the other headers', () => {
    expect(matchOf({ headers: { zz: { exact: '1' } }, method: { exact: 'GET' }, authority: { prefix: 'reviews' }, scheme: { exact: 'https' } })?.headers).toEqual([
      { name: 'zz', stringMatch: { exact: '1' } },
      { name: ':method', stringMatch: { exact: 'GET' } },
      { name: ':authority', stringMatch: { prefix: 'reviews' } },
      { name: ':scheme', stringMatch: { exact: 'https' } },
    ]);
  });

  it('queryParams → QueryParameterMatcher (exact, prefix, regex, presence)', () => {
    expect(matchOf({ queryParams: { b: { prefix: 'x' }, a: { exact: '1' }, c: { regex: '\\d+' }, d: {} } })?.queryParameters).toEqual([
      { name: 'a', stringMatch: { exact: '1' } },
      { name: 'b', stringMatch: { prefix: 'x' } },
      { name: 'c', stringMatch: { safeRegex: { regex: '\\d+' } } },
      { name: 'd', presentMatch: true },
    ]);
  });

  it('each match entry is its own route (OR), in order; fields inside one are ANDed into one route', () => {
    const rs = compileRules([
      {
        name: 'r',
        match: [{ name: 'one', uri: { prefix: '/a' }, headers: { x: { exact: '1' } } }, { uri: { prefix: '/b' } }],
        route: [{ destination: { host: 'reviews' } }],
      },
      { name: 'rest', route: [{ destination: { host: 'reviews' } }] },
    ]);
    expect(rs.map((r) => [r.name, r.match.prefix, r.match.headers?.length ?? 0])).toEqual([
      ['r.one', '/a', 1],
      ['r', '/b', 0],
      ['rest', '/', 0],
    ]);
    expect(rs[2]?.match).toEqual({ prefix: '/' });
  });

  it('stops at a catch-all: a rule without match, or an entry matching everything', () => {
    const a = compileRules([
      { name: 'all', route: [{ destination: { host: 'reviews' } }] },
      { name: 'never', match: [{ uri: { prefix: '/x' } }], route: [{ destination: { host: 'reviews' } }] },
    ]);
    expect(a.map((r) => r.name)).toEqual(['all']);
    const b = compileRules([
      { name: 'first', match: [{ uri: { prefix: '/' } }, { uri: { prefix: '/never' } }], route: [{ destination: { host: 'reviews' } }] },
      { name: 'second', route: [{ destination: { host: 'reviews' } }] },
    ]);
    expect(b.map((r) => r.name)).toEqual(['first']);
  });

  it('a rule after a rule with no match is the analyzers\' to report (IST0130); one unreachable only for this client is the compiler\'s', () => {
    const service = staticService(HOST, 9080);
    const plain = [
      service,
      virtualService('reviews', {
        hosts: ['reviews'],
        http: [{ route: [{ destination: { host: 'reviews' } }] }, { match: [{ uri: { prefix: '/x' } }], route: [{ destination: { host: 'reviews' } }] }],
      }),
    ];
    expect(compile(plain).problems).toEqual([]);
    expect(findings(plain)).toEqual([expect.stringMatching(/^\[IST0130\] VirtualService default\/reviews spec.http\[1\]: rule #1 is never used/)]);
    // A match on the client's own labels is a catch-all for this client only.
    const forClient = [
      service,
      virtualService('reviews', {
        hosts: ['reviews'],
        http: [{ match: [{ sourceLabels: { app: 'web' } }], route: [{ destination: { host: 'reviews' } }] }, { match: [{ uri: { prefix: '/x' } }], route: [{ destination: { host: 'reviews' } }] }],
      }),
    ];
    expect(compile(forClient, client('default', { app: 'web' })).problems.map((p) => [p.field, p.message])).toEqual([['spec.http[1]', 'never used: the earlier rule spec.http[0] matches every request on port 9080']]);
    expect(findings(forClient)).toEqual([]);
  });

  it('selects entries by the client: sourceLabels, sourceNamespace, port, gateways', () => {
    const http: HTTPRoute[] = [
      { name: 'v1-only', match: [{ sourceLabels: { version: 'v1' }, uri: { prefix: '/a' } }], route: [{ destination: { host: 'reviews' } }] },
      { name: 'ns-shop', match: [{ sourceNamespace: 'shop', uri: { prefix: '/b' } }], route: [{ destination: { host: 'reviews' } }] },
      { name: 'port-9081', match: [{ port: 9081, uri: { prefix: '/c' } }], route: [{ destination: { host: 'reviews' } }] },
      { name: 'port-9080', match: [{ port: 9080, uri: { prefix: '/d' } }], route: [{ destination: { host: 'reviews' } }] },
      { name: 'gw-only', match: [{ gateways: ['ingress'], uri: { prefix: '/e' } }], route: [{ destination: { host: 'reviews' } }] },
      // With gateways naming mesh, istiod ignores the entry's sourceLabels.
      { name: 'gw-mesh', match: [{ gateways: ['mesh'], sourceLabels: { version: 'v9' }, uri: { prefix: '/f' } }], route: [{ destination: { host: 'reviews' } }] },
    ];
    expect(compileRules(http, client('default', { version: 'v1' })).map((r) => r.name)).toEqual(['v1-only', 'port-9080', 'gw-mesh']);
    expect(compileRules(http, client('shop', { version: 'v2' })).map((r) => r.name)).toEqual(['ns-shop', 'port-9080', 'gw-mesh']);
  });

  it('falls back to the default route when no rule applies to this client', () => {
    const rs = compileRules([{ match: [{ sourceLabels: { app: 'nobody' } }], route: [{ destination: { host: 'reviews' } }] }]);
    expect(rs.map((r) => r.name)).toEqual(['default']);
  });

  it('ignores VirtualServices bound only to gateways, and keeps those naming mesh', () => {
    const gwOnly = compile([staticService(HOST, 9080), virtualService('vs', { hosts: ['reviews'], gateways: ['my-gateway'], http: [{ name: 'gw', route: [{ destination: { host: 'reviews' } }] }] })]);
    expect(routes(gwOnly, RC).map((r) => r.name)).toEqual(['default']);
    const withMesh = compile([staticService(HOST, 9080), virtualService('vs', { hosts: ['reviews'], gateways: ['my-gateway', 'mesh'], http: [{ name: 'm', route: [{ destination: { host: 'reviews' } }] }] })]);
    expect(routes(withMesh, RC).map((r) => r.name)).toEqual(['m']);
  });

  it('records where each route came from: istio.config as istiod writes it, plus rule and match index', () => {
    const rs = compileRules([
      { name: 'x', match: [{ uri: { prefix: '/a' } }, { uri: { prefix: '/b' } }], route: [{ destination: { host: 'reviews' } }] },
    ]);
    expect(rs[1]?.metadata).toEqual({
      filterMetadata: {
        istio: { config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews' },
        meshlet: { virtualService: 'default/reviews', rule: 0, match: 1 },
      },
    });
    expect(rs[1]?.decorator).toEqual({ operation: `${HOST}:9080/b*` });
  });

  it('keeps statPrefix', () => {
    expect(compileRules([{ match: [{ uri: { prefix: '/a' }, statPrefix: 'api' }], route: [{ destination: { host: 'reviews' } }] }])[0]?.statPrefix).toBe('api');
  });
});
