// AuthorizationPolicy enforcement for one request, as Envoy's RBAC filters do it after istiod's
// translation (pilot/pkg/security/authz/builder): CUSTOM and AUDIT do not decide here; any
// matching DENY rule denies; then, if any ALLOW policy applies to the workload, the request
// must match one of its rules, else it is allowed. A policy applies when it is in the root
// namespace or the workload's namespace and its selector (if any) matches the workload.
//
// Matching follows Istio: a rule matches when one of its `from` entries, one of its `to`
// entries and every `when` condition match (an absent list matches); inside an entry every
// field set must match, a field matches when any value does and no `not*` value does. Values
// match exactly, by prefix ("abc*"), by suffix ("*abc") or always ("*"). Peer fields
// (principals, namespaces) need an mTLS peer: a plaintext caller has none, so they do not match.
// Request fields (requestPrincipals, request.auth.*) need a JWT that RequestAuthentication
// verified (jwt/jwt-claims.ts); a request without one has no request principal.

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { AuthorizationCondition, AuthorizationOperation, AuthorizationPolicy, AuthorizationRule, AuthorizationSource, RequestAuthentication } from '../istio/types.ts';
import { labelsMatch } from '../istio/object-conventions.ts';
import type { Workload } from './peer-authentication.ts';
import { jwtConditionValues, jwtValueMatches, requestPrincipalMatches } from './jwt/jwt-claims.ts';

export interface AuthzRequest {
  /** The caller's SPIFFE ID (from its certificate), when it connected over mTLS. */
  readonly peerIdentity: string | undefined;
  readonly sourceIp: string | undefined;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly host: string;
  /** The port the request arrived on. */
  readonly port: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly sni?: string | undefined;
  /** The query string without '?' (JWTs may be read from parameters). */
  readonly query?: string | undefined;
  /** The payload of the JWT RequestAuthentication verified for this request (Envoy's jwt_authn `payload` metadata). */
  readonly jwt?: Readonly<Record<string, unknown>> | undefined;
}

export interface AuthzDecision {
  readonly allowed: boolean;
  /** 'ns/name' of the policy that decided, when one did. */
  readonly policy: string | undefined;
  readonly reason: string;
}

/** The policies (AuthorizationPolicy, RequestAuthentication) of the root namespace and the workload's own whose selector matches it. */
export function applicablePolicies<P extends AuthorizationPolicy | RequestAuthentication>(policies: readonly P[], workload: Workload, rootNamespace: string): P[] {
  return policies.filter((p) => {
    if (p.metadata.namespace !== rootNamespace && p.metadata.namespace !== workload.namespace) return false;
    // targetRef(s) name gateways and services (waypoints); they do not select a workload.
    if (p.spec.targetRef !== undefined || p.spec.targetRefs !== undefined) return false;
    return labelsMatch(p.spec.selector?.matchLabels, workload.labels as Record<string, string>);
  });
}

export function authorize(policies: readonly AuthorizationPolicy[], req: AuthzRequest): AuthzDecision {
  const deny = policies.filter((p) => p.spec.action === 'DENY');
  for (const p of deny) {
    const i = (p.spec.rules ?? []).findIndex((r) => ruleMatches(r, req));
    if (i >= 0) return { allowed: false, policy: key(p), reason: `denied by DENY policy ${key(p)} rule ${i}` };
  }
  const allow = policies.filter((p) => (p.spec.action ?? 'ALLOW') === 'ALLOW');
  if (allow.length === 0) return { allowed: true, policy: undefined, reason: 'no ALLOW policy applies' };
  for (const p of allow) {
    const i = (p.spec.rules ?? []).findIndex((r) => ruleMatches(r, req));
    if (i >= 0) return { allowed: true, policy: key(p), reason: `allowed by ${key(p)} rule ${i}` };
  }
  return { allowed: false, policy: undefined, reason: `no rule of the ALLOW policies (${allow.map(key).join(', ')}) matches` };
}

function key(p: AuthorizationPolicy): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

export function ruleMatches(rule: AuthorizationRule, req: AuthzRequest): boolean {
  if (rule.from?.length && !rule.from.some((f) => f.source !== undefined && sourceMatches(f.source, req))) return false;
  if (rule.to?.length && !rule.to.some((t) => t.operation !== undefined && operationMatches(t.operation, req))) return false;
  return (rule.when ?? []).every((c) => conditionMatches(c, req));
}

function sourceMatches(s: AuthorizationSource, req: AuthzRequest): boolean {
  const principal = req.peerIdentity?.replace(/^spiffe:\/\//, '');
  const ns = principal ? /\/ns\/([^/]+)\//.exec(`/${principal}`)?.[1] : undefined;
  const sa = principal ? /\/sa\/([^/]+)$/.exec(principal)?.[1] : undefined;
  return field(s.principals, s.notPrincipals, principal)
    && field(s.namespaces, s.notNamespaces, ns)
    && field(s.serviceAccounts, s.notServiceAccounts, ns && sa ? `${ns}/${sa}` : undefined)
    && field(s.trustDomains, s.notTrustDomains, principal?.split('/')[0])
    && requestPrincipalField(s.requestPrincipals, s.notRequestPrincipals, req.jwt)
    && ipField(s.ipBlocks, s.notIpBlocks, req.sourceIp)
    && ipField(s.remoteIpBlocks, s.notRemoteIpBlocks, req.sourceIp);
}

function operationMatches(o: AuthorizationOperation, req: AuthzRequest): boolean {
  return field(o.methods, o.notMethods, req.method)
    && field(o.paths, o.notPaths, req.path)
    && field(o.ports, o.notPorts, String(req.port))
    && hostField(o.hosts, o.notHosts, req.host);
}

function requestPrincipalField(values: readonly string[] | undefined, notValues: readonly string[] | undefined, jwt: AuthzRequest['jwt']): boolean {
  if (values?.length && !values.some((v) => requestPrincipalMatches(v, jwt))) return false;
  if (notValues?.length && notValues.some((v) => requestPrincipalMatches(v, jwt))) return false;
  return true;
}

function conditionMatches(c: AuthorizationCondition, req: AuthzRequest): boolean {
  const auth = jwtConditionValues(c.key, req.jwt);
  if (auth?.kind === 'principal') return requestPrincipalField(c.values, c.notValues, req.jwt);
  if (auth) {
    const pos = c.values?.length ? auth.values.some((v) => c.values!.some((p) => jwtValueMatches(p, v))) : true;
    const neg = c.notValues?.length ? auth.values.some((v) => c.notValues!.some((p) => jwtValueMatches(p, v))) : false;
    return pos && !neg;
  }
  const values = attribute(c.key, req);
  const pos = c.values?.length ? values.some((v) => c.values!.some((p) => valueMatches(p, v))) : true;
  const neg = c.notValues?.length ? values.some((v) => c.notValues!.some((p) => valueMatches(p, v))) : false;
  return pos && !neg;
}

function attribute(key: string, req: AuthzRequest): string[] {
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) {
    const v = req.headers[header[1]!.toLowerCase()];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }
  const principal = req.peerIdentity?.replace(/^spiffe:\/\//, '');
  switch (key) {
    case 'source.principal': return principal ? [principal] : [];
    case 'source.namespace': { const ns = principal && /\/ns\/([^/]+)\//.exec(`/${principal}`)?.[1]; return ns ? [ns] : []; }
    case 'source.ip': case 'remote.ip': return req.sourceIp ? [req.sourceIp] : [];
    case 'destination.port': return [String(req.port)];
    case 'connection.sni': return req.sni ? [req.sni] : [];
    default: return [];
  }
}

function field(values: readonly string[] | undefined, notValues: readonly string[] | undefined, actual: string | undefined): boolean {
  if (values?.length && (actual === undefined || !values.some((v) => valueMatches(v, actual)))) return false;
  if (notValues?.length && actual !== undefined && notValues.some((v) => valueMatches(v, actual))) return false;
  return true;
}

function hostField(values: readonly string[] | undefined, notValues: readonly string[] | undefined, host: string): boolean {
  // Istio matches hosts case-insensitively, with or without the port.
  const bare = host.replace(/:\d+$/, '').toLowerCase();
  const m = (v: string) => valueMatches(v.toLowerCase(), host.toLowerCase()) || valueMatches(v.toLowerCase(), bare);
  if (values?.length && !values.some(m)) return false;
  if (notValues?.length && notValues.some(m)) return false;
  return true;
}

/** Istio's string match: "*" (anything present), "abc*", "*abc", or exact. */
export function valueMatches(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return value === pattern;
}

function ipField(blocks: readonly string[] | undefined, notBlocks: readonly string[] | undefined, ip: string | undefined): boolean {
  const addr = ip?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  if (blocks?.length && (addr === undefined || !blockList(blocks).check(addr, isIPv6(addr) ? 'ipv6' : 'ipv4'))) return false;
  if (notBlocks?.length && addr !== undefined && blockList(notBlocks).check(addr, isIPv6(addr) ? 'ipv6' : 'ipv4')) return false;
  return true;
}

function blockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [a = '', bits] = e.split('/');
    const type = isIPv4(a) ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(a, type);
    else list.addSubnet(a, Number(bits), type);
  }
  return list;
}
