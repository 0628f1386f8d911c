// One token against one provider, in the order and with the outcomes of Envoy's jwt_authn
// authenticator (google/jwt_verify_lib statuses, whose strings are the 401 body): the token's
// form, then its issuer, then exp/nbf with Envoy's 60 s clock skew, then the audiences, then the
// key and signature (jose). Audiences compare as jwt_verify_lib's CheckAudience does: an
// "http(s)://" prefix and a trailing "/" are ignored. jose loads with the first token: only
// servers with RequestAuthentication need it.

import type { compactVerify, errors } from 'jose';
import type { KeySet } from './jwks-cache.ts';

export type JwtStatus =
  | 'Ok' | 'JwtMissed' | 'JwtNotYetValid' | 'JwtExpired' | 'JwtBadFormat' | 'JwtHeaderParseError' | 'JwtHeaderNotImplementedAlg'
  | 'JwtPayloadParseError' | 'JwtUnknownIssuer' | 'JwtAudienceNotAllowed' | 'JwtVerificationFail' | 'JwksKidAlgMismatch';

export const STATUS_MESSAGE: Readonly<Record<JwtStatus, string>> = {
  Ok: 'OK',
  JwtMissed: 'Jwt is missing',
  JwtNotYetValid: 'Jwt not yet valid',
  JwtExpired: 'Jwt is expired',
  JwtBadFormat: 'Jwt is not in the form of Header.Payload.Signature',
  JwtHeaderParseError: 'Jwt header is an invalid Base64url input or an invalid JSON',
  JwtHeaderNotImplementedAlg: 'Jwt header [alg] field value is invalid',
  JwtPayloadParseError: 'Jwt payload is an invalid Base64 or an invalid JSON',
  JwtUnknownIssuer: 'Jwt issuer is not configured',
  JwtAudienceNotAllowed: 'Audiences in Jwt are not allowed',
  JwtVerificationFail: 'Jwt verification fails',
  JwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
};

/** Envoy's clock_skew_seconds default; istiod leaves it unset. */
const CLOCK_SKEW_S = 60;
const ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA', 'Ed25519']);

export interface TokenCheck {
  /** Empty: any issuer. */
  readonly issuers: ReadonlySet<string> | undefined;
  readonly audiences: readonly string[];
}

/** The token's parts before the signature is checked; undefined when it is not a JWT. */
export async function decodeToken(token: string): Promise<{ status: JwtStatus; payload?: Record<string, unknown>; alg?: string }> {
  if (token.split('.').length !== 3) return { status: 'JwtBadFormat' };
  const { decodeJwt, decodeProtectedHeader } = await import('jose');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    return { status: 'JwtHeaderParseError' };
  }
  if (typeof alg !== 'string' || !ALGORITHMS.has(alg)) return { status: 'JwtHeaderNotImplementedAlg' };
  try {
    return { status: 'Ok', payload: decodeJwt(token) as Record<string, unknown>, alg };
  } catch {
    return { status: 'JwtPayloadParseError' };
  }
}

export async function verifyToken(token: string, check: TokenCheck, keys: () => Promise<KeySet>, nowS = Math.floor(Date.now() / 1000)): Promise<{ status: JwtStatus; payload?: Record<string, unknown> }> {
  const decoded = await decodeToken(token);
  if (decoded.status !== 'Ok') return decoded;
  const payload = decoded.payload!;
  const iss = typeof payload['iss'] === 'string' ? payload['iss'] : '';
  if (check.issuers && !check.issuers.has(iss)) return { status: 'JwtUnknownIssuer' };
  const exp = payload['exp'];
  const nbf = payload['nbf'];
  if (typeof nbf === 'number' && nbf > nowS + CLOCK_SKEW_S) return { status: 'JwtNotYetValid' };
  if (typeof exp === 'number' && exp < nowS - CLOCK_SKEW_S) return { status: 'JwtExpired' };
  if (check.audiences.length > 0 && !audienceAllowed(payload['aud'], check.audiences)) return { status: 'JwtAudienceNotAllowed' };
  const { getKey } = await keys();
  if (!getKey) return { status: 'JwksKidAlgMismatch' };
  const { compactVerify, errors } = await import('jose');
  try {
    await compactVerify(token, getKey);
  } catch (err) {
    if (err instanceof errors.JWKSMultipleMatchingKeys) return (await anyKeyVerifies(token, err, compactVerify)) ? { status: 'Ok', payload } : { status: 'JwtVerificationFail' };
    if (err instanceof errors.JWKSNoMatchingKey) return { status: 'JwksKidAlgMismatch' };
    return { status: 'JwtVerificationFail' };
  }
  return { status: 'Ok', payload };
}

/** Without a `kid`, several keys may fit: Envoy tries each. */
async function anyKeyVerifies(token: string, err: errors.JWKSMultipleMatchingKeys, verify: typeof compactVerify): Promise<boolean> {
  for await (const key of err as unknown as AsyncIterable<Parameters<typeof compactVerify>[1]>) {
    try {
      await verify(token, key as never);
      return true;
    } catch { /* next key */ }
  }
  return false;
}

function normalizeAudience(a: string): string {
  return a.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

function audienceAllowed(aud: unknown, allowed: readonly string[]): boolean {
  const want = new Set(allowed.map(normalizeAudience));
  const got = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  return got.some((a) => want.has(normalizeAudience(a)));
}
