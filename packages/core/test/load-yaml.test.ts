// The YAML loader: documents, lists, line numbers, kinds it skips, and input it must survive.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';

const vs = (name: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
${extra}spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
`;

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string, from = 0): number {
  const at = text.indexOf(needle, from);
  if (at < 0) throw new Error(`${needle} not in text`);
  return text.slice(0, at).split('\n').length;
}

describe('parseConfigText', () => {
  it('reads every document of a stream and defaults the namespace', () => {
    const text = `${vs('a')}---\n${vs('b', '  namespace: team\n')}`;
    const { objects, problems } = parseConfigText(text, 'mesh.yaml');
    expect(problems).toEqual([]);
    expect(objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['default/a', 'team/b']);
    expect(objects[1]?.source).toMatchObject({ file: 'mesh.yaml', line: lineOf(text, 'apiVersion', 10) });
  });

  it('keeps loading after a broken document, reporting where the syntax error is', () => {
    const broken = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: broken\nspec:\n  hosts: [reviews\n';
    const text = `${vs('a')}---\n${broken}---\n${vs('c')}`;
    const { objects, problems } = parseConfigText(text, 'mesh.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'c']);
    expect(problems).toHaveLength(1);
    const p = problems[0];
    expect(p?.severity).toBe('error');
    expect(p?.message).toMatch(/^YAML syntax error/);
    // The error points into the broken document, not at the top of the file.
    expect(p?.line).toBeGreaterThanOrEqual(lineOf(text, 'name: broken'));
    expect(p?.line).toBeLessThan(lineOf(text, 'name: c'));
  });

  it('reads kind: List items, each with its own lines', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: reviews, namespace: ns}
  spec:
    host: reviews
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: ratings, namespace: ns}
  spec:
    host: ratings
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: -1}}
`;
    const { objects, problems } = parseConfigText(text, 'list.yaml');
    expect(objects.map((o) => o.metadata.name)).toEqual(['reviews']);
    expect(objects[0]?.source.line).toBe(4);
    expect(problems.map(formatProblem)).toEqual([
      `list.yaml:${lineOf(text, 'connectionPool')}: DestinationRule ns/ratings: spec.trafficPolicy.connectionPool.tcp.maxConnections: maxConnections cannot be negative`,
    ]);
  });

  it('points problems at the exact line of the field', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: split
  namespace: shop
spec:
  hosts: [reviews]
  http:
  - name: main
    timeout: 0s
    route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: -10
`;
    const { objects, problems } = parseConfigText(text, 'vs.yaml');
    expect(objects).toEqual([]);
    expect(problems.map(formatProblem).sort()).toEqual([
      'vs.yaml:10: VirtualService shop/split: spec.http[0].timeout: duration must be at least 1ms (got "0s")',
      'vs.yaml:15: VirtualService shop/split: spec.http[0].route[1].weight: weight -10 is negative',
    ]);
  });

  it('lineOf falls back to the nearest parent that exists', () => {
    const text = vs('a');
    const obj = parseConfigText(text, 'x.yaml').objects[0];
    expect(obj?.source.lineOf(['spec', 'http', 0, 'route', 0, 'destination', 'host'])).toBe(lineOf(text, 'host: reviews'));
    expect(obj?.source.lineOf(['spec', 'http', 0, 'timeout'])).toBe(lineOf(text, '- route'));
    expect(obj?.source.lineOf(['spec', 'tcp', 3])).toBe(lineOf(text, 'spec:'));
    expect(obj?.source.lineOf([])).toBe(1);
  });

  it('skips kinds it does not handle with exactly one warning each', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: istio-system
spec:
  servers: []
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: r}
spec: {}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: prod}
---
apiVersion: networking.k8s.io/v1
kind: ServiceEntry
metadata: {name: not-istio}
`;
    const { objects, problems } = parseConfigText(text, 'other.yaml');
    expect(objects).toEqual([]);
    expect(problems.map(formatProblem)).toEqual([
      'other.yaml:1: Gateway istio-system/gw: warning: kind Gateway (networking.istio.io/v1) is not handled by Meshlet; skipped',
      'other.yaml:9: TCPRoute default/r: warning: kind TCPRoute (gateway.networking.k8s.io/v1alpha2) is not handled by Meshlet; skipped',
      'other.yaml:18: ServiceEntry default/not-istio: warning: kind ServiceEntry (networking.k8s.io/v1) is not handled by Meshlet; skipped',
      // Workload controllers: one note per kind, after the file's other problems.
      "other.yaml:14: warning: kind Deployment (apps/v1): a Deployment is not an endpoint — Meshlet, like istiod, takes a Service's endpoints from its EndpointSlices (or Endpoints) and the Pods they name; skipped 1 Deployment (prod/d)",
    ]);
  });

  it('rejects a handled kind under a version the CRD does not serve', () => {
    const text = 'apiVersion: security.istio.io/v1alpha1\nkind: PeerAuthentication\nmetadata: {name: p}\nspec: {}\n';
    const { objects, problems } = parseConfigText(text, 'pa.yaml');
    expect(objects).toEqual([]);
    expect(problems[0]).toMatchObject({ severity: 'error', field: 'apiVersion', kind: 'PeerAuthentication', name: 'p' });
    expect(problems[0]?.message).toContain('security.istio.io/v1');
  });

  it('names documents that are not objects or lack kind, apiVersion or name', () => {
    const text = '- just\n- a list\n---\nplain text\n---\nkind: VirtualService\nmetadata: {name: x}\n---\napiVersion: networking.istio.io/v1\nmetadata: {name: y}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {namespace: z}\nspec: {host: a}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nspec: {host: a}\n';
    const { objects, problems } = parseConfigText(text, 'bad.yaml');
    expect(objects).toEqual([]);
    expect(problems.map(formatProblem)).toEqual([
      'bad.yaml:1: document is a list, not a Kubernetes object (apiVersion, kind, metadata, spec)',
      'bad.yaml:4: document is a string, not a Kubernetes object (apiVersion, kind, metadata, spec)',
      'bad.yaml:6: VirtualService default/x: apiVersion: apiVersion is required (e.g. networking.istio.io/v1)',
      'bad.yaml:9: kind: kind is required (e.g. VirtualService)',
      'bad.yaml:14: DestinationRule z/: metadata.name: metadata.name is required',
      'bad.yaml:17: DestinationRule default/: metadata: metadata is required, with at least a name (got nothing)',
    ]);
  });

  it('ignores empty documents and comments', () => {
    const text = `# header\n---\n---\n${vs('a')}---\n# trailing comment only\n`;
    const { objects, problems } = parseConfigText(text, 'c.yaml');
    expect(problems).toEqual([]);
    expect(objects).toHaveLength(1);
  });

  it('reads JSON', () => {
    const text = JSON.stringify({ apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule', metadata: { name: 'd' }, spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } }, null, 2);
    const { objects, problems } = parseConfigText(text, 'dr.json');
    expect(problems).toEqual([]);
    expect(objects[0]?.spec).toEqual({ host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] });
    expect(objects[0]?.source.lineOf(['spec', 'subsets', 0, 'labels', 'version'])).toBe(lineOf(text, '"version"'));
  });

  it('rejects an unknown field as kubectl does, naming its line and the nearest known field', () => {
    const text = vs('a').replace('  - route:', '  - retires: {attempts: 3}\n    route:');
    const { objects, problems } = parseConfigText(text, 'w.yaml');
    expect(objects).toHaveLength(0);
    expect(problems.map(formatProblem)).toEqual([
      `w.yaml:${lineOf(text, 'retires')}: VirtualService default/a: spec.http[0].retires: unknown field "retires"; did you mean "retries"?`,
    ]);
  });

  it('treats field names Object.prototype has (constructor, toString) as unknown fields, and never throws on them', () => {
    // Found by the CRD fuzzer: "constructor" in an AuthorizationPolicy operation passed the
    // schema as a known field, and the validator then crashed iterating it as a list.
    const text = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: default }
spec:
  rules:
    - to: [{ operation: { methods: [GET], constructor: CLUSTER_PROVIDED } }]
      when: [{ key: source.namespace, values: [a], toString: x }]
`;
    const { objects, problems } = parseConfigText(text, 'p.yaml');
    expect(problems.map((p) => [p.severity, p.field, p.message])).toEqual([
      ['error', 'spec.rules[0].to[0].operation.constructor', 'unknown field "constructor"'],
      ['error', 'spec.rules[0].when[0].toString', 'unknown field "toString"'],
    ]);
    expect(objects).toHaveLength(0);
  });

  it('reports a duplicate object and keeps the first', () => {
    const text = `${vs('a')}---\n${vs('a').replace('host: reviews', 'host: ratings')}`;
    const { objects, problems } = parseConfigText(text, 'd.yaml');
    expect(objects).toHaveLength(1);
    expect(JSON.stringify(objects[0]?.spec)).toContain('reviews');
    expect(problems).toHaveLength(1);
    expect(formatProblem(problems[0]!)).toBe(`d.yaml:${lineOf(text, 'apiVersion', 5)}: VirtualService default/a: duplicate VirtualService default/a: already defined at d.yaml:1; this one is ignored`);
  });

  it('reads IPv6 addresses in flow lists the way Kubernetes does', () => {
    const text = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: s}\nspec:\n  hosts: [a.example.com]\n  addresses: [1.2.3.4, 2001:db8::, "::1"]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n';
    const { objects, problems } = parseConfigText(text, 's.yaml');
    expect(problems).toEqual([]);
    expect(objects[0]?.spec).toMatchObject({ addresses: ['1.2.3.4', '2001:db8::', '::1'] });
  });

  it('resolves anchors and merge keys, with lines from the merged source', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d}
spec:
  host: reviews
  subsets:
  - name: v1
    trafficPolicy: &pool
      connectionPool:
        tcp: {maxConnections: -1}
  - name: v2
    trafficPolicy:
      <<: *pool
`;
    const { problems } = parseConfigText(text, 'm.yaml');
    expect(problems.map((p) => `${p.line} ${p.field}`)).toEqual([
      '10 spec.subsets[0].trafficPolicy.connectionPool.tcp.maxConnections',
      '10 spec.subsets[1].trafficPolicy.connectionPool.tcp.maxConnections',
    ]);
  });

  it('checks metadata the way the API server does', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: Reviews
  namespace: Prod_NS
  labels: {"-bad": x}
  annotations: {istio.io/dry-run: "true"}
  creationTimestamp: yesterday
extra: field
spec: {host: reviews}
`;
    const { objects, problems } = parseConfigText(text, 'meta.yaml');
    expect(objects).toEqual([]);
    expect(problems.map((p) => `${p.line} ${p.severity} ${p.field}`)).toEqual([
      '9 error extra',
      '4 error metadata.name',
      '5 error metadata.namespace',
      '6 error metadata.labels.-bad',
      '7 error metadata.annotations.istio.io/dry-run',
      '8 error metadata.creationTimestamp',
    ]);
  });

  it('rejects labels that are not strings', () => {
    const { problems } = parseConfigText('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: d\n  labels: {version: 1}\nspec: {host: a}\n', 'l.yaml');
    expect(problems[0]).toMatchObject({ severity: 'error', field: 'metadata.labels', line: 5 });
  });

  it('does not blow up on alias bombs', () => {
    const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}]`);
    const { objects, problems } = parseConfigText(lines.join('\n'), 'bomb.yaml');
    expect(objects).toEqual([]);
    expect(problems[0]?.severity).toBe('error');
  });

  it('reduces YAML-only values (tags) to JSON ones instead of failing on them', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d}
spec:
  host: !!binary aGVsbG8=
  subsets: !!set {a, b}
  trafficPolicy: !!omap [{loadBalancer: {simple: RANDOM}}]
  exportTo: [!!timestamp 2001-12-14, !custom x, .nan]
`;
    const { objects, problems } = parseConfigText(text, 'tags.yaml');
    expect(objects).toEqual([]);
    expect(problems.filter((p) => p.severity === 'error').map((p) => p.field)).toEqual(['spec.subsets[0]', 'spec.subsets[1]', 'spec.exportTo[2]']);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const r = parseConfigText(text, 'fuzz.yaml');
        for (const p of r.problems) expect(Number.isInteger(p.line) && p.line >= 1).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on YAML made of odd fragments under a valid header', () => {
    const fragments = [
      'hosts: [a, "*", 2001:db8::]', 'http:', '- route:', '  - destination: {host: x}', 'weight: !!binary aGk=', '<<: *a',
      'x: &a {k: v}', 'subsets: !!set {a}', 'ports: !!omap [{n: 1}]', 'timeout: !!timestamp 2001-12-14', '? complex key',
      ': value', '- - nested', 'portLevelMtls: {80: {mode: STRICT}}', 'mtls: {mode: STRICT}', 'host: reviews', '"quoted": |',
      '  block', 'tag: !unknown x', '---', '...', 'items: [1, {a: b}]', 'kind: List', 'address: unix://@x', 'null:', '~: ~',
    ];
    const kinds = ['VirtualService', 'DestinationRule', 'ServiceEntry', 'WorkloadEntry', 'PeerAuthentication', 'List'];
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.array(fc.tuple(fc.constantFrom(...fragments), fc.integer({ min: 0, max: 3 })), { maxLength: 12 }),
        (kind, lines) => {
          const group = kind === 'PeerAuthentication' ? 'security.istio.io' : 'networking.istio.io';
          const body = lines.map(([l, indent]) => `${'  '.repeat(indent)}${l}`).join('\n');
          const text = `apiVersion: ${group}/v1\nkind: ${kind}\nmetadata: {name: f}\nspec:\n${body}\n`;
          const r = parseConfigText(text, 'fuzz.yaml');
          for (const p of r.problems) expect(p.line).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on objects of the right kind with arbitrary specs', () => {
    const kinds = ['VirtualService', 'DestinationRule', 'ServiceEntry', 'WorkloadEntry', 'PeerAuthentication'];
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom('reviews', '*', '', '1.2.3.4', '0s', '5s', 'STRICT', 'DNS', '/a', '80'),
        fc.integer({ min: -5, max: 70000 }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('any'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom('hosts', 'http', 'route', 'destination', 'host', 'weight', 'match', 'uri', 'prefix', 'regex', 'subsets', 'name',
            'trafficPolicy', 'loadBalancer', 'simple', 'ports', 'number', 'endpoints', 'address', 'resolution', 'mtls', 'mode',
            'portLevelMtls', 'selector', 'matchLabels', 'timeout', 'retries', 'attempts', 'fault', 'abort', 'httpStatus', 'tcp', 'tls'),
          tie('any'),
          { maxKeys: 4 },
        ),
      ),
    }));
    fc.assert(
      fc.property(fc.constantFrom(...kinds), value.any, (kind, spec) => {
        const group = kind === 'PeerAuthentication' ? 'security.istio.io' : 'networking.istio.io';
        const text = JSON.stringify({ apiVersion: `${group}/v1`, kind, metadata: { name: 'f' }, spec });
        const r = parseConfigText(text, 'fuzz.json');
        expect(r.objects.length + r.problems.length).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});
