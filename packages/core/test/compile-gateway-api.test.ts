// Gateway API routes for the mesh (GAMMA): loaded and validated as the CRDs say, converted to
// VirtualServices as istiod converts them (pilot/pkg/config/kube/gateway, testdata/mesh.yaml),
// then compiled like any VirtualService.

import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { formatProblem } from '../src/config-error.ts';
import { compileMesh } from '../src/istio/compile/compile-mesh.ts';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { convertGatewayRoutes, gatewayRuleSource } from '../src/istio/compile/routes/compile-gateway-api.ts';
import { Problems, type ClientIdentity } from '../src/istio/compile/common/compile-context.ts';
import type { GatewayRoute } from '../src/istio/gateway-api-types.ts';
import type { MeshObject, ServiceEntry, VirtualService } from '../src/istio/types.ts';
import type { Route } from '../src/xds/resources.ts';

const client = (namespace = 'default'): ClientIdentity => ({ namespace, labels: {}, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' });

function load(yaml: string): MeshObject[] {
  const r = parseConfigText(yaml, 'routes.yaml');
  const errors = r.problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new Error(errors.map(formatProblem).join('\n'));
  return r.objects;
}

function problemsOf(yaml: string): string[] {
  return parseConfigText(yaml, 'routes.yaml').problems.filter((p) => p.severity === 'error').map(formatProblem);
}

function convert(yaml: string, who = client()): { vss: VirtualService[]; problems: string[] } {
  const objects = load(yaml);
  const ctx = { client: who, problems: new Problems() };
  const routes = objects.filter((o): o is GatewayRoute => o.kind === 'HTTPRoute' || o.kind === 'GRPCRoute');
  const ses = objects.filter((o): o is ServiceEntry => o.kind === 'ServiceEntry');
  const vss = convertGatewayRoutes(ctx, routes, ses);
  return { vss, problems: ctx.problems.list.map(formatProblem) };
}

const route = (name: string, spec: string, ns = 'default', kind = 'HTTPRoute') =>
  `---\napiVersion: gateway.networking.k8s.io/v1\nkind: ${kind}\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${spec}\n`;
const service = (name: string, ns = 'default', ports = [80]) =>
  `---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n  hosts: [${name}.${ns}.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [${ports.map((p) => `{ number: ${p}, name: http-${p}, protocol: HTTP }`).join(', ')}]\n  endpoints: [{ address: 10.0.0.1 }]\n`;

describe('GAMMA conversion: istiod testdata/mesh.yaml', () => {
  const yaml =
    route('echo', '  parentRefs: [{ group: "", kind: Service, name: echo }]\n  rules:\n  - backendRefs: [{ name: echo, port: 80 }]') +
    route('header', '  parentRefs: [{ group: "", kind: Service, name: echo }]\n  rules:\n  - matches: [{ path: { type: PathPrefix, value: /path } }]\n    filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier: { add: [{ name: my-added-header, value: added-value }] }\n    backendRefs: [{ name: echo, port: 80 }]') +
    route('echo-port', '  parentRefs: [{ group: "", kind: Service, name: echo-port, port: 80 }]\n  rules:\n  - backendRefs: [{ name: echo, port: 80 }]') +
    route('multi-service', '  parentRefs:\n  - { group: "", kind: Service, name: echo-1, port: 80 }\n  - { group: "", kind: Service, name: echo-1, port: 8080 }\n  - { group: "", kind: Service, name: echo-2 }\n  rules:\n  - backendRefs: [{ name: echo, port: 80 }]') +
    route('dual', '  parentRefs:\n  - { group: "", kind: Service, name: example }\n  - { name: gateway, namespace: istio-system }\n  hostnames: [foo.example.com]\n  rules:\n  - backendRefs: [{ name: example, port: 80 }]');

  it('merges routes per namespace, port and host into VirtualServices named as istiod names them', () => {
    const { vss, problems } = convert(yaml);
    expect(problems).toEqual([]);
    const byName = new Map(vss.map((v) => [v.metadata.name, v]));
    expect([...byName.keys()].sort()).toEqual([
      'default~8080~echo-1.default.svc.cluster.local',
      'default~80~echo-1.default.svc.cluster.local',
      'default~80~echo-port.default.svc.cluster.local',
      'default~echo-2.default.svc.cluster.local',
      'default~echo.default.svc.cluster.local',
      'default~example.default.svc.cluster.local',
    ]);
    const echo = byName.get('default~echo.default.svc.cluster.local')!;
    expect(echo.metadata.annotations).toEqual({ 'internal.istio.io/route-semantics': 'gateway', 'internal.istio.io/parents': 'HTTPRoute/echo.default,HTTPRoute/header.default' });
    expect(echo.spec).toEqual({
      hosts: ['echo.default.svc.cluster.local'],
      gateways: ['mesh'],
      exportTo: ['.'],
      http: [
        {
          name: 'default.header.0',
          match: [{ uri: { prefix: '/path' } }],
          headers: { request: { add: { 'my-added-header': 'added-value' } } },
          route: [{ destination: { host: 'echo.default.svc.cluster.local', port: { number: 80 } } }],
        },
        { name: 'default.echo.0', route: [{ destination: { host: 'echo.default.svc.cluster.local', port: { number: 80 } } }] },
      ],
    });
    expect(byName.get('default~8080~echo-1.default.svc.cluster.local')!.spec.http).toEqual([
      { name: 'default.multi-service.0', match: [{ port: 8080 }], route: [{ destination: { host: 'echo.default.svc.cluster.local', port: { number: 80 } } }] },
    ]);
    // Hostnames do not apply to mesh parents; the Gateway parent is not for a client.
    expect(byName.get('default~example.default.svc.cluster.local')!.spec.hosts).toEqual(['example.default.svc.cluster.local']);
    // Each rule remembers the route it was written in.
    expect(gatewayRuleSource(echo, 0)).toMatchObject({ obj: { metadata: { name: 'header' } }, path: ['spec', 'rules', 0] });
  });
});

describe('GAMMA conversion: each field', () => {
  const one = (spec: string, extra = '') => {
    const { vss, problems } = convert(route('r', `  parentRefs: [{ kind: Service, group: "", name: svc }]\n${spec}`) + extra);
    return { http: vss[0]?.spec.http ?? [], problems, vss };
  };

  it('matches: path types, trailing slash, headers, query parameters, method; one http route per match', () => {
    const { http } = one(`  rules:
  - matches:
    - path: { type: Exact, value: /exact }
    - path: { type: PathPrefix, value: /pre/ }
      headers: [{ name: X-Env, value: canary }, { type: RegularExpression, name: x-id, value: "[0-9]+" }]
      queryParams: [{ name: debug, value: "1" }]
      method: POST
    - path: { type: RegularExpression, value: "/r/[a-z]+" }
    - headers: [{ name: only, value: header }]
    backendRefs: [{ name: svc, port: 80 }]`);
    expect(http.map((h) => h.match)).toEqual([
      [{ uri: { exact: '/exact' } }],
      [{ uri: { prefix: '/pre' }, headers: { 'X-Env': { exact: 'canary' }, 'x-id': { regex: '[0-9]+' } }, queryParams: { debug: { exact: '1' } }, method: { exact: 'POST' } }],
      // A match with only headers still has the default PathPrefix "/", which ranks above a regex.
      [{ uri: { prefix: '/' }, headers: { only: { exact: 'header' } } }],
      [{ uri: { regex: '/r/[a-z]+' } }],
    ]);
    expect(new Set(http.map((h) => h.name))).toEqual(new Set(['default.r.0']));
  });

  it('sorts rules by Gateway API precedence across rules and routes', () => {
    const { http } = one(`  rules:
  - matches: [{ path: { value: /a } }]
    backendRefs: [{ name: svc, port: 80 }]
  - matches: [{ path: { type: RegularExpression, value: /zzzzzz.* } }]
    backendRefs: [{ name: svc, port: 80 }]
  - matches: [{ path: { value: /a/longer } }]
    backendRefs: [{ name: svc, port: 80 }]
  - matches: [{ path: { value: /a }, method: GET }]
    backendRefs: [{ name: svc, port: 80 }]
  - matches: [{ path: { value: /a }, method: GET, headers: [{ name: h, value: v }] }]
    backendRefs: [{ name: svc, port: 80 }]
  - backendRefs: [{ name: svc, port: 80 }]
  - matches: [{ path: { type: Exact, value: /a } }]
    backendRefs: [{ name: svc, port: 80 }]`);
    expect(http.map((h) => h.name)).toEqual(['default.r.6', 'default.r.2', 'default.r.4', 'default.r.3', 'default.r.0', 'default.r.1', 'default.r.5']);
  });

  it('backendRefs: weight defaults to 1, weight 0 is dropped, a single backend has no weight, none left is a 500', () => {
    const { http } = one(`  rules:
  - matches: [{ path: { value: /split } }]
    backendRefs: [{ name: a, port: 80 }, { name: b, port: 80, weight: 3 }, { name: c, port: 80, weight: 0 }]
  - matches: [{ path: { value: /single } }]
    backendRefs: [{ name: a, port: 80, weight: 5 }, { name: b, port: 80, weight: 0 }]
  - matches: [{ path: { value: /none } }]
    backendRefs: [{ name: a, port: 80, weight: 0 }]
  - matches: [{ path: { value: /empty } }]
  - matches: [{ path: { value: /se } }]
    backendRefs: [{ group: networking.istio.io, kind: Hostname, name: api.example.com, port: 443 }]`);
    const by = new Map(http.map((h) => [h.match![0]!.uri!.prefix, h]));
    expect(by.get('/split')!.route).toEqual([
      { destination: { host: 'a.default.svc.cluster.local', port: { number: 80 } }, weight: 1 },
      { destination: { host: 'b.default.svc.cluster.local', port: { number: 80 } }, weight: 3 },
    ]);
    expect(by.get('/single')!.route).toEqual([{ destination: { host: 'a.default.svc.cluster.local', port: { number: 80 } } }]);
    expect(by.get('/none')!.directResponse).toEqual({ status: 500 });
    expect(by.get('/empty')!.directResponse).toEqual({ status: 500 });
    expect(by.get('/se')!.route).toEqual([{ destination: { host: 'api.example.com', port: { number: 443 } } }]);
  });

  it('filters: header modifiers on rules and backends, URL rewrites, redirects, mirrors', () => {
    const { http } = one(`  rules:
  - matches: [{ path: { value: /h } }]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: X-Set, value: s }], add: [{ name: X-Add, value: a }], remove: [x-gone] }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { add: [{ name: X-Resp, value: r }] }
    - type: RequestMirror
      requestMirror: { backendRef: { name: shadow, port: 80 }, percent: 25 }
    - type: RequestMirror
      requestMirror: { backendRef: { name: shadow2, port: 80 }, fraction: { numerator: 1, denominator: 8 } }
    backendRefs:
    - name: a
      port: 80
      filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-backend, value: a }] } }]
  - matches: [{ path: { value: /old/ } }]
    filters: [{ type: URLRewrite, urlRewrite: { hostname: new.example.com, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new/ } } }]
    backendRefs: [{ name: a, port: 80 }]
  - matches: [{ path: { value: /strip } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
    backendRefs: [{ name: a, port: 80 }]
  - matches: [{ path: { value: /full } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /fixed } } }]
    backendRefs: [{ name: a, port: 80 }]
  - matches: [{ path: { value: /moved } }]
    filters: [{ type: RequestRedirect, requestRedirect: { hostname: other.example.com, path: { type: ReplacePrefixMatch, replacePrefixMatch: /now } } }]
  - matches: [{ path: { value: /secure } }]
    filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, statusCode: 301, path: { type: ReplaceFullPath, replaceFullPath: /login } } }]
  - matches: [{ path: { value: /port } }]
    filters: [{ type: RequestRedirect, requestRedirect: { port: 8443 } }]`);
    const by = new Map(http.map((h) => [h.match![0]!.uri!.prefix, h]));
    const h = by.get('/h')!;
    expect(h.headers).toEqual({ request: { set: { 'x-set': 's' }, add: { 'x-add': 'a' }, remove: ['x-gone'] }, response: { add: { 'x-resp': 'r' } } });
    expect(h.mirrors).toEqual([
      { destination: { host: 'shadow.default.svc.cluster.local', port: { number: 80 } }, percentage: { value: 25 } },
      { destination: { host: 'shadow2.default.svc.cluster.local', port: { number: 80 } }, percentage: { value: 12.5 } },
    ]);
    expect(h.route![0]!.headers).toEqual({ request: { set: { 'x-backend': 'a' } } });
    expect(by.get('/old')!.rewrite).toEqual({ uri: '/new', authority: 'new.example.com' });
    expect(by.get('/strip')!.rewrite).toEqual({ uri: '/' });
    expect(by.get('/full')!.rewrite).toEqual({ uriRegexRewrite: { match: '/.*', rewrite: '/fixed' } });
    expect(by.get('/moved')!.redirect).toEqual({ redirectCode: 302, authority: 'other.example.com', derivePort: 'FROM_REQUEST_PORT', prefixRewrite: '/now' });
    expect(by.get('/moved')!.route).toBeUndefined();
    expect(by.get('/secure')!.redirect).toEqual({ redirectCode: 301, scheme: 'https', derivePort: 'FROM_PROTOCOL_DEFAULT', uri: '/login' });
    expect(by.get('/port')!.redirect).toEqual({ redirectCode: 302, port: 8443 });
  });

  it('timeouts and retry as istiod converts them', () => {
    const { http } = one(`  rules:
  - matches: [{ path: { value: /t } }]
    timeouts: { request: 10s }
    backendRefs: [{ name: a, port: 80 }]
  - matches: [{ path: { value: /tb } }]
    timeouts: { request: 10s, backendRequest: 2s }
    backendRefs: [{ name: a, port: 80 }]
  - matches: [{ path: { value: /r } }]
    timeouts: { request: 10s, backendRequest: 2s }
    retry: { codes: [503, 429], backoff: 100ms }
    backendRefs: [{ name: a, port: 80 }]
  - matches: [{ path: { value: /r0 } }]
    retry: { attempts: 0 }
    timeouts: { request: 0s }
    backendRefs: [{ name: a, port: 80 }]`);
    const by = new Map(http.map((h) => [h.match![0]!.uri!.prefix, h]));
    expect(by.get('/t')!.timeout).toBe('10s');
    expect(by.get('/tb')!.timeout).toBe('2s'); // no retry: backendRequest replaces the route timeout
    expect(by.get('/r')!.timeout).toBe('10s');
    expect(by.get('/r')!.retries).toEqual({ attempts: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,503,429', backoff: '100ms', perTryTimeout: '2s' });
    expect(by.get('/r0')!.retries).toEqual({ attempts: 0 });
    expect(by.get('/r0')!.timeout).toBeUndefined();
  });

  it('GRPCRoute: service and method matches become path matches', () => {
    const { vss } = convert(route('g', `  parentRefs: [{ kind: Service, group: "", name: svc }]
  rules:
  - matches:
    - method: { service: helloworld.Greeter, method: SayHello }
    - method: { service: helloworld.Greeter }
    - method: { method: SayBye }
    - method: { type: RegularExpression, service: "helloworld\\\\..*" }
      headers: [{ name: x-tenant, value: a }]
    backendRefs: [{ name: svc, port: 50051 }]
  - filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { add: [{ name: x-grpc, value: "1" }] } }]
    backendRefs: [{ name: svc, port: 50051 }]`, 'default', 'GRPCRoute'));
    const http = vss[0]!.spec.http!;
    expect(http.map((h) => h.match)).toEqual([
      [{ uri: { exact: '/helloworld.Greeter/SayHello' } }],
      [{ uri: { prefix: '/helloworld.Greeter/' } }],
      [{ uri: { regex: '/helloworld\\..*/.+' }, headers: { 'x-tenant': { exact: 'a' } } }],
      [{ uri: { regex: '/[^/]+/SayBye' } }],
      undefined,
    ]);
    expect(http[4]!.headers).toEqual({ request: { add: { 'x-grpc': '1' } } });
  });

  it('consumer routes come first, producer routes apply to everyone, other namespaces\' routes to no one', () => {
    const yaml =
      route('producer', '  parentRefs: [{ kind: Service, group: "", name: svc }]\n  rules:\n  - backendRefs: [{ name: svc, port: 80 }]', 'prod') +
      route('consumer', '  parentRefs: [{ kind: Service, group: "", name: svc, namespace: prod }]\n  rules:\n  - backendRefs: [{ name: svc-canary, namespace: prod, port: 80 }]', 'default') +
      route('bystander', '  parentRefs: [{ kind: Service, group: "", name: svc, namespace: prod }]\n  rules:\n  - backendRefs: [{ name: other, namespace: prod, port: 80 }]', 'elsewhere');
    const { vss } = convert(yaml);
    expect(vss.map((v) => [v.metadata.name, v.spec.exportTo])).toEqual([
      ['default~svc.prod.svc.cluster.local', ['.']],
      ['prod~svc.prod.svc.cluster.local', undefined],
    ]);
    const compiled = compileMesh([...load(yaml), ...load(service('svc', 'prod') + service('svc-canary', 'prod'))], client());
    const rs = compiled.resources.routeConfigs.get('outbound|80||svc.prod.svc.cluster.local')!.virtualHosts![0]!.routes!;
    expect(rs[0]!.route!.cluster).toBe('outbound|80||svc-canary.prod.svc.cluster.local');
    // From the service's own namespace the producer route applies.
    const producer = compileMesh([...load(yaml), ...load(service('svc', 'prod'))], client('prod'));
    expect(producer.resources.routeConfigs.get('outbound|80||svc.prod.svc.cluster.local')!.virtualHosts![0]!.routes![0]!.route!.cluster).toBe('outbound|80||svc.prod.svc.cluster.local');
  });

  it('ServiceEntry parents route every host of the entry', () => {
    const { vss } = convert(
      '---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ext, namespace: default }\nspec:\n  hosts: [a.example.com, b.example.com]\n  resolution: DNS\n  ports: [{ number: 80, name: http, protocol: HTTP }]\n' +
        route('r', '  parentRefs: [{ group: networking.istio.io, kind: ServiceEntry, name: ext }]\n  rules:\n  - backendRefs: [{ group: networking.istio.io, kind: Hostname, name: a.example.com, port: 80 }]'),
    );
    expect(vss.map((v) => v.spec.hosts)).toEqual([['a.example.com'], ['b.example.com']]);
  });

  it('reports what istiod refuses at the route\'s own line, and skips only what it must', () => {
    const { vss, problems } = convert(
      route('gw-only', '  parentRefs: [{ name: gateway, namespace: istio-system }]\n  rules:\n  - backendRefs: [{ name: a, port: 80 }]') +
        route('dotted', '  parentRefs: [{ kind: Service, group: "", name: svc }]\n  rules:\n  - backendRefs: [{ name: a.default, port: 80 }]') +
        route('odd-kind', '  parentRefs: [{ kind: Service, group: "", name: svc2 }]\n  rules:\n  - backendRefs: [{ group: example.com, kind: Bucket, name: b, port: 80 }]'),
    );
    expect(problems).toEqual([
      'routes.yaml:16: HTTPRoute default/dotted: spec.rules[0].backendRefs[0].name: warning: service name invalid; the name of the Service must be used, not the hostname; istiod does not program this HTTPRoute, and neither does Meshlet',
      'routes.yaml:6: HTTPRoute default/gw-only: spec.parentRefs: warning: no parentRef names a Service or ServiceEntry, so this route does not apply to mesh clients (Gateway parents are for gateways)',
      'routes.yaml:24: HTTPRoute default/odd-kind: spec.rules[0].backendRefs[0]: warning: referencing unsupported backendRef: group "example.com" kind "Bucket" (use a Service, or kind Hostname of group networking.istio.io for a ServiceEntry host); requests to it fail',
    ]);
    expect(vss.map((v) => v.metadata.name)).toEqual(['default~svc2.default.svc.cluster.local']);
  });
});

describe('GAMMA compiled to Envoy routes (gateway semantics)', () => {
  const yaml =
    service('svc') + service('a') + service('b') +
    route('r', `  parentRefs: [{ kind: Service, group: "", name: svc }]
  rules:
  - matches: [{ path: { value: /api/ } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
    backendRefs: [{ name: a, port: 80, weight: 3 }, { name: b, port: 80 }]
  - matches: [{ path: { value: /v1 } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } } }]
    backendRefs: [{ name: a, port: 80 }]
  - matches: [{ path: { value: /missing } }]
    backendRefs: [{ name: nowhere, port: 80 }]`);

  it('PathPrefix is a path-separated prefix, "/" rewrites strip it, weights carry over', () => {
    const r = compileMesh(load(yaml), client());
    const all: Route[] = r.resources.routeConfigs.get('outbound|80||svc.default.svc.cluster.local')!.virtualHosts![0]!.routes!;
    // Longest prefix first: /missing, /api, /v1.
    expect(all.map((x) => x.match.pathSeparatedPrefix)).toEqual(['/missing', '/api', '/v1']);
    const rs = all.slice(1);
    expect(rs[0]!.match).toEqual({ pathSeparatedPrefix: '/api', caseSensitive: true });
    expect(rs[0]!.route!.regexRewrite).toEqual({ pattern: { regex: '^/api(/?)(.*)' }, substitution: '/\\2' });
    expect(rs[0]!.route!.weightedClusters!.clusters.map((c) => [c.name, c.weight])).toEqual([
      ['outbound|80||a.default.svc.cluster.local', 3],
      ['outbound|80||b.default.svc.cluster.local', 1],
    ]);
    expect(rs[0]!.metadata!.filterMetadata!['istio']).toEqual({ config: '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproute/r' });
    expect(rs[1]!.match).toEqual({ pathSeparatedPrefix: '/v1', caseSensitive: true });
    expect(rs[1]!.route!.prefixRewrite).toBe('/v2');
    // A backend with no service is reported at the HTTPRoute's backendRef, by file and line.
    expect(analyzeMesh(load(yaml)).map(formatProblem)).toEqual([
      expect.stringMatching(/^routes.yaml:\d+: HTTPRoute default\/r: spec.rules\[2\].backendRefs\[0\].name: Referenced backend not found: "nowhere.default.svc.cluster.local" \(no Service or ServiceEntry declares it\); requests sent to it fail \[IST0101\]$/),
    ]);
  });
});

describe('GAMMA problems name the route', () => {
  it('a second catch-all rule is reported unreachable in the route\'s own terms', () => {
    const yaml = service('svc') + route('r', '  parentRefs: [{ kind: Service, group: "", name: svc }]\n  rules:\n  - backendRefs: [{ name: svc, port: 80 }]\n  - backendRefs: [{ name: svc, port: 80 }]');
    const problems = compileMesh(load(yaml), client()).problems.map(formatProblem);
    expect(problems).toContain('routes.yaml:19: HTTPRoute default/r: spec.rules[1]: warning: never used: the earlier rule HTTPRoute default/r spec.rules[0] matches every request on port 80');
  });
});

describe('Gateway API validation (the CRD schema and CEL rules)', () => {
  const r = (spec: string, kind = 'HTTPRoute', version = 'v1') =>
    `apiVersion: gateway.networking.k8s.io/${version}\nkind: ${kind}\nmetadata: { name: r, namespace: default }\nspec:\n${spec}\n`;
  const parent = '  parentRefs: [{ kind: Service, group: "", name: svc }]\n';

  it('accepts a full valid HTTPRoute and GRPCRoute', () => {
    expect(problemsOf(r(`${parent}  hostnames: [svc.example.com, "*.example.com"]
  rules:
  - name: main
    matches: [{ path: { type: PathPrefix, value: /a }, headers: [{ name: x, value: y }], queryParams: [{ name: q, value: v }], method: GET }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } } }]
    backendRefs: [{ name: svc, port: 80, weight: 10 }]
    timeouts: { request: 10s, backendRequest: 1s }
    retry: { attempts: 3, codes: [503], backoff: 1m30s }`))).toEqual([]);
    expect(problemsOf(r(`${parent}  rules:\n  - matches: [{ method: { service: a.B, method: C } }]\n    backendRefs: [{ name: svc, port: 80 }]`, 'GRPCRoute'))).toEqual([]);
    expect(problemsOf(r(`${parent}  rules: []`, 'HTTPRoute', 'v1beta1'))).toEqual([]);
  });

  const invalid: [string, string, RegExp, string?][] = [
    ['Service backend without a port', `${parent}  rules:\n  - backendRefs: [{ name: svc }]`, /backendRefs\[0\]\.port: port is required/],
    ['relative path', `${parent}  rules:\n  - matches: [{ path: { value: api } }]`, /must be an absolute path/],
    ['path with //', `${parent}  rules:\n  - matches: [{ path: { type: Exact, value: /a//b } }]`, /must not contain/],
    ['bad path regex', `${parent}  rules:\n  - matches: [{ path: { type: RegularExpression, value: "(" } }]`, /invalid regular expression/],
    ['unknown path type', `${parent}  rules:\n  - matches: [{ path: { type: Suffix, value: /a } }]`, /path\.type/],
    ['unknown method', `${parent}  rules:\n  - matches: [{ method: FETCH }]`, /method/],
    ['duplicate header match', `${parent}  rules:\n  - matches: [{ headers: [{ name: X, value: a }, { name: x, value: b }] }]`, /matched twice/],
    ['bad header name', `${parent}  rules:\n  - matches: [{ headers: [{ name: "a b", value: a }] }]`, /must be a token/],
    ['filter field for another type', `${parent}  rules:\n  - filters: [{ type: RequestHeaderModifier, responseHeaderModifier: { add: [{ name: a, value: b }] } }]`, /requestHeaderModifier must be set/],
    ['redirect and rewrite together', `${parent}  rules:\n  - filters:\n    - { type: RequestRedirect, requestRedirect: { hostname: a.com } }\n    - { type: URLRewrite, urlRewrite: { hostname: b.com } }`, /cannot both be used/],
    ['two header modifiers', `${parent}  rules:\n  - filters:\n    - { type: RequestHeaderModifier, requestHeaderModifier: { remove: [a] } }\n    - { type: RequestHeaderModifier, requestHeaderModifier: { remove: [b] } }`, /at most once/],
    ['prefix replacement on an exact match', `${parent}  rules:\n  - matches: [{ path: { type: Exact, value: /a } }]\n    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } } }]`, /exactly one match, with a PathPrefix/],
    ['full path without replaceFullPath', `${parent}  rules:\n  - filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replacePrefixMatch: /b } } }]`, /replaceFullPath must be set/],
    ['redirect status 307', `${parent}  rules:\n  - filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 307 } }]`, /statusCode/],
    ['mirror percent and fraction', `${parent}  rules:\n  - filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: m, port: 80 }, percent: 5, fraction: { numerator: 1 } } }]`, /only one of percent or fraction/],
    ['fraction above 1', `${parent}  rules:\n  - filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: m, port: 80 }, fraction: { numerator: 3, denominator: 2 } } }]`, /numerator must be less than or equal/],
    ['backendRequest longer than request', `${parent}  rules:\n  - timeouts: { request: 1s, backendRequest: 2s }`, /cannot be longer than request/],
    ['bad duration', `${parent}  rules:\n  - timeouts: { request: 1.5s }`, /must match/],
    ['retry code out of range', `${parent}  rules:\n  - retry: { codes: [200] }`, /codes/],
    ['weight too large', `${parent}  rules:\n  - backendRefs: [{ name: svc, port: 80, weight: 1000001 }]`, /weight/],
    ['duplicate rule names', `${parent}  rules:\n  - name: a\n  - name: a`, /used twice/],
    ['bad hostname', `${parent}  hostnames: ["Foo.com"]`, /hostname "Foo.com"/],
    ['duplicate parentRefs', '  parentRefs: [{ kind: Service, group: "", name: svc }, { kind: Service, group: "", name: svc }]', /duplicate parentRef/],
    ['too many rules', `${parent}  rules: [${Array.from({ length: 17 }, () => '{}').join(', ')}]`, /rules/],
    ['missing spec', '', /spec is required/],
    ['GRPC match with neither service nor method', `${parent}  rules:\n  - matches: [{ method: { type: Exact } }]`, /one or both of service and method/, 'GRPCRoute'],
    ['GRPC bad service name', `${parent}  rules:\n  - matches: [{ method: { service: "a/b" } }]`, /fully qualified protobuf service/, 'GRPCRoute'],
    ['GRPC redirect filter', `${parent}  rules:\n  - filters: [{ type: RequestRedirect, requestRedirect: {} }]`, /type/, 'GRPCRoute'],
  ];
  for (const [what, spec, want, kind] of invalid) {
    it(`rejects: ${what}`, () => {
      const errors = problemsOf(r(spec, kind ?? 'HTTPRoute'));
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.join('\n')).toMatch(want);
    });
  }

  it('accepts any filter on a backendRef, as the CRD does; the conversion refuses what Istio refuses', () => {
    const yaml = r(`${parent}  rules:\n  - backendRefs: [{ name: svc, port: 80, filters: [{ type: RequestRedirect, requestRedirect: { hostname: x.com } }] }]`);
    expect(problemsOf(yaml)).toEqual([]);
    const { vss, problems } = convert(yaml);
    expect(vss).toEqual([]);
    expect(problems.join('\n')).toMatch(/backendRefs\[0\]\.filters\[0\]\.type: warning: unsupported backendRef filter type "RequestRedirect"/);
  });

  it('rejects an API version the CRD does not serve', () => {
    expect(problemsOf(r(`${parent}`, 'HTTPRoute', 'v1alpha1')).join('\n')).toMatch(/apiVersion gateway.networking.k8s.io\/v1alpha1 is not served for HTTPRoute/);
  });
});
