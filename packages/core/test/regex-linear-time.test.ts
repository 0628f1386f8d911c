// ReDoS: every regex from configuration or a control plane runs on RE2 (regex/re2.ts), whose
// matching time is linear in the input. One test per family of regex the mesh evaluates per
// request, each through the real pipeline (YAML → compiler → translator → router, or an xDS
// resource → translator → router / RBAC), against patterns that make a backtracking engine
// run for minutes (JavaScript's RegExp takes seconds on `/(a+)+` at 25 characters and never
// finishes at 20,000; docs/hostile-input.md has the figures). Every call is synchronous, so its
// duration is how long it holds the event loop: the bound is generous for a loaded CI machine
// and still thousands of times below what backtracking costs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh, Mesh, resolveIdentity, silentLogger } from '../src/index.ts';
import { requestView, type RequestView } from '../src/router/request-view.ts';
import { rewritePath } from '../src/router/rewrite.ts';
import { evaluateRbac, translateRbacFilter } from '../src/security/rbac.ts';
import { compileRe2 } from '../src/regex/re2.ts';
import type { Decision } from '../src/router/decide.ts';
import type { XdsResources } from '../src/xds/resources.ts';

/** Longest a single match may hold the event loop. */
const BOUND_MS = 50;
const LENGTHS = [30, 20_000];
const attack = (n: number, lead = '/') => lead + 'a'.repeat(n - lead.length - 1) + '!';

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t };
}

/** Runs `fn` on inputs of each length (after one warm-up, so JIT compilation is not counted). */
function expectLinear(fn: (input: string) => unknown, lead = '/'): void {
  fn(attack(40, lead));
  for (const n of LENGTHS) {
    const input = attack(n, lead);
    expect(input.length).toBe(n);
    const { ms } = timed(() => fn(input));
    expect(ms, `${n} characters took ${ms.toFixed(1)} ms`).toBeLessThan(BOUND_MS);
  }
}

const YAML = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app, namespace: default }
spec:
  hosts: [app.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 10.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: app, namespace: default }
spec:
  hosts: [app.example]
  http:
  - name: uri
    match: [{ uri: { regex: "/(a+)+" } }]
    route: [{ destination: { host: app.example } }]
  - name: header
    match: [{ uri: { prefix: /h }, headers: { x-evil: { regex: "(a|aa)+$" } } }]
    route: [{ destination: { host: app.example } }]
  - name: query
    match: [{ uri: { prefix: /q }, queryParams: { q: { regex: "(.*a){20}" } } }]
    route: [{ destination: { host: app.example } }]
  - name: rewrite
    match: [{ uri: { prefix: /r } }]
    rewrite: { uriRegexRewrite: { match: "(a+)+b", rewrite: "/x" } }
    route: [{ destination: { host: app.example } }]
  - name: rest
    route: [{ destination: { host: app.example } }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: gw, namespace: default }
spec:
  parentRefs: [{ kind: ServiceEntry, group: networking.istio.io, name: gw }]
  rules:
  - matches: [{ path: { type: RegularExpression, value: "/(a|aa)+" } }]
    backendRefs: [{ kind: Hostname, group: networking.istio.io, name: gw.example, port: 80 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: gw, namespace: default }
spec:
  hosts: [gw.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 10.0.0.2 }]
`;

let dir: string;
let mesh: Mesh;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlet-redos-'));
  writeFileSync(join(dir, 'mesh.yaml'), YAML);
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, namespace: 'default' });
});

afterAll(async () => {
  await mesh?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}, host = 'app.example'): RequestView => requestView('GET', 'http', host, path, headers);
const routeName = (d: Decision) => (d.kind === 'forward' ? d.route.name : d.kind);

describe('regexes from config match in linear time (RE2)', () => {
  it('VirtualService uri regex: /(a+)+', () => {
    expect(routeName(mesh.decide(get('/aaa'), 'app.example', 80))).toBe('uri');
    expectLinear((p) => expect(routeName(mesh.decide(get(p), 'app.example', 80))).toBe('rest'));
  });

  it('VirtualService header regex: (a|aa)+$', () => {
    expect(routeName(mesh.decide(get('/h', { 'x-evil': 'aaaa' }), 'app.example', 80))).toBe('header');
    expectLinear((v) => expect(routeName(mesh.decide(get('/h', { 'x-evil': v }), 'app.example', 80))).toBe('rest'), 'a');
  });

  it('VirtualService queryParams regex: (.*a){20}', () => {
    expect(routeName(mesh.decide(get(`/q?q=${'a'.repeat(20)}`), 'app.example', 80))).toBe('query');
    expectLinear((v) => expect(routeName(mesh.decide(get(`/q?q=${v}`), 'app.example', 80))).toBe('rest'), 'b');
  });

  it('VirtualService uriRegexRewrite: (a+)+b', () => {
    const d = mesh.decide(get('/r'), 'app.example', 80);
    if (d.kind !== 'forward') throw new Error(`expected a forward decision, got ${d.kind}`);
    expect(rewritePath(d.action.rewrite, '/raab?z')).toBe('/r/x?z');
    // The 'b' up front keeps the search from being ruled out before the automaton runs.
    expectLinear((p) => expect(rewritePath(d.action.rewrite, `/rb${p}`)).toBe(`/rb${p}`));
  });

  it('Gateway API RegularExpression path match: /(a|aa)+', () => {
    expect(mesh.decide(get('/aaaa', {}, 'gw.example'), 'gw.example', 80).kind).toBe('forward');
    expectLinear((p) => expect(mesh.decide(get(p, {}, 'gw.example'), 'gw.example', 80).kind).toBe('error'));
  });

  it('xDS safe_regex in route, header and hash-policy rewrite', () => {
    const fromXds = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    const resources: XdsResources = {
      listeners: new Map([['x.example:80', { name: 'x.example:80', apiListener: { apiListener: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', rds: { routeConfigName: 'rc', configSource: { ads: {} } } } } }]]),
      routeConfigs: new Map([['rc', {
        name: 'rc',
        virtualHosts: [{
          name: 'vh', domains: ['*'],
          routes: [
            { match: { safeRegex: { regex: '/(a+)+' } }, route: { cluster: 'c' }, name: 'path' },
            { match: { prefix: '/', headers: [{ name: 'x-evil', stringMatch: { safeRegex: { regex: '(a|aa)+$' } } }] }, route: { cluster: 'c' }, name: 'header' },
            { match: { prefix: '/' }, route: { cluster: 'c', hashPolicy: [{ header: { headerName: 'x-key', regexRewrite: { pattern: { regex: '(a+)+b' }, substitution: 'k' } } }] }, name: 'rest' },
          ],
        }],
      }]]),
      clusters: new Map([['c', { name: 'c', type: 'EDS', edsClusterConfig: { edsConfig: { ads: {} } } }]]),
      endpoints: new Map([['c', { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.3', portValue: 80 } } } }] }] }]]),
    } as unknown as XdsResources;
    expect(fromXds.applyResources(resources, 'test')).toEqual([]);
    const at = (path: string, headers: Record<string, string> = {}) => fromXds.decide(requestView('GET', 'http', 'x.example', path, headers), 'x.example', 80);
    expect(routeName(at('/aa'))).toBe('path');
    expect(routeName(at('/z', { 'x-evil': 'aaa' }))).toBe('header');
    expectLinear((p) => expect(routeName(at(p))).toBe('rest'));
    expectLinear((v) => expect(routeName(at('/z', { 'x-evil': v }))).toBe('rest'), 'a');
    const rest = at('/z');
    if (rest.kind !== 'forward' || !rest.action.hash) throw new Error('expected the hashing route');
    const hash = rest.action.hash;
    expect(hash(requestView('GET', 'http', 'x.example', '/z', { 'x-key': 'aab' }), undefined).hash).toBe(hash(requestView('GET', 'http', 'x.example', '/z', { 'x-key': 'k' }), undefined).hash);
    expectLinear((v) => hash(requestView('GET', 'http', 'x.example', '/z', { 'x-key': v }), undefined), 'a');
    fromXds.close();
  });

  it('RBAC string matchers (path and header safe_regex)', () => {
    const filter = translateRbacFilter({
      rules: {
        action: 'DENY',
        policies: {
          evil: {
            permissions: [{ orRules: { rules: [
              { urlPath: { path: { safeRegex: { regex: '(.*a){20}' } } } },
              { header: { name: 'x-evil', stringMatch: { safeRegex: { regex: '(a|aa)+$' } } } },
            ] } }],
            principals: [{ any: true }],
          },
        },
      },
    }, 'rbac');
    if (!filter.ok || !filter.value) throw new Error('expected a filter');
    const rbac = [filter.value];
    const authz = (path: string, headers: Record<string, string> = {}) => evaluateRbac(rbac, { peerIdentity: undefined, sourceIp: '127.0.0.1', method: 'GET', path, host: 'h', port: 80, headers });
    expect(authz(`/${'a'.repeat(20)}`).allowed).toBe(false);
    expect(authz('/x', { 'x-evil': 'aa' }).allowed).toBe(false);
    expectLinear((p) => expect(authz(p.replaceAll('a', 'b')).allowed).toBe(true));
    expectLinear((p) => expect(authz(p).allowed).toBe(true), 'b');
    expectLinear((v) => expect(authz('/x', { 'x-evil': v }).allowed).toBe(true), 'a');
  });

  it('the engine itself: full match, program-size limit, GlobalReplace', () => {
    const re = compileRe2('/api/v[0-9]+/.*');
    expect(re.prefix).toBe('/api/v');
    expect(re.matches('/api/v2/x')).toBe(true);
    expect(re.matches('x/api/v2/x')).toBe(false);
    expect(compileRe2('a|b').matches('ab')).toBe(false);
    expect(compileRe2('/exact').literal).toBe(true);
    expect(() => compileRe2('a{100}', { maxProgramSize: 100 })).toThrow(/RE2 program size of \d+ > max program size of 100/);
    // RE2::GlobalReplace: empty matches do not abut the previous match.
    const star = compileRe2('a*');
    expect(star.replaceAll('baaac', star.rewrite('-'))).toBe('-b-c-');
    const groups = compileRe2('/(\\w+)/(\\d+)');
    expect(groups.replaceAll('/users/42/x', groups.rewrite('/\\2/\\1'))).toBe('/42/users/x');
    expect(() => groups.rewrite('\\3')).toThrow(/names group \\3, but the regex has 2/);
  });
});
