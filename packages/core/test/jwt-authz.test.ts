// requestPrincipals and request.auth.* conditions: the compiled RBAC form (metadata matchers on
// the jwt_authn payload, as istiod writes them) is a valid Envoy message and decides exactly as
// the policies evaluated directly, for generated JWT payloads; and RequestAuthentication
// compiles to istiod's jwt_authn requirement shapes.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { authorize, type AuthzRequest } from '../src/security/authorization-policy.ts';
import { compileRbacFilters, RBAC_TYPE_URL } from '../src/security/rbac-compile.ts';
import { evaluateRbac, translateRbacFilter } from '../src/security/rbac.ts';
import { compileJwtAuthn } from '../src/security/jwt/jwt-config.ts';
import { claimPath, requestPrincipalMatches } from '../src/security/jwt/jwt-claims.ts';
import { decodeAny, encodeAny } from '../src/xds/codec/index.ts';
import type { AuthorizationPolicy, RequestAuthentication } from '../src/istio/types.ts';

const src = { file: 'x', line: 1, lineOf: () => 1 };
const ap = (name: string, spec: AuthorizationPolicy['spec']): AuthorizationPolicy => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', source: src, metadata: { name, namespace: 'default' }, spec });
const ra = (name: string, ns: string, spec: RequestAuthentication['spec']): RequestAuthentication => ({ apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', source: src, metadata: { name, namespace: ns }, spec });

const POLICIES: AuthorizationPolicy[] = [
  ap('deny-mallory', { action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*/mallory'] } }] }, { when: [{ key: 'request.auth.claims[realm][role]', values: ['banned'] }] }] }),
  ap('allow', { rules: [
    { from: [{ source: { requestPrincipals: ['https://a.example.com/*', 'b-iss/bob'] } }], to: [{ operation: { paths: ['/a*'] } }] },
    { from: [{ source: { notRequestPrincipals: ['*'] } }], to: [{ operation: { paths: ['/anon'] } }] },
    { when: [{ key: 'request.auth.audiences', values: ['api', 'web*'] }, { key: 'request.auth.presenter', notValues: ['bad-app'] }] },
    { when: [{ key: 'request.auth.claims[groups]', values: ['*-admins'] }, { key: 'request.auth.principal', values: ['*@corp'] }] },
    { when: [{ key: 'request.auth.claims[scope]', values: ['write'] }] },
  ] }),
];

const payload = fc.option(fc.record({
  iss: fc.constantFrom('https://a.example.com', 'b-iss', 'c'),
  sub: fc.constantFrom('bob', 'mallory', 'alice@corp', ''),
  aud: fc.constantFrom('api', ['x', 'web-1'], 'other', ['a', 'b']),
  azp: fc.constantFrom('web', 'bad-app'),
  groups: fc.constantFrom(['db-admins'], ['users'], 'ops-admins', 7),
  realm: fc.constantFrom({ role: 'banned' }, { role: 'x' }, 'flat'),
  scope: fc.constantFrom(['read', 'write'], ['read']),
}, { requiredKeys: ['iss', 'sub'] }), { nil: undefined });

describe('JWT attributes in AuthorizationPolicy ⇄ RBAC', () => {
  it('compiled filters with JWT matchers are valid Envoy messages', () => {
    for (const cfg of compileRbacFilters(POLICIES)) {
      const back = decodeAny(RBAC_TYPE_URL, encodeAny(cfg as unknown as { '@type': string }).value);
      if (!back.ok) throw back.error;
      const v = back.value as { rules: object };
      expect({ ...v, rules: { action: 'ALLOW', ...v.rules } }).toEqual(cfg);
    }
  });

  it('evaluating the RBAC filters decides exactly as the policies do', () => {
    const compiled = compileRbacFilters(POLICIES).map((c, i) => { const r = translateRbacFilter(c, `f${i}`); if (!r.ok) throw new Error(r.error); return r.value!; });
    fc.assert(fc.property(payload, fc.constantFrom('/a1', '/anon', '/other'), (jwt, path) => {
      const req: AuthzRequest = { peerIdentity: undefined, sourceIp: undefined, method: 'GET', path, host: 'h', port: 80, headers: {}, jwt };
      expect(evaluateRbac(compiled, req).allowed).toBe(authorize(POLICIES, req).allowed);
    }), { numRuns: 3000 });
  });

  it('matches request principals as istiod splits them (at the last "/")', () => {
    const p = { iss: 'https://a.example.com/realms/x', sub: 'bob' };
    expect(requestPrincipalMatches('https://a.example.com/realms/x/bob', p)).toBe(true);
    expect(requestPrincipalMatches('*/bob', p)).toBe(true);
    expect(requestPrincipalMatches('https://a.example.com/realms/x/*', p)).toBe(true);
    expect(requestPrincipalMatches('*', p)).toBe(true);
    expect(requestPrincipalMatches('*', undefined)).toBe(false);
    expect(requestPrincipalMatches('https://a.example.com/*', p)).toBe(false);
    expect(claimPath('request.auth.claims[a][b]')).toEqual(['a', 'b']);
    expect(claimPath('request.auth.claims[a.b]')).toEqual(['a.b']);
  });
});

describe('RequestAuthentication → jwt_authn config (istiod convertToEnvoyJwtConfig)', () => {
  it('one rule: requires_any { origins-0, allow_missing } with the default locations', () => {
    const c = compileJwtAuthn([ra('a', 'default', { jwtRules: [{ issuer: 'iss', jwksUri: 'https://k/jwks' }] })])!;
    expect(c.requires).toEqual({ any: [{ provider: 'origins-0' }, { allowMissing: true }] });
    expect(c.providers.get('origins-0')).toMatchObject({ issuer: 'iss', fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }], fromParams: ['access_token'], forward: false, payloadInMetadata: 'payload', spaceDelimitedClaims: ['permission', 'scope'], keys: { kind: 'remote', uri: 'https://k/jwks', timeoutMs: 5000 } });
  });

  it('several rules: sorted by issuer, each provider OR the AND of {provider or missing}', () => {
    const c = compileJwtAuthn([ra('a', 'default', { jwtRules: [{ issuer: 'zeta', jwks: '{"keys":[]}', fromHeaders: [{ name: 'X-Tok' }] }] }), ra('b', 'istio-system', { jwtRules: [{ issuer: 'alpha', timeout: '2s' }] })])!;
    expect([...c.providers.values()].map((p) => p.issuer)).toEqual(['alpha', 'zeta']);
    expect(c.providers.get('origins-0')!.keys).toEqual({ kind: 'discovery', issuer: 'alpha', timeoutMs: 2000 });
    expect(c.providers.get('origins-1')).toMatchObject({ fromHeaders: [{ name: 'x-tok', prefix: '' }], fromParams: [], keys: { kind: 'inline' } });
    expect(c.requires).toEqual({ any: [{ provider: 'origins-0' }, { provider: 'origins-1' }, { all: [
      { any: [{ provider: 'origins-0' }, { allowMissing: true }] },
      { any: [{ provider: 'origins-1' }, { allowMissing: true }] },
    ] }] });
    expect(compileJwtAuthn([ra('empty', 'default', {})])).toBeUndefined();
  });
});

describe('jwt_authn filter from and to xDS', () => {
  it('compiles to Envoy\'s JwtAuthentication, survives the codec, and translates back to the same config', async () => {
    const { jwtAuthnFilterConfig, translateJwtAuthn } = await import('../src/security/jwt/jwt-filter.ts');
    const c = compileJwtAuthn([ra('a', 'default', { jwtRules: [
      { issuer: 'iss-a', audiences: ['x'], jwks: '{"keys":[]}', fromHeaders: [{ name: 'x-tok', prefix: 'T ' }], forwardOriginalToken: true, outputPayloadToHeader: 'x-p', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] },
      { issuer: 'iss-b', jwksUri: 'https://keys.example.com/jwks', timeout: '2s', fromCookies: ['session'] },
    ] })])!;
    const envoy = jwtAuthnFilterConfig(c);
    const wire = encodeAny(envoy as { '@type': string });
    const back = decodeAny(wire.typeUrl, wire.value);
    if (!back.ok) throw back.error;
    expect(back.value).toEqual(envoy);
    const t = translateJwtAuthn(back.value, 'f');
    if (!t.ok) throw new Error(t.error);
    expect(t.value.requires).toEqual(c.requires);
    expect([...t.value.providers.values()]).toEqual([...c.providers.values()]);
    expect((envoy['providers'] as Record<string, { remoteJwks?: { httpUri: { cluster: string } } }>)['origins-1']!.remoteJwks!.httpUri.cluster).toBe('outbound|443||keys.example.com');
  });

  it('refuses what it cannot enforce exactly, naming the field', async () => {
    const { translateJwtAuthn } = await import('../src/security/jwt/jwt-filter.ts');
    const p = { issuer: 'i', localJwks: { inlineString: '{"keys":[]}' } };
    expect(translateJwtAuthn({ providers: { p }, rules: [{ match: { prefix: '/api' }, requires: { providerName: 'p' } }] }, 'f')).toEqual({ ok: false, error: 'f.rules: only one rule matching prefix "/" is supported' });
    expect(translateJwtAuthn({ providers: { p: { issuer: 'i', localJwks: { filename: '/k' } } } }, 'f')).toEqual({ ok: false, error: 'f.providers[p].localJwks: only inline JWKS (inlineString, inlineBytes) is supported' });
    expect(translateJwtAuthn({ providers: { p }, rules: [{ match: { prefix: '/' }, requires: { providerName: 'q' } }] }, 'f')).toEqual({ ok: false, error: 'f.rules[0].requires.providerName: provider "q" is not configured' });
  });
});
