// Envoy's RBAC HTTP filter (envoy.extensions.filters.http.rbac.v3.RBAC), evaluated in process:
// what istiod sends a proxyless server (or a sidecar's inbound listener) for AuthorizationPolicy.
// translateRbacFilter() validates a filter config into predicates, naming the field of anything
// it cannot honour (CEL matchers, filter state, metadata other than the jwt_authn filter's
// verified `payload`, which request principals and request.auth.* read) so the listener can be NACKed
// rather than enforced loosely; evaluateRbac() applies a chain of filters in order: a DENY filter
// denies when a policy matches, an ALLOW filter denies when none does, LOG only observes.
// A policy matches when one of its permissions and one of its principals match.

import { BlockList, isIPv4 } from 'node:net';
import type { StringMatcher } from '../xds/resources.ts';
import { compileStringMatcher } from '../xds/string-matcher.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';
import type { AuthzDecision, AuthzRequest } from './authorization-policy.ts';
import { JWT_AUTHN_FILTER } from './rbac-compile.ts';

export interface RbacRequest extends AuthzRequest {
  readonly destinationIp?: string | undefined;
}

type Pred = (r: RbacRequest) => boolean;

export interface RbacFilter {
  readonly action: 'ALLOW' | 'DENY' | 'LOG';
  readonly policies: readonly { readonly name: string; readonly permissions: readonly Pred[]; readonly principals: readonly Pred[] }[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class Unsupported extends Error {}

/** Translates one RBAC filter config; undefined when it has no `rules` (Envoy then allows all). */
export function translateRbacFilter(config: unknown, at: string): Result<RbacFilter | undefined> {
  if (!isObj(config)) return fail(`${at}: must be an RBAC filter config`);
  for (const k of ['matcher', 'shadowMatcher'] as const) if (config[k] !== undefined) return fail(`${at}.${k}: the matcher API is not supported; use rules`);
  const rules = config['rules'];
  if (rules === undefined) return ok(undefined);
  if (!isObj(rules)) return fail(`${at}.rules: must be an object`);
  const action = (rules['action'] ?? 'ALLOW') as string;
  if (action !== 'ALLOW' && action !== 'DENY' && action !== 'LOG') return fail(`${at}.rules.action: ${JSON.stringify(action)} must be ALLOW, DENY or LOG`);
  const policies: { name: string; permissions: Pred[]; principals: Pred[] }[] = [];
  const raw = rules['policies'] ?? {};
  if (!isObj(raw)) return fail(`${at}.rules.policies: must be a map of policies`);
  for (const name of Object.keys(raw).sort()) {
    const p = raw[name];
    const f = `${at}.rules.policies[${name}]`;
    if (!isObj(p)) return fail(`${f}: must be a policy`);
    if (p['condition'] !== undefined || p['checkedCondition'] !== undefined) return fail(`${f}.condition: CEL conditions are not supported`);
    try {
      const perms = list(p['permissions'], `${f}.permissions`).map((x, i) => permission(x, `${f}.permissions[${i}]`));
      const ids = list(p['principals'], `${f}.principals`).map((x, i) => principalOf(x, `${f}.principals[${i}]`));
      policies.push({ name, permissions: perms, principals: ids });
    } catch (err) {
      if (err instanceof Unsupported) return fail(err.message);
      throw err;
    }
  }
  return ok({ action, policies });
}

export function evaluateRbac(filters: readonly RbacFilter[], req: RbacRequest): AuthzDecision {
  for (const f of filters) {
    if (f.action === 'LOG') continue;
    const hit = f.policies.find((p) => p.permissions.some((m) => m(req)) && p.principals.some((m) => m(req)));
    if (f.action === 'DENY' && hit) return { allowed: false, policy: hit.name, reason: `denied by RBAC policy ${hit.name}` };
    if (f.action === 'ALLOW' && !hit) return { allowed: false, policy: undefined, reason: 'no RBAC ALLOW policy matches' };
  }
  return { allowed: true, policy: undefined, reason: 'allowed by RBAC' };
}

function list(v: unknown, at: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Unsupported(`${at}: must be a list`);
  return v;
}

function permission(v: unknown, at: string): Pred {
  if (!isObj(v)) throw new Unsupported(`${at}: must be a permission`);
  if (v['any'] === true) return () => true;
  if (isObj(v['andRules'])) { const ps = list(v['andRules']['rules'], `${at}.andRules.rules`).map((x, i) => permission(x, `${at}.andRules.rules[${i}]`)); return (r) => ps.every((p) => p(r)); }
  if (isObj(v['orRules'])) { const ps = list(v['orRules']['rules'], `${at}.orRules.rules`).map((x, i) => permission(x, `${at}.orRules.rules[${i}]`)); return (r) => ps.some((p) => p(r)); }
  if (v['notRule'] !== undefined) { const p = permission(v['notRule'], `${at}.notRule`); return (r) => !p(r); }
  if (v['header'] !== undefined) return headerPred(v['header'], `${at}.header`);
  if (v['urlPath'] !== undefined) return pathPred(v['urlPath'], `${at}.urlPath`);
  if (v['destinationPort'] !== undefined) { const port = Number(v['destinationPort']); return (r) => r.port === port; }
  if (isObj(v['destinationPortRange'])) { const s = Number(v['destinationPortRange']['start'] ?? 0); const e = Number(v['destinationPortRange']['end'] ?? 0); return (r) => r.port >= s && r.port < e; }
  if (v['destinationIp'] !== undefined) { const m = cidrPred(v['destinationIp'], `${at}.destinationIp`); return (r) => m(r.destinationIp); }
  if (v['requestedServerName'] !== undefined) { const m = matcher(v['requestedServerName'], `${at}.requestedServerName`); return (r) => r.sni !== undefined && m(r.sni); }
  throw new Unsupported(`${at}: ${Object.keys(v).join(', ') || 'empty'} is not a supported permission`);
}

function principalOf(v: unknown, at: string): Pred {
  if (!isObj(v)) throw new Unsupported(`${at}: must be a principal`);
  if (v['any'] === true) return () => true;
  if (isObj(v['andIds'])) { const ps = list(v['andIds']['ids'], `${at}.andIds.ids`).map((x, i) => principalOf(x, `${at}.andIds.ids[${i}]`)); return (r) => ps.every((p) => p(r)); }
  if (isObj(v['orIds'])) { const ps = list(v['orIds']['ids'], `${at}.orIds.ids`).map((x, i) => principalOf(x, `${at}.orIds.ids[${i}]`)); return (r) => ps.some((p) => p(r)); }
  if (v['notId'] !== undefined) { const p = principalOf(v['notId'], `${at}.notId`); return (r) => !p(r); }
  if (v['authenticated'] !== undefined) {
    const a = v['authenticated'];
    if (!isObj(a)) throw new Unsupported(`${at}.authenticated: must be an object`);
    // No principal_name: any authenticated (mTLS) peer.
    if (a['principalName'] === undefined) return (r) => r.peerIdentity !== undefined;
    const m = matcher(a['principalName'], `${at}.authenticated.principalName`);
    return (r) => r.peerIdentity !== undefined && m(r.peerIdentity);
  }
  for (const k of ['directRemoteIp', 'remoteIp', 'sourceIp'] as const) {
    if (v[k] !== undefined) { const m = cidrPred(v[k], `${at}.${k}`); return (r) => m(r.sourceIp); }
  }
  if (v['header'] !== undefined) return headerPred(v['header'], `${at}.header`);
  if (v['urlPath'] !== undefined) return pathPred(v['urlPath'], `${at}.urlPath`);
  if (v['metadata'] !== undefined) return metadataPred(v['metadata'], `${at}.metadata`);
  throw new Unsupported(`${at}: ${Object.keys(v).join(', ') || 'empty'} is not a supported principal`);
}

function matcher(v: unknown, at: string): (s: string) => boolean {
  if (!isObj(v)) throw new Unsupported(`${at}: must be a string matcher`);
  try {
    return compileStringMatcher(v as StringMatcher, at);
  } catch (err) {
    throw new Unsupported((err as Error).message);
  }
}

function pathPred(v: unknown, at: string): Pred {
  if (!isObj(v) || !isObj(v['path'])) throw new Unsupported(`${at}.path: required`);
  const m = matcher(v['path'], `${at}.path`);
  return (r) => m(r.path);
}

/** Request header values as Envoy's RBAC sees them, pseudo-headers included; several values joined by ','. */
function headerValue(r: RbacRequest, name: string): string | undefined {
  switch (name) {
    case ':method': return r.method;
    case ':authority': case 'host': return r.host;
    case ':path': return r.path;
  }
  const v = r.headers[name];
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
}

function headerPred(v: unknown, at: string): Pred {
  if (!isObj(v) || typeof v['name'] !== 'string') throw new Unsupported(`${at}.name: required`);
  const name = v['name'].toLowerCase();
  const invert = v['invertMatch'] === true;
  let test: (s: string) => boolean;
  if (v['presentMatch'] !== undefined) test = () => v['presentMatch'] === true;
  else if (v['stringMatch'] !== undefined) test = matcher(v['stringMatch'], `${at}.stringMatch`);
  else if (v['exactMatch'] !== undefined) test = matcher({ exact: v['exactMatch'] }, at);
  else if (v['prefixMatch'] !== undefined) test = matcher({ prefix: v['prefixMatch'] }, at);
  else if (v['suffixMatch'] !== undefined) test = matcher({ suffix: v['suffixMatch'] }, at);
  else if (v['containsMatch'] !== undefined) test = matcher({ contains: v['containsMatch'] }, at);
  else if (v['safeRegexMatch'] !== undefined) test = matcher({ safeRegex: v['safeRegexMatch'] as { regex: string } }, at);
  else test = () => true; // no specifier: presence
  return (r) => {
    const value = headerValue(r, name);
    const hit = value !== undefined && test(value);
    return invert ? !hit : hit;
  };
}

function cidrPred(v: unknown, at: string): (ip: string | undefined) => boolean {
  if (!isObj(v) || typeof v['addressPrefix'] !== 'string') throw new Unsupported(`${at}.addressPrefix: required`);
  const addr = v['addressPrefix'];
  const type = isIPv4(addr) ? 'ipv4' : 'ipv6';
  const bits = v['prefixLen'] === undefined ? (type === 'ipv4' ? 32 : 128) : Number(v['prefixLen']);
  const list = new BlockList();
  list.addSubnet(addr, bits, type);
  return (ip) => {
    if (ip === undefined) return false;
    const a = ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    return list.check(a, isIPv4(a) ? 'ipv4' : 'ipv6');
  };
}

/** A MetadataMatcher on the jwt_authn filter's `payload` (the JWT that RequestAuthentication verified). */
function metadataPred(v: unknown, at: string): Pred {
  if (!isObj(v)) throw new Unsupported(`${at}: must be a metadata matcher`);
  const path = list(v['path'], `${at}.path`).map((p, i) => {
    if (!isObj(p) || typeof p['key'] !== 'string') throw new Unsupported(`${at}.path[${i}].key: required`);
    return p['key'];
  });
  if (v['filter'] !== JWT_AUTHN_FILTER || path[0] !== 'payload') {
    throw new Unsupported(`${at}: only ${JWT_AUTHN_FILTER} metadata under "payload" is supported (got ${String(v['filter'])} ${path.join('.')})`);
  }
  const value = valueMatcher(v['value'], `${at}.value`);
  const invert = v['invert'] === true;
  return (r) => {
    let cur: unknown = r.jwt;
    for (const k of path.slice(1)) cur = isObj(cur) ? cur[k] : undefined;
    const hit = cur !== undefined && value(cur);
    return invert ? !hit : hit;
  };
}

function valueMatcher(v: unknown, at: string): (x: unknown) => boolean {
  if (!isObj(v)) throw new Unsupported(`${at}: must be a value matcher`);
  if (v['stringMatch'] !== undefined) { const m = matcher(v['stringMatch'], `${at}.stringMatch`); return (x) => typeof x === 'string' && m(x); }
  if (isObj(v['listMatch'])) { const m = valueMatcher(v['listMatch']['oneOf'], `${at}.listMatch.oneOf`); return (x) => Array.isArray(x) && x.some(m); }
  if (isObj(v['orMatch'])) { const ms = list(v['orMatch']['valueMatchers'], `${at}.orMatch.valueMatchers`).map((m, i) => valueMatcher(m, `${at}.orMatch.valueMatchers[${i}]`)); return (x) => ms.some((m) => m(x)); }
  if (v['presentMatch'] !== undefined) { const want = v['presentMatch'] === true; return (x) => (x !== undefined) === want; }
  if (v['boolMatch'] !== undefined) { const b = v['boolMatch'] === true; return (x) => x === b; }
  if (v['nullMatch'] !== undefined) return (x) => x === null;
  throw new Unsupported(`${at}: ${Object.keys(v).join(', ') || 'empty'} is not a supported value matcher`);
}
