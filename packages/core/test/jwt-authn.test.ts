// The jwt_authn evaluation without a network: tokens from cookies, CORS preflights, several
// tokens, the multi-issuer requirement, and the key cache keeping its source across configs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { JwksCache } from '../src/security/jwt/jwks-cache.ts';
import { JwtAuthenticator } from '../src/security/jwt/jwt-authn.ts';
import { compileJwtAuthn } from '../src/security/jwt/jwt-config.ts';
import { silentLogger } from '../src/logger.ts';
import type { RequestAuthentication } from '../src/istio/types.ts';

let priv: CryptoKey;
let jwk: JWK;
const cache = new JwksCache(silentLogger);
beforeAll(async () => {
  const kp = await generateKeyPair('ES256');
  priv = kp.privateKey;
  jwk = { ...(await exportJWK(kp.publicKey)), kid: 'k' };
});
afterAll(() => cache.close());

const sign = (claims: Record<string, unknown>) => new SignJWT({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).sign(priv);
const ra = (rules: NonNullable<RequestAuthentication['spec']['jwtRules']>): RequestAuthentication => ({ apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', source: { file: 'x', line: 1, lineOf: () => 1 }, metadata: { name: 'r', namespace: 'default' }, spec: { jwtRules: rules } });
const auth = (rules: NonNullable<RequestAuthentication['spec']['jwtRules']>) => new JwtAuthenticator(compileJwtAuthn([ra(rules.map((r) => ({ jwks: JSON.stringify({ keys: [jwk] }), ...r })))])!, cache);

describe('JwtAuthenticator', () => {
  it('reads a token from a cookie and leaves the cookie in place', async () => {
    const a = auth([{ issuer: 'i', fromCookies: ['session'] }]);
    const t = await sign({ iss: 'i', sub: 's' });
    const r = await a.authenticate({ method: 'GET', headers: { cookie: `theme=dark; session=${t}` } });
    expect(r).toMatchObject({ ok: true, payload: { iss: 'i', sub: 's' }, edits: { removeHeaders: [] } });
    expect(await a.authenticate({ method: 'GET', headers: { cookie: 'session=garbage' } })).toMatchObject({ ok: false, httpStatus: 401, message: 'Jwt is not in the form of Header.Payload.Signature' });
  });

  it('lets a CORS preflight through without a token check', async () => {
    const a = auth([{ issuer: 'i' }]);
    expect(await a.authenticate({ method: 'OPTIONS', headers: { origin: 'https://a', 'access-control-request-method': 'GET', authorization: 'Bearer x.y.z' } })).toMatchObject({ ok: true });
    expect(await a.authenticate({ method: 'OPTIONS', headers: { authorization: 'Bearer x.y.z' } })).toMatchObject({ ok: false });
  });

  it('every token a provider finds must verify (two Authorization values)', async () => {
    const a = auth([{ issuer: 'i' }]);
    const good = await sign({ iss: 'i', sub: 's' });
    const bad = await sign({ iss: 'i', sub: 's', exp: 1 });
    expect(await a.authenticate({ method: 'GET', headers: { authorization: [`Bearer ${good}`, `Bearer ${bad}`] } })).toMatchObject({ ok: false, message: 'Jwt is expired' });
  });

  it('two issuers in one location: either issuer\'s token passes, an unknown one is refused', async () => {
    const a = auth([{ issuer: 'i1' }, { issuer: 'i2' }]);
    for (const iss of ['i1', 'i2']) expect(await a.authenticate({ method: 'GET', headers: { authorization: `Bearer ${await sign({ iss, sub: 's' })}` } })).toMatchObject({ ok: true, payload: { iss } });
    expect(await a.authenticate({ method: 'GET', headers: { authorization: `Bearer ${await sign({ iss: 'i3', sub: 's' })}` } })).toMatchObject({ ok: false, message: 'Jwt issuer is not configured' });
    expect(await a.authenticate({ method: 'GET', headers: {} })).toMatchObject({ ok: true, payload: undefined });
  });

  it('a token that is not yet valid is refused beyond the clock skew', async () => {
    const a = auth([{ issuer: 'i' }]);
    const t = await sign({ iss: 'i', sub: 's', nbf: Math.floor(Date.now() / 1000) + 600 });
    expect(await a.authenticate({ method: 'GET', headers: { authorization: `Bearer ${t}` } })).toMatchObject({ ok: false, message: 'Jwt not yet valid' });
  });
});
