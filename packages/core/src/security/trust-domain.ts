// The mesh's trust domain and its aliases (MeshConfig trustDomain, trustDomainAliases), as
// istiod applies them on the server side:
//  - AuthorizationPolicy principals are rewritten for every trust domain of the mesh
//    (pilot/pkg/security/trustdomain Bundle.ReplaceTrustDomainAliases): a principal
//    `td/ns/foo/sa/bar` whose trust domain is the mesh's, an alias, or "cluster.local" (which
//    always stands for the local one) matches `<each trust domain>/ns/foo/sa/bar`; `*/ns/...`
//    does not check the trust domain and stays as written; any other is kept as written;
//  - a peer certificate's SPIFFE trust domain must be one of them (TrustDomainsForValidation,
//    Envoy's SPIFFE certificate validator), unless the certificate carries no SPIFFE ID.

import type { AuthorizationCondition, AuthorizationPolicy, AuthorizationRule } from '../istio/types.ts';
import { parseSpiffeId } from './spiffe.ts';

export interface TrustDomainBundle {
  readonly trustDomain: string;
  readonly trustDomainAliases: readonly string[];
}

const LOCAL = 'cluster.local';

/** [trustDomain, ...aliases], without duplicates. */
export function trustDomains(b: TrustDomainBundle): string[] {
  return [...new Set([b.trustDomain, ...b.trustDomainAliases])];
}

/** The principals a policy's principal stands for in a mesh with these trust domains. */
export function expandPrincipal(principal: string, b: TrustDomainBundle): string[] {
  const parts = principal.split('/');
  // Not `<td>/ns/<ns>/sa/<sa>`, or `*` (any trust domain): nothing to replace.
  if (parts.length !== 5 || parts[0] === '*') return [principal];
  const td = parts[0]!;
  const domains = trustDomains(b);
  if (!domains.includes(td) && td !== LOCAL) return [principal];
  const rest = parts.slice(1).join('/');
  const out: string[] = [];
  for (const d of domains) {
    // A trust domain pattern (`*-td`) that covers the principal's keeps the principal as written.
    const p = suffixMatch(d, td) ? principal : `${d}/${rest}`;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

function suffixMatch(pattern: string, td: string): boolean {
  return pattern.startsWith('*') && td.endsWith(pattern.slice(1));
}

/**
 * A copy of the policies with principals expanded for the mesh's trust domains; the same
 * objects when there is nothing to change (one trust domain, the principals already in it).
 */
export function migrateTrustDomain(policies: readonly AuthorizationPolicy[], b: TrustDomainBundle): AuthorizationPolicy[] {
  if (b.trustDomainAliases.length === 0 && b.trustDomain === LOCAL) return [...policies];
  const expand = (values: string[] | undefined): string[] | undefined => values && [...new Set(values.flatMap((v) => expandPrincipal(v, b)))];
  return policies.map((p) => {
    if (!p.spec.rules?.length) return p;
    const rules = p.spec.rules.map((r): AuthorizationRule => ({
      ...r,
      ...(r.from && { from: r.from.map((f) => (f.source ? { ...f, source: { ...f.source, ...(f.source.principals && { principals: expand(f.source.principals) }), ...(f.source.notPrincipals && { notPrincipals: expand(f.source.notPrincipals) }) } } : f)) }),
      ...(r.when && { when: r.when.map((c): AuthorizationCondition => (c.key === 'source.principal' ? { ...c, ...(c.values && { values: expand(c.values) }), ...(c.notValues && { notValues: expand(c.notValues) }) } : c)) }),
    }));
    return { ...p, spec: { ...p.spec, rules } };
  });
}

/**
 * Why a peer's certificate identity is refused, or undefined when its trust domain is one of the
 * mesh's (or it has no SPIFFE ID: the chain check already decided).
 */
export function peerTrustDomainProblem(spiffeId: string | undefined, b: TrustDomainBundle): string | undefined {
  if (spiffeId === undefined) return undefined;
  const parts = parseSpiffeId(spiffeId);
  if (!parts) return undefined;
  const domains = trustDomains(b);
  if (domains.includes(parts.trustDomain)) return undefined;
  return `peer identity ${spiffeId} is in trust domain ${parts.trustDomain}, not the mesh's (${domains.join(', ')}; MeshConfig trustDomain, trustDomainAliases)`;
}
