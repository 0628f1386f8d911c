// AuthorizationPolicy → Envoy RBAC HTTP filter configs, the form istiod sends a proxyless gRPC
// server or a sidecar's inbound listener (pilot/pkg/security/authz/builder, model/generator.go):
// one DENY filter and one ALLOW filter (absent when no policy of that action applies; an ALLOW
// filter with no policies denies everything, as an ALLOW policy with no rules does). Each rule
// becomes a Policy named `<ns>-<name>-<i>` as grpcgen names them: permissions from `to` (any entry;
// fields ANDed, values ORed) plus destination-side `when` conditions; principals from `from`
// plus source/request-side `when` conditions. Principals are matched on the SPIFFE URI; request
// principals and request.auth.* conditions are metadata matchers on the jwt_authn filter's
// `payload` (istiod's requestPrincipalGenerator, requestClaimGenerator, ...).
//
// rbac.ts evaluates the same configs, so a server can enforce policies that arrive either way;
// the tests check both paths give the same decisions.

import type { AuthorizationCondition, AuthorizationOperation, AuthorizationPolicy, AuthorizationRule, AuthorizationSource } from '../istio/types.ts';
import type { StringMatcher } from '../xds/resources.ts';
import { claimPath } from './jwt/jwt-claims.ts';

export const RBAC_FILTER = 'envoy.filters.http.rbac';
export const RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

type Json = Record<string, unknown>;
const ANY: Json = { any: true };
const NEVER_ID: Json = { notId: { any: true } };
export const JWT_AUTHN_FILTER = 'envoy.filters.http.jwt_authn';

export interface RbacFilterConfig {
  '@type': typeof RBAC_TYPE_URL;
  rules: { action: 'ALLOW' | 'DENY'; policies: Record<string, Json> };
}

/** The RBAC filters (DENY first, then ALLOW) for the policies that apply to a workload. */
export function compileRbacFilters(policies: readonly AuthorizationPolicy[]): RbacFilterConfig[] {
  const out: RbacFilterConfig[] = [];
  for (const action of ['DENY', 'ALLOW'] as const) {
    const mine = policies.filter((p) => (p.spec.action ?? 'ALLOW') === action);
    if (mine.length === 0) continue;
    const named: Record<string, Json> = {};
    for (const p of mine) {
      (p.spec.rules ?? []).forEach((rule, i) => {
        named[`${p.metadata.namespace}-${p.metadata.name}-${i}`] = policyOf(rule);
      });
    }
    out.push({ '@type': RBAC_TYPE_URL, rules: { action, policies: named } });
  }
  return out;
}

function policyOf(rule: AuthorizationRule): Json {
  const when = rule.when ?? [];
  const permWhen = when.filter((c) => PERMISSION_KEYS.has(c.key)).map(permissionCondition);
  const idWhen = when.filter((c) => !PERMISSION_KEYS.has(c.key)).map(principalCondition);
  const tos = (rule.to ?? []).filter((t) => t.operation).map((t) => operation(t.operation!));
  const froms = (rule.from ?? []).filter((f) => f.source).map((f) => source(f.source!));
  const permissions = (tos.length ? tos : [[]]).map((parts) => andRules([...parts, ...permWhen]));
  const principals = (froms.length ? froms : [[]]).map((parts) => andIds([...parts, ...idWhen]));
  return { permissions, principals };
}

const PERMISSION_KEYS = new Set(['destination.port', 'destination.ip', 'connection.sni']);

function andRules(rules: Json[]): Json {
  return rules.length === 0 ? ANY : rules.length === 1 ? rules[0]! : { andRules: { rules } };
}
function andIds(ids: Json[]): Json {
  return ids.length === 0 ? ANY : ids.length === 1 ? ids[0]! : { andIds: { ids } };
}
function orRules(rules: Json[]): Json {
  return rules.length === 1 ? rules[0]! : { orRules: { rules } };
}
function orIds(ids: Json[]): Json {
  return ids.length === 1 ? ids[0]! : { orIds: { ids } };
}

/** `values` ORed, then `notValues` negated, ANDed together (empty lists contribute nothing). */
function field<T>(values: readonly string[] | undefined, notValues: readonly string[] | undefined, one: (v: string) => T, or: (xs: T[]) => T, not: (x: T) => T): T[] {
  const out: T[] = [];
  if (values?.length) out.push(or(values.map(one)));
  if (notValues?.length) out.push(not(or(notValues.map(one))));
  return out;
}

const rulesField = (values: readonly string[] | undefined, notValues: readonly string[] | undefined, one: (v: string) => Json) =>
  field(values, notValues, one, orRules, (x) => ({ notRule: x }));
const idsField = (values: readonly string[] | undefined, notValues: readonly string[] | undefined, one: (v: string) => Json) =>
  field(values, notValues, one, orIds, (x) => ({ notId: x }));

/** Istio's value syntax ("*", "abc*", "*abc", exact) as a StringMatcher. */
export function istioStringMatcher(v: string, opts: { prefix?: string; ignoreCase?: boolean } = {}): StringMatcher {
  const p = opts.prefix ?? '';
  const ic = opts.ignoreCase ? { ignoreCase: true } : {};
  if (v === '*') return { safeRegex: { regex: '.+' } };
  if (v.endsWith('*')) return { prefix: p + v.slice(0, -1), ...ic };
  if (v.startsWith('*')) return { suffix: v.slice(1), ...ic };
  return { exact: p + v, ...ic };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A namespace value as a regex over the SPIFFE URI's `/ns/<ns>/` segment. */
function namespaceRegex(v: string): string {
  const ns = v === '*' ? '[^/]+' : v.endsWith('*') ? `${escape(v.slice(0, -1))}[^/]*` : v.startsWith('*') ? `[^/]*${escape(v.slice(1))}` : escape(v);
  return `spiffe://[^/]+/ns/${ns}/.*`;
}

function principal(v: string): Json {
  return { authenticated: { principalName: istioStringMatcher(v, { prefix: 'spiffe://' }) } };
}
function namespace(v: string): Json {
  return { authenticated: { principalName: { safeRegex: { regex: namespaceRegex(v) } } } };
}
function serviceAccount(v: string): Json {
  const [ns = '', sa = ''] = v.split('/');
  return { authenticated: { principalName: { safeRegex: { regex: `spiffe://[^/]+/ns/${escape(ns)}/sa/${escape(sa)}` } } } };
}
/** istiod's srcTrustDomainGenerator: `*` any, a plain name a prefix, one `*` a wildcard within the domain. */
function trustDomain(v: string): Json {
  if (v === '*') return { authenticated: { principalName: { prefix: 'spiffe://' } } };
  if (!v.includes('*')) return { authenticated: { principalName: { prefix: `spiffe://${v}/` } } };
  const [head = '', tail = ''] = v.split('*', 2);
  return { authenticated: { principalName: { safeRegex: { regex: `spiffe://${escape(head)}[^/]*${escape(tail)}/.*` } } } };
}
function cidr(v: string): Json {
  const [addr = '', bits] = v.split('/');
  return { addressPrefix: addr, prefixLen: bits !== undefined ? Number(bits) : addr.includes(':') ? 128 : 32 };
}
function header(name: string, v: string, ignoreCase = false): Json {
  return v === '*' ? { header: { name, presentMatch: true } } : { header: { name, stringMatch: istioStringMatcher(v, { ignoreCase }) } };
}

function source(s: AuthorizationSource): Json[] {
  return [
    ...idsField(s.principals, s.notPrincipals, principal),
    ...idsField(s.namespaces, s.notNamespaces, namespace),
    ...idsField(s.serviceAccounts, s.notServiceAccounts, serviceAccount),
    ...idsField(s.trustDomains, s.notTrustDomains, trustDomain),
    ...idsField(s.requestPrincipals, s.notRequestPrincipals, requestPrincipal),
    ...idsField(s.ipBlocks, s.notIpBlocks, (v) => ({ directRemoteIp: cidr(v) })),
    ...idsField(s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => ({ remoteIp: cidr(v) })),
  ];
}

function operation(o: AuthorizationOperation): Json[] {
  return [
    ...rulesField(o.methods, o.notMethods, (v) => header(':method', v)),
    ...rulesField(o.paths, o.notPaths, (v) => ({ urlPath: { path: v === '*' ? { safeRegex: { regex: '.*' } } : istioStringMatcher(v) } })),
    ...rulesField(o.ports, o.notPorts, (v) => ({ destinationPort: Number(v) })),
    ...rulesField(o.hosts, o.notHosts, host),
  ];
}

/** A host value matches the authority with or without its port, ignoring case (Istio's host rule). */
function host(v: string): Json {
  const authority = (sm: StringMatcher): Json => ({ header: { name: ':authority', stringMatch: sm } });
  if (v === '*') return { header: { name: ':authority', presentMatch: true } };
  if (v.endsWith('*')) return authority({ prefix: v.slice(0, -1), ignoreCase: true });
  if (v.startsWith('*')) return orRules([authority({ suffix: v.slice(1), ignoreCase: true }), authority({ safeRegex: { regex: `.*${escape(v.slice(1).toLowerCase())}:[0-9]+` } })]);
  return orRules([authority({ exact: v, ignoreCase: true }), authority({ prefix: `${v}:`, ignoreCase: true })]);
}

function permissionCondition(c: AuthorizationCondition): Json {
  const one = (v: string): Json => {
    switch (c.key) {
      case 'destination.port': return { destinationPort: Number(v) };
      case 'destination.ip': return { destinationIp: cidr(v) };
      default: return { requestedServerName: istioStringMatcher(v) };
    }
  };
  return andRules(rulesField(c.values, c.notValues, one));
}

/** A metadata matcher on the verified JWT payload at `claims`. */
function jwtMetadata(claims: readonly string[], value: Json): Json {
  return { metadata: { filter: JWT_AUTHN_FILTER, path: ['payload', ...claims].map((key) => ({ key })), value } };
}

/** "iss/sub", split at the last '/': the issuer and subject claims matched separately. */
function requestPrincipal(v: string): Json {
  const idx = v.lastIndexOf('/');
  const found = idx >= 0;
  const iss = found ? v.slice(0, idx) : v;
  const sub = found ? v.slice(idx + 1) : '';
  const any: StringMatcher = { safeRegex: { regex: '.+' } };
  let mi: StringMatcher;
  let ms: StringMatcher;
  if (v === '*') { mi = any; ms = any; }
  else if (v.startsWith('*')) {
    if (found) { mi = iss === '*' ? any : { suffix: iss.slice(1) }; ms = { exact: sub }; }
    else { mi = any; ms = { suffix: v.slice(1) }; }
  } else if (v.endsWith('*')) {
    if (found) { mi = { exact: iss }; ms = sub === '*' ? any : { prefix: sub.slice(0, -1) }; }
    else { mi = { prefix: v.slice(0, -1) }; ms = any; }
  } else { mi = { exact: iss }; ms = { exact: sub }; }
  return andIds([jwtMetadata(['iss'], { stringMatch: mi }), jwtMetadata(['sub'], { stringMatch: ms })]);
}

/** A claim holding one of `values`: a matching string, or a list with a matching string. */
function claimMatcher(claims: readonly string[], values: readonly string[]): Json {
  const strings = values.map((v): Json => ({ stringMatch: istioStringMatcher(v) }));
  const one: Json = strings.length === 1 ? strings[0]! : { orMatch: { valueMatchers: strings } };
  return jwtMetadata(claims, { orMatch: { valueMatchers: [{ listMatch: { oneOf: one } }, one] } });
}

function jwtCondition(c: AuthorizationCondition): Json | undefined {
  const claims = c.key === 'request.auth.audiences' ? ['aud'] : c.key === 'request.auth.presenter' ? ['azp'] : claimPath(c.key);
  if (c.key === 'request.auth.principal') return andIds(idsField(c.values, c.notValues, requestPrincipal));
  if (!claims) return undefined;
  const out: Json[] = [];
  if (c.values?.length) out.push(claimMatcher(claims, c.values));
  if (c.notValues?.length) out.push({ notId: claimMatcher(claims, c.notValues) });
  return andIds(out);
}

function principalCondition(c: AuthorizationCondition): Json {
  const jwt = jwtCondition(c);
  if (jwt) return jwt;
  const h = /^request\.headers\[(.+)\]$/.exec(c.key);
  const one = (v: string): Json => {
    if (h) return header(h[1]!.toLowerCase(), v);
    switch (c.key) {
      case 'source.principal': return principal(v);
      case 'source.namespace': return namespace(v);
      case 'source.ip': return { directRemoteIp: cidr(v) };
      case 'remote.ip': return { remoteIp: cidr(v) };
      // Anything else Meshlet has no value for: never present.
      default: return NEVER_ID;
    }
  };
  return andIds(idsField(c.values, c.notValues, one));
}
