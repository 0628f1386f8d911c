// What AuthorizationPolicy reads from a verified JWT: the `payload` Envoy's jwt_authn filter
// leaves in metadata, matched as istiod's RBAC generator matches it
// (pilot/pkg/security/authz/model/generator.go, util.go):
//   - requestPrincipals / request.auth.principal "iss/sub": split at the last '/', the issuer and
//     subject claims matched separately ("*" = both present, "*suffix", "prefix*", "iss/*", ...);
//   - request.auth.audiences → the `aud` claim, request.auth.presenter → `azp`,
//     request.auth.claims[a][b] → the nested claim a.b;
//   - a claim matches when it is a string that matches, or a list with a string that matches.

type Payload = Readonly<Record<string, unknown>>;

/** Istio's string match for JWT values: "*" any non-empty value, "abc*", "*abc", or exact. */
function stringMatches(pattern: string, value: string): boolean {
  if (pattern === '*') return value !== '';
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return value === pattern;
}

const ANY = (v: string) => v !== '';
const exact = (s: string) => (v: string) => v === s;
const suffix = (s: string) => (v: string) => v.endsWith(s);
const prefix = (s: string) => (v: string) => v.startsWith(s);

/** Whether the token's `iss` and `sub` match a requestPrincipals value. */
export function requestPrincipalMatches(value: string, payload: Payload | undefined): boolean {
  if (!payload) return false;
  const iss = payload['iss'];
  const sub = payload['sub'];
  if (typeof iss !== 'string' || typeof sub !== 'string') return false;
  const idx = value.lastIndexOf('/');
  const found = idx >= 0;
  const i = found ? value.slice(0, idx) : value;
  const s = found ? value.slice(idx + 1) : '';
  let mi: (v: string) => boolean;
  let ms: (v: string) => boolean;
  if (value === '*') { mi = ANY; ms = ANY; }
  else if (value.startsWith('*')) {
    if (found) { mi = i === '*' ? ANY : suffix(i.slice(1)); ms = exact(s); }
    else { mi = ANY; ms = suffix(value.slice(1)); }
  } else if (value.endsWith('*')) {
    if (found) { mi = exact(i); ms = s === '*' ? ANY : prefix(s.slice(0, -1)); }
    else { mi = prefix(value.slice(0, -1)); ms = ANY; }
  } else { mi = exact(i); ms = exact(s); }
  return mi(iss) && ms(sub);
}

/** `request.auth.claims[a][b]` → ['a', 'b']; `[a.b]` stays one name, as in Istio. */
export function claimPath(key: string): string[] | undefined {
  const m = /^request\.auth\.claims(\[.+\])$/.exec(key);
  if (!m) return undefined;
  const s = m[1]!;
  const names: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '[') return [s.slice(1, -1)];
    const end = s.indexOf(']', i);
    const inner = end < 0 ? -1 : s.slice(i + 1, end).indexOf('[');
    if (end < 0 || inner >= 0) return [s.slice(1, -1)];
    names.push(s.slice(i + 1, end));
    i = end + 1;
  }
  return names;
}

/** The strings a claim holds at `path` (a string, or the strings of a list); empty when absent. */
export function claimValues(payload: Payload | undefined, path: readonly string[]): string[] {
  let v: unknown = payload;
  for (const k of path) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** A `when` condition on request.auth.*: values ORed, notValues excluded; undefined when the key is not a JWT one. */
export function jwtConditionValues(key: string, payload: Payload | undefined): { kind: 'principal' } | { kind: 'claim'; values: string[] } | undefined {
  if (key === 'request.auth.principal') return { kind: 'principal' };
  if (key === 'request.auth.audiences') return { kind: 'claim', values: claimValues(payload, ['aud']) };
  if (key === 'request.auth.presenter') return { kind: 'claim', values: claimValues(payload, ['azp']) };
  const path = claimPath(key);
  return path ? { kind: 'claim', values: claimValues(payload, path) } : undefined;
}

export function jwtValueMatches(pattern: string, value: string): boolean {
  return stringMatches(pattern, value);
}
