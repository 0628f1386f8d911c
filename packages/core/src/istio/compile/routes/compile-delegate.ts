// VirtualService delegation, one level deep, as istiod merges it (model.MergeHTTPRoutes):
// every rule of the delegate becomes a rule of the root, its match entries narrowed by the root
// rule's (each delegate entry must fall inside some root entry, otherwise the delegate rule is
// dropped as conflicting), and the root rule's settings fill whatever the delegate rule leaves
// unset. Names compose as `<root>-<delegate>`.

import type { CompileContext } from '../common/compile-context.ts';
import { resolveRuleHosts, type ResolvedRule, type RuleOrigin } from './resolved-rule.ts';
import type { HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService } from '../../types.ts';

export function mergeDelegateRules(ctx: CompileContext, root: HTTPRoute, origin: RuleOrigin, delegate: VirtualService, domain: string): ResolvedRule[] {
  const out: ResolvedRule[] = [];
  (delegate.spec.http ?? []).forEach((raw, index) => {
    const path = ['spec', 'http', index];
    if (raw.delegate) {
      ctx.problems.warn(delegate, [...path, 'delegate'], 'a delegate VirtualService cannot delegate further; this rule is skipped');
      return;
    }
    // The delegate's own short names are relative to the delegate's namespace.
    const rule = resolveRuleHosts(raw, delegate.metadata.namespace, domain);
    const merged = mergeRule(root, rule);
    if (!merged) {
      ctx.problems.warn(delegate, [...path, 'match'], `match conflicts with the delegating rule of VirtualService ${origin.root.metadata.namespace}/${origin.root.metadata.name} (spec.http[${origin.ruleIndex}]); this rule is skipped`);
      return;
    }
    out.push({
      http: merged,
      origin: { vs: delegate, path, root: origin.root, ruleIndex: origin.ruleIndex, delegate: { vs: delegate, ruleIndex: index } },
    });
  });
  return out;
}

function mergeRule(root: HTTPRoute, leaf: HTTPRoute): HTTPRoute | undefined {
  const match = mergeMatches(root.match ?? [], leaf.match ?? []);
  if (match === undefined) return undefined;
  const out: HTTPRoute = { ...leaf };
  if (match.length > 0) out.match = match;
  else delete out.match;
  if (!leaf.name) {
    if (root.name) out.name = root.name;
  } else if (root.name) out.name = `${root.name}-${leaf.name}`;
  const inherit = ['rewrite', 'directResponse', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage', 'corsPolicy', 'mirrors', 'headers'] as const;
  for (const key of inherit) {
    if (out[key] === undefined && root[key] !== undefined) (out as Record<string, unknown>)[key] = root[key];
  }
  return out;
}

/** Merged entries, or undefined on conflict (some delegate entry fits no root entry). */
function mergeMatches(root: HTTPMatchRequest[], leaf: HTTPMatchRequest[]): HTTPMatchRequest[] | undefined {
  if (root.length === 0) return leaf;
  if (leaf.length === 0) return root;
  const out: HTTPMatchRequest[] = [];
  for (const sub of leaf) {
    let found = false;
    for (const r of root) {
      if (hasConflict(r, sub)) continue;
      out.push(mergeMatch(r, sub));
      found = true;
    }
    if (!found) return undefined;
  }
  return out.length === 0 ? undefined : out;
}

function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  const out: HTTPMatchRequest = { ...leaf };
  if (!leaf.name) {
    if (root.name) out.name = root.name;
  } else if (root.name) out.name = `${root.name}-${leaf.name}`;
  for (const key of ['uri', 'scheme', 'method', 'authority'] as const) {
    if (out[key] === undefined && root[key] !== undefined) out[key] = root[key];
  }
  for (const key of ['headers', 'withoutHeaders', 'queryParams', 'sourceLabels'] as const) {
    const merged = { ...(root[key] ?? {}), ...(leaf[key] ?? {}) } as Record<string, never>;
    if (Object.keys(merged).length > 0) out[key] = merged;
  }
  if (!out.port && root.port) out.port = root.port;
  if (!out.sourceNamespace && root.sourceNamespace) out.sourceNamespace = root.sourceNamespace;
  if ((out.gateways?.length ?? 0) === 0 && root.gateways) out.gateways = root.gateways;
  if (!out.statPrefix && root.statPrefix) out.statPrefix = root.statPrefix;
  return out;
}

function hasConflict(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  for (const key of ['uri', 'scheme', 'method', 'authority'] as const) {
    if (stringMatchConflict(root[key], leaf[key])) return true;
  }
  for (const [k, v] of Object.entries(leaf.headers ?? {})) if (stringMatchConflict(root.headers?.[k], v)) return true;
  for (const [k, v] of Object.entries(leaf.withoutHeaders ?? {})) if (stringMatchConflict(root.withoutHeaders?.[k], v)) return true;
  for (const [k, v] of Object.entries(leaf.queryParams ?? {})) if (stringMatchConflict(root.queryParams?.[k], v)) return true;
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) {
    const rv = root.sourceLabels?.[k];
    if (rv !== undefined && rv !== v) return true;
  }
  const rg = root.gateways ?? [];
  const lg = leaf.gateways ?? [];
  if (rg.length > 0 && lg.length > 0) {
    if (rg.length < lg.length) return true;
    if (lg.some((g) => !rg.includes(g))) return true;
  }
  return false;
}

// Is the delegate's condition not contained in the root's? Mirrors model.stringMatchConflict.
function stringMatchConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  if (root.regex && (leaf.regex || leaf.prefix || leaf.exact)) return true;
  if (leaf.regex && (root.regex || root.prefix || root.exact)) return true;
  if (root.exact) return !!leaf.prefix || leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}
