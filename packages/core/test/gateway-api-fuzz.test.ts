// Robustness: whatever a user writes as an HTTPRoute or GRPCRoute, loading never throws, and a
// route the loader accepts always compiles (problems, never exceptions).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { compileMesh } from '../src/istio/compile/compile-mesh.ts';

const client = { namespace: 'default', labels: {}, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' };
const SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.0.0.1 }]
`;

// Shapes close to real routes, with every field free to go wrong.
const name = fc.oneof(fc.constantFrom('svc', 'a', 'b', 'x.y', ''), fc.string({ maxLength: 8 }));
const value = fc.oneof(fc.constantFrom('/', '/a', '/a/', 'a', '[', '/a//b', '.*'), fc.string({ maxLength: 10 }));
const ref = fc.record({ name, kind: fc.constantFrom(undefined, 'Service', 'ServiceEntry', 'Hostname', 'Gateway', 'bad kind'), group: fc.constantFrom(undefined, '', 'core', 'networking.istio.io', 'x'), port: fc.constantFrom(undefined, 0, 80, 70000), weight: fc.constantFrom(undefined, 0, 1, 3, -1) }, { requiredKeys: [] });
const filter = fc.oneof(
  fc.record({ type: fc.constantFrom('RequestHeaderModifier', 'ResponseHeaderModifier'), requestHeaderModifier: fc.record({ set: fc.array(fc.record({ name, value }), { maxLength: 2 }), remove: fc.array(name, { maxLength: 2 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.record({ type: fc.constant('URLRewrite'), urlRewrite: fc.record({ hostname: name, path: fc.record({ type: fc.constantFrom('ReplaceFullPath', 'ReplacePrefixMatch', 'X'), replacePrefixMatch: value, replaceFullPath: value }, { requiredKeys: [] }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.record({ type: fc.constant('RequestRedirect'), requestRedirect: fc.record({ scheme: fc.constantFrom('http', 'https', 'ftp'), statusCode: fc.constantFrom(301, 302, 307), port: fc.constantFrom(8443, 0) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.record({ type: fc.constant('RequestMirror'), requestMirror: fc.record({ backendRef: ref, percent: fc.integer({ min: -5, max: 120 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.record({ type: fc.constantFrom('ExtensionRef', 'CORS', 'Bogus') }),
);
const httpRule = fc.record({
  matches: fc.array(fc.record({ path: fc.record({ type: fc.constantFrom('Exact', 'PathPrefix', 'RegularExpression'), value }, { requiredKeys: [] }), headers: fc.array(fc.record({ name, value }), { maxLength: 2 }), method: fc.constantFrom('GET', 'POST', 'get') }, { requiredKeys: [] }), { maxLength: 3 }),
  filters: fc.array(filter, { maxLength: 3 }),
  backendRefs: fc.array(ref, { maxLength: 3 }),
  timeouts: fc.record({ request: fc.constantFrom('1s', '0s', '10ms', 'x'), backendRequest: fc.constantFrom('1s', '500ms', '2s') }, { requiredKeys: [] }),
  retry: fc.record({ attempts: fc.constantFrom(0, 2, -1), codes: fc.array(fc.constantFrom(503, 200), { maxLength: 2 }), backoff: fc.constantFrom('1s', 'bad') }, { requiredKeys: [] }),
}, { requiredKeys: [] });
const grpcRule = fc.record({
  matches: fc.array(fc.record({ method: fc.record({ type: fc.constantFrom('Exact', 'RegularExpression'), service: fc.constantFrom('a.B', 'bad/x', '('), method: fc.constantFrom('M', '1x') }, { requiredKeys: [] }) }, { requiredKeys: [] }), { maxLength: 2 }),
  filters: fc.array(filter, { maxLength: 2 }),
  backendRefs: fc.array(ref, { maxLength: 2 }),
}, { requiredKeys: [] });
const parents = fc.oneof(fc.constant([{ kind: 'Service', group: '', name: 'svc' }]), fc.array(ref, { maxLength: 3 }));

describe('Gateway API routes under random input', () => {
  it('load without throwing, and accepted routes compile without throwing', () => {
    let accepted = 0;
    let routed = 0;
    fc.assert(
      fc.property(fc.constantFrom('HTTPRoute', 'GRPCRoute'), parents, fc.oneof(fc.constant([{ backendRefs: [{ name: 'svc', port: 80 }] }]), fc.array(fc.oneof(httpRule, grpcRule), { maxLength: 3 })), fc.anything({ maxDepth: 2 }), (kind, parentRefs, rules, junk) => {
        const doc = stringify({ apiVersion: 'gateway.networking.k8s.io/v1', kind, metadata: { name: 'r', namespace: 'default' }, spec: { parentRefs, rules, ...(typeof junk === 'object' && junk !== null && !Array.isArray(junk) ? { extra: junk } : {}) } });
        const loaded = parseConfigText(`${SE}---\n${doc}`, 'fuzz.yaml');
        if (loaded.objects.length === 2) accepted++;
        const result = compileMesh(loaded.objects, client);
        expect(result.resources.clusters.size).toBeGreaterThan(0);
        const routes = result.resources.routeConfigs.get('outbound|80||svc.default.svc.cluster.local')?.virtualHosts?.[0]?.routes ?? [];
        if (routes.some((r) => r.name !== 'default')) routed++;
      }),
      { numRuns: 400 },
    );
    // The generator must reach the compiler, not only the validator.
    expect(accepted).toBeGreaterThan(20);
    expect(routed).toBeGreaterThan(5);
  });
});
