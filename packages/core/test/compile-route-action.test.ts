import { describe, expect, it } from 'vitest';
import type { HTTPRoute } from '../src/istio/types.ts';
import type { Route } from '../src/xds/resources.ts';
import { TYPE_URL } from '../src/xds/resources.ts';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { client, compile, destinationRule, findings, messages, routes, serviceEntry, staticService, virtualService } from './compile-helpers.ts';

const HOST = 'reviews.default.svc.cluster.local';
const RC = `outbound|9080||${HOST}`;
const SVC = staticService(HOST, 9080, [
  { address: '10.0.0.1', labels: { version: 'v1' } },
  { address: '10.0.0.2', labels: { version: 'v2' } },
]);
const SUBSETS = destinationRule('reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] });

function compileRule(rule: HTTPRoute, extra = [SUBSETS]): { route: Route; problems: string[] } {
  const r = compile([SVC, ...extra, virtualService('reviews', { hosts: ['reviews'], http: [rule] }, { line: 100 })]);
  return { route: routes(r, RC)[0] as Route, problems: messages(r) };
}

describe('compileMesh: VirtualService route actions', () => {
  it('one destination → route.cluster, with timeout 0s and maxStreamDuration as istiod writes for proxyless', () => {
    const { route } = compileRule({ route: [{ destination: { host: 'reviews', subset: 'v1' } }] });
    expect(route.route?.cluster).toBe(`outbound|9080|v1|${HOST}`);
    expect(route.route?.timeout).toBe('0s');
    expect(route.route?.maxStreamDuration).toEqual({ maxStreamDuration: '0s' });
    expect(route.route?.weightedClusters).toBeUndefined();
  });

  it('a single destination gets everything whatever its weight', () => {
    const { route } = compileRule({ route: [{ destination: { host: 'reviews' }, weight: 30 }] });
    expect(route.route?.cluster).toBe(RC);
  });

  it('several destinations → weightedClusters with the weights as given; weight 0 left out', () => {
    const { route } = compileRule({
      route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: 3 },
        { destination: { host: 'reviews', subset: 'v2' }, weight: 1 },
        { destination: { host: 'reviews' }, weight: 0 },
      ],
    });
    expect(route.route?.weightedClusters).toEqual({
      clusters: [
        { name: `outbound|9080|v1|${HOST}`, weight: 3 },
        { name: `outbound|9080|v2|${HOST}`, weight: 1 },
      ],
    });
    expect(route.route?.cluster).toBeUndefined();
  });

  it('destination port selects the port; without one the called port is used', () => {
    const svc = serviceEntry('multi', { hosts: ['multi.example.com'], ports: [{ number: 80, name: 'http' }, { number: 8080, name: 'alt' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] });
    const r = compile([
      svc,
      virtualService('multi', {
        hosts: ['multi.example.com'],
        http: [{ match: [{ uri: { prefix: '/alt' } }], route: [{ destination: { host: 'multi.example.com', port: { number: 8080 } } }] }, { route: [{ destination: { host: 'multi.example.com' } }] }],
      }),
    ]);
    expect(routes(r, 'outbound|80||multi.example.com').map((x) => x.route?.cluster)).toEqual(['outbound|8080||multi.example.com', 'outbound|80||multi.example.com']);
    expect(routes(r, 'outbound|8080||multi.example.com').map((x) => x.route?.cluster)).toEqual(['outbound|8080||multi.example.com', 'outbound|8080||multi.example.com']);
    expect(r.problems).toEqual([]);
  });

  it('keeps a route to an unknown host, subset or port; the analyzers report each at its field line (IST0101)', () => {
    const objects = [
      SVC,
      SUBSETS,
      virtualService(
        'reviews',
        {
          hosts: ['reviews'],
          http: [
            { match: [{ uri: { prefix: '/a' } }], route: [{ destination: { host: 'ratings' } }] },
            { match: [{ uri: { prefix: '/b' } }], route: [{ destination: { host: 'reviews', subset: 'v9' } }] },
            { route: [{ destination: { host: 'reviews', port: { number: 1234 } } }] },
          ],
        },
        { line: 100 },
      ),
    ];
    const r = compile(objects);
    expect(routes(r, RC).map((x) => x.route?.cluster)).toEqual([
      'outbound|9080||ratings.default.svc.cluster.local',
      `outbound|9080|v9|${HOST}`,
      `outbound|1234||${HOST}`,
    ]);
    // Nothing here depends on the client: the analyzers report it, once, for every client.
    expect(r.problems).toEqual([]);
    const found = analyzeMesh(objects);
    expect(found.map((p) => [p.code, p.severity, p.line, p.field])).toEqual([
      ['IST0101', 'error', 107, 'spec.http[0].route[0].destination.host'],
      ['IST0101', 'error', 108, 'spec.http[2].route[0].destination.port.number'],
      ['IST0101', 'error', 107, 'spec.http[1].route[0].destination.subset'],
    ]);
    expect(found.map((p) => p.message)).toEqual([
      expect.stringMatching(/^Referenced host not found: "ratings.default.svc.cluster.local" \(no Service or ServiceEntry declares it\)/),
      expect.stringMatching(/^Referenced host:port not found: "reviews.default.svc.cluster.local:1234" \(the service has port 9080\)/),
      expect.stringMatching(/^Referenced host\+subset in destinationrule not found: "reviews.default.svc.cluster.local\+v9" \(the DestinationRule for reviews.default.svc.cluster.local has no subset v9\)/),
    ]);
  });

  it('distinguishes a host hidden by exportTo from an undeclared one', () => {
    const r = compile([
      SVC,
      serviceEntry('ratings', { hosts: ['ratings.example.com'], ports: [{ number: 9080, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.2' }], exportTo: ['.'] }, { namespace: 'other' }),
      virtualService('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'ratings.example.com' } }] }] }),
    ]);
    expect(r.problems[0]?.message).toMatch(/not exported to namespace default/);
  });

  it('timeout → route.timeout and maxStreamDuration', () => {
    const { route } = compileRule({ timeout: '1.5s', route: [{ destination: { host: 'reviews' } }] });
    expect(route.route?.timeout).toBe('1.500s');
    expect(route.route?.maxStreamDuration).toEqual({ maxStreamDuration: '1.500s' });
  });

  it('rewrite: uri → prefixRewrite, uriRegexRewrite → regexRewrite, authority → hostRewriteLiteral', () => {
    expect(compileRule({ rewrite: { uri: '/v2/', authority: 'internal' }, route: [{ destination: { host: 'reviews' } }] }).route.route).toMatchObject({ prefixRewrite: '/v2/', hostRewriteLiteral: 'internal' });
    expect(compileRule({ rewrite: { uriRegexRewrite: { match: '^/a/(.*)', rewrite: '/b/\\1' } }, route: [{ destination: { host: 'reviews' } }] }).route.route?.regexRewrite).toEqual({
      pattern: { regex: '^/a/(.*)' },
      substitution: '/b/\\1',
    });
  });

  it('headers: set overwrites, add appends, remove; sorted, sets first; route-level then destination-level', () => {
    const { route } = compileRule({
      headers: { request: { set: { 'x-b': '2', 'x-a': '1' }, add: { 'x-c': '3' }, remove: ['x-gone', ':path'] }, response: { set: { 'x-r': 'r' }, remove: ['server'] } },
      route: [{ destination: { host: 'reviews' }, headers: { request: { add: { 'x-d': '4' } }, response: { add: { 'x-s': 's' } } } }],
    });
    expect(route.requestHeadersToAdd).toEqual([
      { header: { key: 'x-a', value: '1' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-b', value: '2' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-c', value: '3' }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-d', value: '4' }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(route.requestHeadersToRemove).toEqual(['x-gone']);
    expect(route.responseHeadersToAdd).toEqual([
      { header: { key: 'x-r', value: 'r' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-s', value: 's' }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(route.responseHeadersToRemove).toEqual(['server']);
  });

  it('destination headers of weighted destinations go on each cluster weight; :authority becomes a host rewrite', () => {
    const { route } = compileRule({
      headers: { request: { set: { host: 'front' } } },
      route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: 50, headers: { request: { set: { 'x-v': '1', ':authority': 'v1.internal' } } } },
        { destination: { host: 'reviews', subset: 'v2' }, weight: 50 },
      ],
    });
    expect(route.route?.hostRewriteLiteral).toBe('front');
    expect(route.requestHeadersToAdd).toBeUndefined();
    expect(route.route?.weightedClusters?.clusters[0]).toEqual({
      name: `outbound|9080|v1|${HOST}`,
      weight: 50,
      requestHeadersToAdd: [{ header: { key: 'x-v', value: '1' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      hostRewriteLiteral: 'v1.internal',
    });
  });

  it('fault → typedPerFilterConfig HTTPFault: fixedDelay, abort status, percent per million', () => {
    const { route } = compileRule({
      fault: { delay: { fixedDelay: '5s', percentage: { value: 0.1 } }, abort: { httpStatus: 503, percentage: { value: 50 } } },
      route: [{ destination: { host: 'reviews' } }],
    });
    expect(route.typedPerFilterConfig?.['envoy.filters.http.fault']).toEqual({
      '@type': TYPE_URL.HTTPFault,
      delay: { fixedDelay: '5s', percentage: { numerator: 1000, denominator: 'MILLION' } },
      abort: { httpStatus: 503, percentage: { numerator: 500000, denominator: 'MILLION' } },
    });
  });

  it('fault: grpcStatus as its code; no percentage written as istiod writes it', () => {
    const { route } = compileRule({ fault: { abort: { grpcStatus: 'UNAVAILABLE' }, delay: { fixedDelay: '10ms' } }, route: [{ destination: { host: 'reviews' } }] });
    expect(route.typedPerFilterConfig?.['envoy.filters.http.fault']).toEqual({
      '@type': TYPE_URL.HTTPFault,
      // Istio: an unset delay percentage falls back to the deprecated integer percent (0).
      delay: { fixedDelay: '0.010s', percentage: { numerator: 0, denominator: 'HUNDRED' } },
      abort: { grpcStatus: 14 },
    });
  });

  it('mirror with mirrorPercentage, and mirrors → requestMirrorPolicies', () => {
    const { route } = compileRule({
      route: [{ destination: { host: 'reviews', subset: 'v1' } }],
      mirror: { host: 'reviews', subset: 'v2' },
      mirrorPercentage: { value: 25 },
      mirrors: [{ destination: { host: 'reviews', subset: 'v1' } }, { destination: { host: 'reviews', subset: 'v2' }, percentage: { value: 0 } }],
    });
    expect(route.route?.requestMirrorPolicies).toEqual([
      { cluster: `outbound|9080|v2|${HOST}`, runtimeFraction: { defaultValue: { numerator: 250000, denominator: 'MILLION' } }, traceSampled: false, disableShadowHostSuffixAppend: true },
      { cluster: `outbound|9080|v1|${HOST}`, runtimeFraction: { defaultValue: { numerator: 100, denominator: 'HUNDRED' } }, traceSampled: false, disableShadowHostSuffixAppend: true },
    ]);
  });

  it('redirect → RedirectAction, 301 by default; directResponse → directResponse', () => {
    const redirect = compileRule({ redirect: { uri: '/new', authority: 'other.example.com' } }).route;
    expect(redirect.redirect).toEqual({ hostRedirect: 'other.example.com', pathRedirect: '/new', responseCode: 'MOVED_PERMANENTLY' });
    expect(redirect.route).toBeUndefined();
    expect(compileRule({ redirect: { uri: '/x', scheme: 'https', port: 443, redirectCode: 308 } }).route.redirect).toEqual({ pathRedirect: '/x', schemeRedirect: 'https', responseCode: 'PERMANENT_REDIRECT' });
    expect(compileRule({ redirect: { uri: '/x', derivePort: 'FROM_REQUEST_PORT', redirectCode: 302 } }).route.redirect).toEqual({ pathRedirect: '/x', portRedirect: 9080, responseCode: 'FOUND' });
    const direct = compileRule({ directResponse: { status: 418, body: { string: 'teapot' } } }).route;
    expect(direct.directResponse).toEqual({ status: 418, body: { inlineString: 'teapot' } });
    expect(direct.decorator).toEqual({ operation: 'reviews:9080/*' });
  });

  it('consistent hash on the destination → hashPolicy, and retries without previous-hosts', () => {
    const dr = destinationRule('reviews', { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] });
    const { route } = compileRule({ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }, [dr]);
    expect(route.route?.hashPolicy).toEqual([{ header: { headerName: 'x-user' } }]);
    expect(route.route?.retryPolicy?.retryHostPredicate).toBeUndefined();
    expect(route.route?.retryPolicy?.numRetries).toBe(2);
  });
});

describe('compileMesh: delegation and competing VirtualServices', () => {
  it('merges a delegate one level deep: matches narrowed, names joined, root settings inherited', () => {
    const r = compile([
      SVC,
      SUBSETS,
      virtualService('root', {
        hosts: ['reviews'],
        http: [{ name: 'api', match: [{ uri: { prefix: '/api' } }], timeout: '3s', delegate: { name: 'leaf', namespace: 'team' } }, { name: 'rest', route: [{ destination: { host: 'reviews' } }] }],
      }),
      virtualService('leaf', { http: [{ name: 'v2', match: [{ uri: { prefix: '/api/v2' } }], route: [{ destination: { host: 'reviews.default.svc.cluster.local', subset: 'v2' } }] }, { name: 'conflict', match: [{ uri: { prefix: '/other' } }], route: [{ destination: { host: 'reviews.default.svc.cluster.local' } }] }] }, { namespace: 'team', line: 50 }),
    ]);
    const rs = routes(r, RC);
    expect(rs.map((x) => [x.name, x.match.prefix, x.route?.cluster, x.route?.timeout])).toEqual([
      ['api-v2', '/api/v2', `outbound|9080|v2|${HOST}`, '3s'],
      ['rest', '/', RC, '0s'],
    ]);
    expect(rs[0]?.metadata?.filterMetadata?.['meshlet']).toEqual({ virtualService: 'default/root', rule: 0, match: 0, delegate: { virtualService: 'team/leaf', rule: 0 } });
    expect(rs[0]?.metadata?.filterMetadata?.['istio']).toEqual({ config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/root' });
    expect(r.problems.map((p) => `${p.name} ${p.line} ${p.field}`)).toEqual(['leaf 54 spec.http[1].match']);
  });

  it('skips a rule whose delegate is missing, has hosts, or is not exported to the root namespace', () => {
    const objects = [
      SVC,
      virtualService('root', { hosts: ['reviews'], http: [{ delegate: { name: 'nope' } }, { delegate: { name: 'private', namespace: 'team' } }, { delegate: { name: 'root' } }, { name: 'rest', route: [{ destination: { host: 'reviews' } }] }] }),
      virtualService('private', { exportTo: ['.'], http: [{ route: [{ destination: { host: 'reviews.default.svc.cluster.local' } }] }] }, { namespace: 'team' }),
    ];
    const r = compile(objects);
    expect(routes(r, RC).map((x) => x.name)).toEqual(['rest']);
    expect(messages(r)).toEqual([]);
    expect(findings(objects).filter((f) => f.startsWith('[IST0101]'))).toEqual([
      expect.stringMatching(/^\[IST0101\] VirtualService default\/root spec.http\[0\].delegate: Referenced delegate VirtualService not found: "default\/nope"; this rule is skipped/),
      expect.stringMatching(/^\[IST0101\] VirtualService default\/root spec.http\[1\].delegate: Referenced delegate VirtualService not found: "team\/private" is not exported to namespace default/),
      expect.stringMatching(/^\[IST0101\] VirtualService default\/root spec.http\[2\].delegate: Referenced delegate VirtualService not found: "default\/root" has hosts/),
    ]);
  });

  it('the oldest VirtualService for a host wins; the analyzers report the conflict (IST0109)', () => {
    const objs = [
      SVC,
      virtualService('newer', { hosts: ['reviews'], http: [{ name: 'newer', route: [{ destination: { host: 'reviews' } }] }] }, { creationTimestamp: '2025-06-01T00:00:00Z', line: 40 }),
      virtualService('older', { hosts: ['reviews.default.svc.cluster.local'], http: [{ name: 'older', route: [{ destination: { host: 'reviews' } }] }] }, { creationTimestamp: '2024-06-01T00:00:00Z' }),
    ];
    const r = compile(objs);
    expect(routes(r, RC).map((x) => x.name)).toEqual(['older']);
    expect(r.problems).toEqual([]);
    expect(analyzeMesh(objs).map((p) => `${p.code} ${p.severity} ${p.name} ${p.line} ${p.field}`)).toEqual([
      'IST0109 error newer 43 spec.hosts[0]',
      'IST0109 error older 4 spec.hosts[0]',
    ]);
  });

  it('an exact host beats a wildcard host; the most specific wildcard wins otherwise', () => {
    const r = compile([
      serviceEntry('svc', { hosts: ['a.foo.com', 'b.bar.foo.com', 'foo.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] }),
      virtualService('wide', { hosts: ['*.foo.com'], http: [{ name: 'wide', route: [{ destination: { host: 'a.foo.com' } }] }] }, { creationTimestamp: '2024-01-01T00:00:00Z' }),
      virtualService('narrow', { hosts: ['*.bar.foo.com'], http: [{ name: 'narrow', route: [{ destination: { host: 'a.foo.com' } }] }] }, { creationTimestamp: '2024-02-01T00:00:00Z' }),
      virtualService('exact', { hosts: ['a.foo.com'], http: [{ name: 'exact', route: [{ destination: { host: 'a.foo.com' } }] }] }, { creationTimestamp: '2024-03-01T00:00:00Z' }),
    ]);
    expect(routes(r, 'outbound|80||a.foo.com').map((x) => x.name)).toEqual(['exact']);
    expect(routes(r, 'outbound|80||b.bar.foo.com').map((x) => x.name)).toEqual(['narrow']);
    // `*.foo.com` does not cover foo.com itself.
    expect(routes(r, 'outbound|80||foo.com').map((x) => x.name)).toEqual(['default']);
  });

  it('honours VirtualService exportTo', () => {
    const objs = [SVC, virtualService('mine', { hosts: ['reviews'], exportTo: ['.'], http: [{ name: 'mine', route: [{ destination: { host: 'reviews' } }] }] })];
    expect(routes(compile(objs, client('default')), RC).map((x) => x.name)).toEqual(['mine']);
    expect(routes(compile(objs, client('other')), RC).map((x) => x.name)).toEqual(['default']);
  });

  it('a host no service declares routes nothing; the analyzers say so for the host and the destination', () => {
    const objects = [virtualService('ghost', { hosts: ['ghost.example.com'], http: [{ route: [{ destination: { host: 'ghost.example.com' } }] }] })];
    expect(messages(compile(objects))).toEqual([]);
    expect(findings(objects)).toEqual([
      expect.stringMatching(/^\[IST0101\] VirtualService default\/ghost spec.http\[0\].route\[0\].destination.host: Referenced host not found: "ghost.example.com"/),
      expect.stringMatching(/^\[MSH0001\] VirtualService default\/ghost spec.hosts\[0\]: host ghost.example.com has no service \(no Service or ServiceEntry declares it\), so these rules route nothing/),
    ]);
  });

  it('a host hidden from the client by exportTo is the compiler\'s to report, per client', () => {
    const objects = [
      serviceEntry('hidden', { hosts: ['hidden.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.9' }], exportTo: ['.'] }, { namespace: 'owner' }),
      virtualService('hidden', { hosts: ['hidden.example.com'], http: [{ route: [{ destination: { host: 'hidden.example.com' } }] }] }, { namespace: 'owner' }),
    ];
    expect(messages(compile(objects, client('owner')))).toEqual([]);
    // Seen from namespace default, the VirtualService applies (exported everywhere) but its service is hidden.
    expect(messages(compile(objects, client('default')))).toEqual([
      'VirtualService owner/hidden spec.hosts[0]: host hidden.example.com has no service for namespace default: the Service or ServiceEntry declaring it is not exported there, so these rules route nothing for this client',
    ]);
    expect(findings(objects)).toEqual([]);
  });
});
