// AuthorizationPolicy as Envoy RBAC filters (the form istiod sends servers) and back: the
// compiled filters are valid Envoy messages, and evaluating them gives the same decision as
// evaluating the policies directly, for every generated request.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { authorize, type AuthzRequest } from '../src/security/authorization-policy.ts';
import { compileRbacFilters, RBAC_TYPE_URL } from '../src/security/rbac-compile.ts';
import { evaluateRbac, translateRbacFilter, type RbacFilter } from '../src/security/rbac.ts';
import { decodeAny, encodeAny } from '../src/xds/codec/index.ts';
import type { AuthorizationPolicy } from '../src/istio/types.ts';

const ap = (name: string, spec: AuthorizationPolicy['spec']): AuthorizationPolicy => ({
  apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', source: { file: 'x', line: 1, lineOf: () => 1 }, metadata: { name, namespace: 'default' }, spec,
});

const POLICIES: AuthorizationPolicy[] = [
  ap('deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }, { from: [{ source: { notNamespaces: ['default', 'prod*'] } }], to: [{ operation: { methods: ['DELETE'] } }] }] }),
  ap('deny-evil', { action: 'DENY', rules: [{ from: [{ source: { principals: ['*/sa/evil'] } }] }, { when: [{ key: 'request.headers[x-block]', values: ['*'] }] }] }),
  ap('allow-sleep', { rules: [
    { from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'] } }], to: [{ operation: { methods: ['GET', 'HEAD'], paths: ['/api/*', '/public'], notPaths: ['*.secret'] } }] },
    { from: [{ source: { namespaces: ['prod*'], ipBlocks: ['10.0.0.0/8'] } }], to: [{ operation: { ports: ['9080'], hosts: ['reviews', '*.example.com'] } }] },
    { from: [{ source: { serviceAccounts: ['default/batch'] } }], when: [{ key: 'request.headers[x-env]', values: ['prod*'] }, { key: 'destination.port', notValues: ['8443'] }] },
    { when: [{ key: 'source.principal', notValues: ['cluster.local/ns/default/sa/sleep'] }, { key: 'request.auth.claims[iss]', notValues: ['x'] }, { key: 'request.headers[x-open]', values: ['yes'] }] },
  ] }),
  ap('allow-any-authenticated-get', { rules: [{ from: [{ source: { principals: ['*'] } }], to: [{ operation: { methods: ['GET'], notHosts: ['secret.internal'] } }] }] }),
];

function filters(policies: AuthorizationPolicy[]): RbacFilter[] {
  return compileRbacFilters(policies).map((cfg, i) => {
    const r = translateRbacFilter(cfg, `filter[${i}]`);
    if (!r.ok) throw new Error(r.error);
    return r.value!;
  });
}

const request = fc.record({
  peerIdentity: fc.constantFrom(undefined, 'spiffe://cluster.local/ns/default/sa/sleep', 'spiffe://cluster.local/ns/default/sa/evil', 'spiffe://cluster.local/ns/prod-eu/sa/api', 'spiffe://cluster.local/ns/default/sa/batch', 'spiffe://cluster.local/ns/other/sa/x'),
  sourceIp: fc.constantFrom('10.1.2.3', '192.168.1.1', '::ffff:10.9.9.9', undefined),
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'),
  path: fc.constantFrom('/api/x', '/api/key.secret', '/public', '/admin/users', '/other', '/'),
  host: fc.constantFrom('reviews', 'reviews:9080', 'a.example.com', 'a.example.com:8080', 'secret.internal', 'other'),
  port: fc.constantFrom(9080, 8443, 80),
  headers: fc.record({ 'x-env': fc.constantFrom(undefined, 'production', 'dev'), 'x-block': fc.constantFrom(undefined, '1'), 'x-open': fc.constantFrom(undefined, 'yes', 'no') }, { requiredKeys: [] }),
}, { requiredKeys: ['method', 'path', 'host', 'port', 'headers'] });

describe('AuthorizationPolicy ⇄ RBAC', () => {
  it('compiled RBAC filters are valid Envoy messages', () => {
    for (const cfg of compileRbacFilters(POLICIES)) {
      const wire = encodeAny(cfg as unknown as { '@type': string });
      const back = decodeAny(RBAC_TYPE_URL, wire.value);
      if (!back.ok) throw back.error;
      // ALLOW is the enum's zero value, so the wire form leaves it out.
      const v = back.value as { rules: object };
      expect({ ...v, rules: { action: 'ALLOW', ...v.rules } }).toEqual(cfg);
    }
  });

  it('evaluating the RBAC filters decides exactly as the policies do', () => {
    const compiled = filters(POLICIES);
    fc.assert(fc.property(request, (raw) => {
      const req = { ...raw, headers: Object.fromEntries(Object.entries(raw.headers).filter(([, v]) => v !== undefined)) } as AuthzRequest;
      expect(evaluateRbac(compiled, req).allowed).toBe(authorize(POLICIES, req).allowed);
    }), { numRuns: 2000 });
  });

  it('an ALLOW policy without rules denies everything; no policies allow everything', () => {
    const req: AuthzRequest = { peerIdentity: undefined, sourceIp: undefined, method: 'GET', path: '/', host: 'h', port: 80, headers: {} };
    expect(evaluateRbac(filters([ap('nothing', {})]), req).allowed).toBe(false);
    expect(evaluateRbac(filters([]), req).allowed).toBe(true);
  });

  it('names the field it cannot enforce instead of enforcing loosely', () => {
    const r = translateRbacFilter({ rules: { action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ metadata: { filter: 'istio_authn', path: [{ key: 'source.principal' }] } }] } } } }, 'Listener x: filter rbac');
    expect(r).toEqual({ ok: false, error: 'Listener x: filter rbac.rules.policies[p].principals[0].metadata: only envoy.filters.http.jwt_authn metadata under "payload" is supported (got istio_authn source.principal)' });
    expect(translateRbacFilter({ rules: { policies: { p: { condition: {}, permissions: [], principals: [] } } } }, 'f')).toMatchObject({ ok: false, error: 'f.rules.policies[p].condition: CEL conditions are not supported' });
  });
});
