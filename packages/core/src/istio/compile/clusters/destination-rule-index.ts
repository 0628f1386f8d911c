// Which DestinationRule applies to a host, for one client — istiod's destination-rule index
// (model.PushContext.setDestinationRules / mergeDestinationRule / destinationRule and
// SidecarScope.DestinationRule) restated:
//  - rules are taken oldest first (rules with a workloadSelector before the rest), so when two
//    rules for one host both set a top-level trafficPolicy the older one wins;
//  - rules for the same host in one namespace merge: subsets join by unique name, the first
//    top-level trafficPolicy stays; rules with different exportTo stay apart (istiod's
//    "enhanced" merge, on by default), a wider one also absorbing the narrower;
//  - lookup: rules in the client's namespace (any exportTo that includes it), then rules
//    exported from the service's namespace, then from the root namespace; in each the exact
//    host wins over the most specific wildcard;
//  - among the rules found, one whose workloadSelector matches the client (same namespace)
//    wins, else the last one without a selector.
// What a merge leaves out (a duplicate subset, a second trafficPolicy) is kept in `conflicts`
// for the analyzer that reports it (analyze/analyze-conflicting-destination-rules.ts).

import type { ClientIdentity, CompileContext } from '../common/compile-context.ts';
import { compareByCreation, labelsMatch } from '../../object-conventions.ts';
import { hostCovers, isWildcardHost, mostSpecificHostMatch, resolveShortName } from '../common/host-names.ts';
import type { DestinationRule, DestinationRuleSpec, Subset } from '../../types.ts';

/** One or more DestinationRules for one host, merged as istiod merges them. */
export interface ConsolidatedRule {
  host: string;
  /** Merged spec: the first rule's, plus later rules' new subsets and (if it had none) trafficPolicy. */
  spec: DestinationRuleSpec;
  /** The rules merged in, first one first; its metadata names the result (istio.config). */
  from: DestinationRule[];
  /** Which rule (and index) declared each subset: a later one with the same name loses to it. */
  subsetOrigin: Map<string, { rule: DestinationRule; index: number }>;
  exportTo: ReadonlySet<string>;
}

/** Part of a DestinationRule that a merge with an older rule for the same host leaves out. */
export interface MergeConflict {
  rule: DestinationRule;
  path: readonly (string | number)[];
  /** The older rule that wins. */
  winner: DestinationRule;
  host: string;
  what: 'subset' | 'trafficPolicy';
}

interface HostRules {
  specific: Map<string, ConsolidatedRule[]>;
  wildcard: Map<string, ConsolidatedRule[]>;
}

export class DestinationRuleIndex {
  private readonly namespaceLocal = new Map<string, HostRules>();
  private readonly exportedByNamespace = new Map<string, HostRules>();
  private readonly rootNamespaceLocal: HostRules = newHostRules();
  private readonly client: ClientIdentity;
  private readonly defaultExportTo: readonly string[];
  /** Every host a DestinationRule names, whatever its visibility, with its subset names (diagnostics only). */
  readonly subsetsByHost = new Map<string, Set<string>>();
  readonly conflicts: MergeConflict[] = [];

  constructor(ctx: CompileContext, rules: readonly DestinationRule[]) {
    this.client = ctx.client;
    this.defaultExportTo = ctx.mesh.defaultDestinationRuleExportTo;
    const sorted = [...rules].sort((a, b) => {
      const as = a.spec.workloadSelector !== undefined;
      const bs = b.spec.workloadSelector !== undefined;
      if (as !== bs) return as ? -1 : 1;
      return compareByCreation(a, b);
    });
    for (const dr of sorted) this.add(dr);
  }

  /** Does any DestinationRule, visible to this client or not, define `subset` for `host` (or a wildcard covering it)? */
  declaresSubset(host: string, subset: string): boolean {
    for (const [h, names] of this.subsetsByHost) {
      if (names.has(subset) && (h === host || (isWildcardHost(h) && hostCovers(h, host)))) return true;
    }
    return false;
  }

  private add(dr: DestinationRule): void {
    const ns = dr.metadata.namespace;
    const host = resolveShortName(dr.spec.host, ns, this.client.clusterDomain);
    const names = this.subsetsByHost.get(host) ?? new Set<string>();
    for (const s of dr.spec.subsets ?? []) names.add(s.name);
    this.subsetsByHost.set(host, names);
    // A rule with a workloadSelector is never exported beyond its namespace; one without
    // exportTo gets MeshConfig's defaultDestinationRuleExportTo.
    const exportTo = new Set<string>(dr.spec.workloadSelector ? ['.'] : dr.spec.exportTo?.length ? dr.spec.exportTo : this.defaultExportTo);
    if (exportTo.size === 0 || exportTo.has('*') || exportTo.has('.') || exportTo.has(ns)) {
      mergeRule(this.conflicts, hostRulesFor(this.namespaceLocal, ns), host, dr, exportTo);
    }
    const privateOnly = exportTo.size === 1 && (exportTo.has('.') || exportTo.has(ns));
    if (!privateOnly) {
      mergeRule(this.conflicts, hostRulesFor(this.exportedByNamespace, ns), host, dr, exportTo);
    } else if (ns === this.client.rootNamespace) {
      mergeRule(this.conflicts, this.rootNamespaceLocal, host, dr, exportTo);
    }
  }

  /** The rule that applies to `hostname` (a service of `serviceNamespace`) for this client. */
  lookup(hostname: string, serviceNamespace: string | undefined): ConsolidatedRule | undefined {
    return this.select(this.candidates(hostname, serviceNamespace));
  }

  private candidates(hostname: string, serviceNamespace: string | undefined): ConsolidatedRule[] {
    const clientNs = this.client.namespace;
    const local = clientNs !== this.client.rootNamespace ? this.namespaceLocal.get(clientNs) : this.rootNamespaceLocal;
    if (local) {
      const found = mostSpecificHostMatch(hostname, local.specific, local.wildcard);
      if (found) return found.value;
    }
    if (serviceNamespace) {
      const out = this.exported(serviceNamespace, hostname);
      if (out.length > 0) return out;
    }
    return this.exported(this.client.rootNamespace, hostname);
  }

  private exported(owner: string, hostname: string): ConsolidatedRule[] {
    const rules = this.exportedByNamespace.get(owner);
    if (!rules) return [];
    const found = mostSpecificHostMatch(hostname, rules.specific, rules.wildcard);
    if (!found) return [];
    const clientNs = this.client.namespace;
    return found.value.filter((r) => r.exportTo.size === 0 || r.exportTo.has('*') || r.exportTo.has(clientNs));
  }

  private select(rules: ConsolidatedRule[]): ConsolidatedRule | undefined {
    let catchAll: ConsolidatedRule | undefined;
    for (const r of rules) {
      const selector = r.spec.workloadSelector;
      if (!selector) {
        catchAll = r;
        continue;
      }
      const first = r.from[0] as DestinationRule;
      if (first.metadata.namespace === this.client.namespace && labelsMatch(selector.matchLabels, this.client.labels)) return r;
    }
    return catchAll;
  }
}

function newHostRules(): HostRules {
  return { specific: new Map(), wildcard: new Map() };
}

function hostRulesFor(map: Map<string, HostRules>, ns: string): HostRules {
  let r = map.get(ns);
  if (!r) map.set(ns, (r = newHostRules()));
  return r;
}

function consolidate(host: string, dr: DestinationRule, exportTo: ReadonlySet<string>): ConsolidatedRule {
  const spec = structuredClone(dr.spec);
  const subsetOrigin = new Map<string, { rule: DestinationRule; index: number }>();
  (spec.subsets ?? []).forEach((s, index) => {
    if (!subsetOrigin.has(s.name)) subsetOrigin.set(s.name, { rule: dr, index });
  });
  return { host, spec, from: [dr], subsetOrigin, exportTo };
}

function mergeRule(conflicts: MergeConflict[], rules: HostRules, host: string, dr: DestinationRule, exportTo: ReadonlySet<string>): void {
  const map = isWildcardHost(host) ? rules.wildcard : rules.specific;
  const list = map.get(host);
  if (!list) {
    map.set(host, [consolidate(host, dr, exportTo)]);
    return;
  }
  let appendSeparately = true;
  for (const existing of list) {
    if (setsEqual(exportTo, existing.exportTo)) appendSeparately = false;
    else if (existing.exportTo.size > 0 && isSuperset(exportTo, existing.exportTo)) appendSeparately = true;
    else {
      appendSeparately = true;
      continue;
    }
    const newSel = dr.spec.workloadSelector;
    const oldSel = existing.spec.workloadSelector;
    const bothWithout = !newSel && !oldSel;
    const bothWith = !!newSel && !!oldSel;
    const selectorsMatch = recordsEqual(newSel?.matchLabels, oldSel?.matchLabels);
    if (bothWith && !selectorsMatch) {
      appendSeparately = true;
      continue;
    }
    if (bothWithout || (bothWith && selectorsMatch)) appendSeparately = false;
    joinInto(conflicts, existing, dr);
  }
  if (appendSeparately) list.push(consolidate(host, dr, exportTo));
}

function joinInto(conflicts: MergeConflict[], existing: ConsolidatedRule, dr: DestinationRule): void {
  existing.from.push(dr);
  const subsets: Subset[] = existing.spec.subsets ?? [];
  (dr.spec.subsets ?? []).forEach((s, index) => {
    if (existing.subsetOrigin.has(s.name)) {
      const first = existing.subsetOrigin.get(s.name)?.rule as DestinationRule;
      if (first !== dr) conflicts.push({ rule: dr, path: ['spec', 'subsets', index, 'name'], winner: first, host: existing.host, what: 'subset' });
      return;
    }
    subsets.push(structuredClone(s));
    existing.subsetOrigin.set(s.name, { rule: dr, index });
  });
  existing.spec.subsets = subsets;
  if (existing.spec.trafficPolicy === undefined && dr.spec.trafficPolicy !== undefined) {
    existing.spec.trafficPolicy = structuredClone(dr.spec.trafficPolicy);
  } else if (dr.spec.trafficPolicy !== undefined && existing.from[0] !== dr) {
    conflicts.push({ rule: dr, path: ['spec', 'trafficPolicy'], winner: existing.from[0] as DestinationRule, host: existing.host, what: 'trafficPolicy' });
  }
}

function setsEqual(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function isSuperset(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return [...b].every((x) => a.has(x));
}

function recordsEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  return ak.length === bk.length && ak.every((k) => a?.[k] === b?.[k]);
}
