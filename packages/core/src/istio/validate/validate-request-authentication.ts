// RequestAuthentication (security.istio.io): its CRD structure and CEL rules, and istiod's webhook
// (pkg/config/validation ValidateRequestAuthentication, validateJwtRule). Meshlet's server
// helpers enforce these rules (security/jwt/); the loader registers the kind from here.

import type { JwtRule, RequestAuthenticationSpec } from '../types.ts';
import { checkSelectorLabels, type FieldPath, type Report, type ValidationContext } from './validate-common.ts';
import { checkIstioDuration, parseGoDuration } from './validate-duration.ts';
import { arr, bool, obj, str, map, policyTargetRef, type Schema } from './validate-schema.ts';

export const REQUEST_AUTHENTICATION_KIND = { group: 'security.istio.io', versions: ['v1', 'v1beta1'] } as const;

const strings = () => arr(str());

export const requestAuthenticationSchema: Schema = obj({
  selector: obj({ matchLabels: map(str({ maxLength: 63 }), { maxProperties: 4096 }) }),
  targetRef: policyTargetRef(),
  targetRefs: arr(policyTargetRef(), { maxItems: 16 }),
  jwtRules: arr(obj({
    issuer: str(),
    audiences: strings(),
    jwksUri: str({ maxLength: 2048 }),
    jwks_uri: str({ maxLength: 2048 }),
    jwks: str(),
    fromHeaders: arr(obj({ name: str(), prefix: str() }, { required: ['name'] })),
    fromParams: strings(),
    fromCookies: strings(),
    outputPayloadToHeader: str(),
    forwardOriginalToken: bool(),
    outputClaimToHeaders: arr(obj({ header: str(), claim: str() }, { required: ['header', 'claim'] })),
    spaceDelimitedClaims: arr(str(), { maxItems: 64 }),
    timeout: str(),
    presence: str({ enum: ['OPTIONAL', 'REQUIRED'] }),
  }, { oneOf: [['jwksUri', 'jwks_uri', 'jwks']] }), { maxItems: 4096 }),
});

export function validateRequestAuthentication(spec: RequestAuthenticationSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  const targets = [spec.targetRef !== undefined && 'targetRef', spec.targetRefs !== undefined && 'targetRefs'].filter(Boolean);
  if (spec.selector !== undefined && targets.length > 0) r.error(['spec', 'selector'], 'only one of targetRefs or selector can be set');
  if (spec.selector !== undefined) {
    checkSelectorLabels(spec.selector.matchLabels, ['spec', 'selector', 'matchLabels'], r, 'selector has no labels, so the policy applies to every workload in the namespace');
  }
  (spec.jwtRules ?? []).forEach((rule, i) => validateJwtRule(rule, ['spec', 'jwtRules', i], r));
}

function validateJwtRule(rule: JwtRule, at: FieldPath, r: Report): void {
  (rule.audiences ?? []).forEach((a, i) => { if (a === '') r.error([...at, 'audiences', i], 'audience must be non-empty string'); });
  const uriField = rule.jwksUri !== undefined ? 'jwksUri' : 'jwks_uri';
  const uri = rule.jwksUri ?? rule.jwks_uri;
  if (!rule.issuer && !uri) r.error([...at, 'issuer'], 'issuer or jwksUri must be non-empty string');
  if (uri !== undefined) {
    const e = checkJwksUri(uri);
    if (e) r.error([...at, uriField], e);
  }
  if (rule.jwks !== undefined && rule.jwks !== '') {
    const { error, privateKeys } = checkJwks(rule.jwks);
    if (error) r.error([...at, 'jwks'], `jwks parse error: ${error}`);
    for (const k of privateKeys) r.warn([...at, 'jwks'], `jwks key at index ${k} contains private key material; only public keys are used for verification`);
  }
  (rule.fromHeaders ?? []).forEach((h, i) => { if (!h.name) r.error([...at, 'fromHeaders', i, 'name'], 'location header name must be non-empty string'); });
  (rule.fromParams ?? []).forEach((p, i) => { if (p === '') r.error([...at, 'fromParams', i], 'location query must be non-empty string'); });
  (rule.fromCookies ?? []).forEach((c, i) => { if (c === '') r.error([...at, 'fromCookies', i], 'cookie name must be non-empty string'); });
  (rule.outputClaimToHeaders ?? []).forEach((c, i) => {
    const p: FieldPath = [...at, 'outputClaimToHeaders', i];
    if (!c.claim || !c.header) r.error(p, 'outputClaimToHeaders header and claim value must be non-empty string');
    else if (!/^[-_A-Za-z0-9]+$/.test(c.header)) r.error([...p, 'header'], `header name "${c.header}" must match ^[-_A-Za-z0-9]+$`);
  });
  if (rule.outputPayloadToHeader !== undefined && rule.outputPayloadToHeader !== '' && !/^[-_A-Za-z0-9]+$/.test(rule.outputPayloadToHeader)) {
    r.error([...at, 'outputPayloadToHeader'], `header name "${rule.outputPayloadToHeader}" is not a valid HTTP header name`);
  }
  (rule.spaceDelimitedClaims ?? []).forEach((c, i) => { if (c === '') r.error([...at, 'spaceDelimitedClaims', i], 'claim name must be non-empty string'); });
  if (rule.timeout !== undefined) {
    const parsed = parseGoDuration(rule.timeout);
    const e = !parsed.ok ? `${parsed.reason}: use a Go duration like "5s"` : parsed.nanos < 1_000_000n ? 'must be a valid duration greater than 1ms' : checkIstioDuration(rule.timeout);
    if (e) r.error([...at, 'timeout'], e);
  }
  if (rule.presence === 'REQUIRED') r.warn([...at, 'presence'], 'presence REQUIRED is not enforced (istiod does not program it either): a request without a token still passes authentication');
}

/** istiod's ParseJwksURI and the CRD's CEL rule: an http or https URL. */
export function checkJwksUri(uri: string): string | undefined {
  if (uri === '') return 'jwksUri must be non-empty string';
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `jwksUri "${uri}" is not a valid URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `URI scheme "${u.protocol.slice(0, -1)}" is not supported: url must have scheme http:// or https://`;
  return undefined;
}

/** Whether an inline JWKS parses (a JSON object with a `keys` list of keys with a `kty`), and which keys carry private material. */
export function checkJwks(text: string): { error: string | undefined; privateKeys: number[] } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON (${(err as Error).message})`, privateKeys: [] };
  }
  const keys = typeof v === 'object' && v !== null ? (v as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys)) return { error: 'a JWKS needs a "keys" list', privateKeys: [] };
  const privateKeys: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as Record<string, unknown> | null;
    if (typeof k !== 'object' || k === null || typeof k['kty'] !== 'string') return { error: `keys[${i}] has no "kty"`, privateKeys };
    if (k['d'] !== undefined || k['kty'] === 'oct') privateKeys.push(i);
  }
  return { error: undefined, privateKeys };
}
