// The JWT authentication in force for one server: Envoy's jwt_authn filter config
// (envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication) in the shape Meshlet evaluates,
// and how istiod builds it from RequestAuthentication (pilot/pkg/security/authn/policy_applier.go
// convertToEnvoyJwtConfig):
//   - the policies of the root namespace and the workload's namespace whose selector matches the
//     workload all apply together (rules are combined, not overridden), sorted by issuer;
//   - rule i becomes provider `origins-<i>`; with no fromHeaders/fromParams/fromCookies a token
//     is looked for in `Authorization: Bearer` and the `access_token` parameter (Envoy's
//     default); the payload goes to metadata under `payload`, with `scope`, `permission` and the
//     rule's spaceDelimitedClaims split on spaces;
//   - one provider: requires_any { origins-0, allow_missing }; several: requires_any { each
//     provider, requires_all { requires_any { origins-i, allow_missing } ... } } — a request
//     without a token passes, a token that is present must verify;
//   - CORS preflights bypass the filter; the jwksUri fetch times out after the rule's `timeout`
//     (5 s by default).

import type { RequestAuthentication } from '../../istio/types.ts';
import { goDurationToMs } from '../../istio/validate/validate-duration.ts';
import { applicablePolicies } from '../authorization-policy.ts';
import type { Workload } from '../peer-authentication.ts';
import type { KeySpec } from './jwks-cache.ts';

export interface JwtProviderConfig {
  readonly name: string;
  /** Empty: any issuer. */
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly keys: KeySpec;
  readonly fromHeaders: readonly { readonly name: string; readonly prefix: string }[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  /** Keep the token in the request passed on (forwardOriginalToken). */
  readonly forward: boolean;
  readonly forwardPayloadHeader: string | undefined;
  readonly claimToHeaders: readonly { readonly header: string; readonly claim: string }[];
  /** Metadata key of the verified payload (istiod: `payload`). */
  readonly payloadInMetadata: string | undefined;
  readonly spaceDelimitedClaims: readonly string[];
}

export type JwtRequirement =
  | { readonly provider: string }
  | { readonly any: readonly JwtRequirement[] }
  | { readonly all: readonly JwtRequirement[] }
  | { readonly allowMissing: true }
  | { readonly allowMissingOrFailed: true };

export interface JwtAuthnConfig {
  readonly providers: ReadonlyMap<string, JwtProviderConfig>;
  readonly requires: JwtRequirement;
  readonly bypassCorsPreflight: boolean;
  /** What this config came from, for messages: 'RequestAuthentication ns/name, ...' or a listener. */
  readonly source: string;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_SPACE_DELIMITED = ['permission', 'scope'];

/** The RequestAuthentication policies that apply to a workload (root namespace and its own, selector matching). */
export function applicableRequestAuthentications(policies: readonly RequestAuthentication[], workload: Workload, rootNamespace: string): RequestAuthentication[] {
  return applicablePolicies(policies, workload, rootNamespace);
}

/** The jwt_authn config istiod would program for these policies; undefined when they have no rules. */
export function compileJwtAuthn(policies: readonly RequestAuthentication[]): JwtAuthnConfig | undefined {
  const rules = policies.flatMap((p) => p.spec.jwtRules ?? []);
  if (rules.length === 0) return undefined;
  // Stable sort by issuer, as istiod does, so provider names do not move with file order.
  const sorted = rules.map((r, i) => ({ r, i })).sort((a, b) => (a.r.issuer ?? '').localeCompare(b.r.issuer ?? '') || a.i - b.i).map((x) => x.r);
  const providers = new Map<string, JwtProviderConfig>();
  sorted.forEach((rule, i) => {
    const name = `origins-${i}`;
    const timeoutMs = (rule.timeout !== undefined ? goDurationToMs(rule.timeout) : undefined) ?? DEFAULT_TIMEOUT_MS;
    const uri = rule.jwksUri ?? rule.jwks_uri;
    const keys: KeySpec = rule.jwks ? { kind: 'inline', jwks: rule.jwks }
      : uri ? { kind: 'remote', uri, timeoutMs }
      : { kind: 'discovery', issuer: rule.issuer ?? '', timeoutMs };
    const noLocations = !rule.fromHeaders?.length && !rule.fromParams?.length && !rule.fromCookies?.length;
    providers.set(name, {
      name,
      issuer: rule.issuer ?? '',
      audiences: rule.audiences ?? [],
      keys,
      fromHeaders: noLocations ? [{ name: 'authorization', prefix: 'Bearer ' }] : (rule.fromHeaders ?? []).map((h) => ({ name: h.name.toLowerCase(), prefix: h.prefix ?? '' })),
      fromParams: noLocations ? ['access_token'] : rule.fromParams ?? [],
      fromCookies: rule.fromCookies ?? [],
      forward: rule.forwardOriginalToken ?? false,
      forwardPayloadHeader: rule.outputPayloadToHeader || undefined,
      claimToHeaders: (rule.outputClaimToHeaders ?? []).map((c) => ({ header: c.header.toLowerCase(), claim: c.claim })),
      payloadInMetadata: 'payload',
      spaceDelimitedClaims: [...new Set([...(rule.spaceDelimitedClaims ?? []), ...DEFAULT_SPACE_DELIMITED])].sort(),
    });
  });
  const names = [...providers.keys()];
  const eachOrMissing = names.map((n): JwtRequirement => ({ any: [{ provider: n }, { allowMissing: true }] }));
  const requires: JwtRequirement = names.length === 1 ? eachOrMissing[0]! : { any: [...names.map((n) => ({ provider: n })), { all: eachOrMissing }] };
  return {
    providers,
    requires,
    bypassCorsPreflight: true,
    source: `RequestAuthentication ${policies.filter((p) => p.spec.jwtRules?.length).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`,
  };
}
