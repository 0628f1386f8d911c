// An envoy.filters.http.jwt_authn filter config (JwtAuthentication, proto3 JSON) from a control
// plane → the JwtAuthnConfig Meshlet enforces: what istiod's sidecar generator puts on an
// inbound listener for RequestAuthentication (its proxyless generator sends none). Keys come
// inline (`localJwks`, istiod's default: it fetched them) or from `remoteJwks.httpUri.uri`,
// fetched by Meshlet directly (the cluster named beside it is not needed in process). Anything
// Meshlet cannot enforce exactly — per-route or filter-state requirements, rules that do not
// cover every path, local JWKS from files — rejects the listener, naming the field, so a server
// never runs with looser authentication than configured.

import { durationToMs } from '../../xds/duration.ts';
import { fail, ok, type Result } from '../../xds/translate-result.ts';
import type { KeySpec } from './jwks-cache.ts';
import type { JwtAuthnConfig, JwtProviderConfig, JwtRequirement } from './jwt-config.ts';

export const JWT_AUTHN_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

class Unsupported extends Error {}

/**
 * The Envoy form of a JwtAuthnConfig, as istiod's sidecar generator writes it; `meshlet xds` puts
 * it on a server's inbound listener. Keys by OpenID discovery have no Envoy form: they are sent
 * as an empty key set, so such tokens are refused (istiod's fail-closed JWKS) until the rule
 * names jwksUri or jwks.
 */
export function jwtAuthnFilterConfig(c: JwtAuthnConfig): Json {
  const providers: Json = {};
  for (const p of c.providers.values()) {
    const keys: Json = p.keys.kind === 'inline' ? { localJwks: { inlineString: p.keys.jwks } }
      : p.keys.kind === 'remote' ? { remoteJwks: { httpUri: { uri: p.keys.uri, cluster: jwksCluster(p.keys.uri), timeout: `${p.keys.timeoutMs / 1000}s` }, cacheDuration: '300s' } }
      : { localJwks: { inlineString: '{"keys":[]}' } };
    providers[p.name] = {
      ...(p.issuer && { issuer: p.issuer }),
      ...(p.audiences.length > 0 && { audiences: [...p.audiences] }),
      ...keys,
      ...(p.forward && { forward: true }),
      ...(p.fromHeaders.length > 0 && { fromHeaders: p.fromHeaders.map((h) => ({ name: h.name, ...(h.prefix && { valuePrefix: h.prefix }) })) }),
      ...(p.fromParams.length > 0 && { fromParams: [...p.fromParams] }),
      ...(p.fromCookies.length > 0 && { fromCookies: [...p.fromCookies] }),
      ...(p.forwardPayloadHeader && { forwardPayloadHeader: p.forwardPayloadHeader }),
      ...(p.claimToHeaders.length > 0 && { claimToHeaders: p.claimToHeaders.map((x) => ({ headerName: x.header, claimName: x.claim })) }),
      ...(p.payloadInMetadata && { payloadInMetadata: p.payloadInMetadata }),
      ...(p.spaceDelimitedClaims.length > 0 && { normalizePayloadInMetadata: { spaceDelimitedClaims: [...p.spaceDelimitedClaims] } }),
    };
  }
  const req = (r: JwtRequirement): Json =>
    'provider' in r ? { providerName: r.provider }
    : 'any' in r ? { requiresAny: { requirements: r.any.map(req) } }
    : 'all' in r ? { requiresAll: { requirements: r.all.map(req) } }
    : 'allowMissing' in r ? { allowMissing: {} }
    : { allowMissingOrFailed: {} };
  return { '@type': JWT_AUTHN_TYPE_URL, providers, rules: [{ match: { prefix: '/' }, requires: req(c.requires) }], ...(c.bypassCorsPreflight && { bypassCorsPreflight: true }) };
}

/** istiod's cluster name for a jwksUri host (outbound|<port>||<host>); Meshlet fetches the URI itself. */
function jwksCluster(uri: string): string {
  const u = new URL(uri);
  return `outbound|${u.port || (u.protocol === 'https:' ? 443 : 80)}||${u.hostname}`;
}

export function translateJwtAuthn(config: unknown, at: string): Result<JwtAuthnConfig> {
  if (!isObj(config)) return fail(`${at}: must be a JwtAuthentication config`);
  try {
    for (const k of ['requirementMap', 'filterStateRules'] as const) {
      if (config[k] !== undefined && (!isObj(config[k]) || Object.keys(config[k]).length > 0)) throw new Unsupported(`${at}.${k}: not supported`);
    }
    const providers = new Map<string, JwtProviderConfig>();
    const raw = config['providers'] ?? {};
    if (!isObj(raw)) throw new Unsupported(`${at}.providers: must be a map`);
    for (const name of Object.keys(raw)) providers.set(name, provider(name, raw[name], `${at}.providers[${name}]`));
    const rules = Array.isArray(config['rules']) ? config['rules'] : [];
    let requires: JwtRequirement = { allowMissingOrFailed: true };
    if (rules.length > 0) {
      // istiod writes one rule for every path; a rule per route would need the route here.
      const r = rules[0];
      const match = isObj(r) ? r['match'] : undefined;
      if (rules.length > 1 || !isObj(match) || match['prefix'] !== '/' || Object.keys(match).length > 1) throw new Unsupported(`${at}.rules: only one rule matching prefix "/" is supported`);
      const req = (r as Json)['requires'];
      if ((r as Json)['requirementName'] !== undefined) throw new Unsupported(`${at}.rules[0].requirementName: not supported`);
      // A rule without requirements lets every request through unverified.
      requires = req === undefined ? { allowMissingOrFailed: true } : requirement(req, `${at}.rules[0].requires`, providers);
    }
    return ok({ providers, requires, bypassCorsPreflight: config['bypassCorsPreflight'] === true, source: at });
  } catch (err) {
    if (err instanceof Unsupported) return fail(err.message);
    throw err;
  }
}

function provider(name: string, v: unknown, at: string): JwtProviderConfig {
  if (!isObj(v)) throw new Unsupported(`${at}: must be a JwtProvider`);
  let keys: KeySpec;
  if (isObj(v['localJwks'])) {
    const inline = v['localJwks']['inlineString'] ?? (typeof v['localJwks']['inlineBytes'] === 'string' ? Buffer.from(v['localJwks']['inlineBytes'], 'base64').toString() : undefined);
    if (typeof inline !== 'string') throw new Unsupported(`${at}.localJwks: only inline JWKS (inlineString, inlineBytes) is supported`);
    keys = { kind: 'inline', jwks: inline };
  } else if (isObj(v['remoteJwks'])) {
    const uri = isObj(v['remoteJwks']['httpUri']) ? v['remoteJwks']['httpUri'] : undefined;
    if (!uri || typeof uri['uri'] !== 'string') throw new Unsupported(`${at}.remoteJwks.httpUri.uri: required`);
    keys = { kind: 'remote', uri: uri['uri'], timeoutMs: (typeof uri['timeout'] === 'string' ? durationToMs(uri['timeout']) : undefined) ?? 5000 };
  } else {
    throw new Unsupported(`${at}: localJwks or remoteJwks is required`);
  }
  const fromHeaders = (Array.isArray(v['fromHeaders']) ? v['fromHeaders'] : []).map((h, i) => {
    if (!isObj(h) || typeof h['name'] !== 'string') throw new Unsupported(`${at}.fromHeaders[${i}].name: required`);
    return { name: h['name'].toLowerCase(), prefix: typeof h['valuePrefix'] === 'string' ? h['valuePrefix'] : '' };
  });
  const fromParams = strings(v['fromParams']);
  const fromCookies = strings(v['fromCookies']);
  const noLocations = fromHeaders.length === 0 && fromParams.length === 0 && fromCookies.length === 0;
  const normalize = isObj(v['normalizePayloadInMetadata']) ? strings(v['normalizePayloadInMetadata']['spaceDelimitedClaims']) : [];
  return {
    name,
    issuer: typeof v['issuer'] === 'string' ? v['issuer'] : '',
    audiences: strings(v['audiences']),
    keys,
    // Envoy's defaults when no location is configured.
    fromHeaders: noLocations ? [{ name: 'authorization', prefix: 'Bearer ' }] : fromHeaders,
    fromParams: noLocations ? ['access_token'] : fromParams,
    fromCookies,
    forward: v['forward'] === true,
    forwardPayloadHeader: typeof v['forwardPayloadHeader'] === 'string' && v['forwardPayloadHeader'] ? v['forwardPayloadHeader'] : undefined,
    claimToHeaders: (Array.isArray(v['claimToHeaders']) ? v['claimToHeaders'] : []).map((c, i) => {
      if (!isObj(c) || typeof c['headerName'] !== 'string' || typeof c['claimName'] !== 'string') throw new Unsupported(`${at}.claimToHeaders[${i}]: headerName and claimName are required`);
      return { header: c['headerName'].toLowerCase(), claim: c['claimName'] };
    }),
    payloadInMetadata: typeof v['payloadInMetadata'] === 'string' && v['payloadInMetadata'] ? v['payloadInMetadata'] : undefined,
    spaceDelimitedClaims: normalize,
  };
}

function requirement(v: unknown, at: string, providers: ReadonlyMap<string, JwtProviderConfig>): JwtRequirement {
  if (!isObj(v)) throw new Unsupported(`${at}: must be a JwtRequirement`);
  if (typeof v['providerName'] === 'string') {
    if (!providers.has(v['providerName'])) throw new Unsupported(`${at}.providerName: provider "${v['providerName']}" is not configured`);
    return { provider: v['providerName'] };
  }
  const group = (k: 'requiresAny' | 'requiresAll') => {
    const g = v[k];
    const list = isObj(g) && Array.isArray(g['requirements']) ? g['requirements'] : undefined;
    if (!list) throw new Unsupported(`${at}.${k}.requirements: required`);
    return list.map((x, i) => requirement(x, `${at}.${k}.requirements[${i}]`, providers));
  };
  if (v['requiresAny'] !== undefined) return { any: group('requiresAny') };
  if (v['requiresAll'] !== undefined) return { all: group('requiresAll') };
  if (v['allowMissing'] !== undefined) return { allowMissing: true };
  if (v['allowMissingOrFailed'] !== undefined) return { allowMissingOrFailed: true };
  throw new Unsupported(`${at}: ${Object.keys(v).join(', ') || 'empty'} is not a supported requirement`);
}
