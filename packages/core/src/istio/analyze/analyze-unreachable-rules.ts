// IST0130 / IST0131: VirtualService rules and matches that can never be chosen, because routing
// stops at the first rule that matches. istiod's webhook and istioctl give the same three
// findings: a rule after a catch-all (a rule with no match), a match identical to an earlier
// one, and a prefix match an earlier prefix match already covers. The covering test
// deliberately follows istiod's (it only looks at prefix uri matches and compares the other
// conditions textually), so `meshlet validate` reports exactly where `istioctl` would. A rule
// made unreachable only for some clients (by sourceLabels, port or gateways) is reported by the
// compiler for the client concerned.

import type { HTTPMatchRequest, StringMatch } from '../types.ts';
import type { AnalysisContext, Analyzer, Path } from './analysis-context.ts';
import type { MessageName } from './analysis-messages.ts';

interface RuleLike {
  name?: string;
  match?: object[];
}

const MAP_FIELDS = new Set(['headers', 'queryParams', 'withoutHeaders', 'sourceLabels']);

/** A canonical text of a match, ignoring its name and any field left at its default. */
function matchKey(match: object, dropName: boolean): string {
  return JSON.stringify(canonical(match, dropName)) ?? '';
}

function canonical(v: unknown, dropName = false): unknown {
  if (Array.isArray(v)) {
    const items = v.map((x) => canonical(x));
    return items.length ? items : undefined;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      if (dropName && k === 'name') continue;
      const c = canonical((v as Record<string, unknown>)[k]);
      if (c === undefined) continue;
      if (MAP_FIELDS.has(k) && typeof c === 'object' && c !== null && Object.keys(c).length === 0) continue;
      out[k] = c;
    }
    return out;
  }
  if (v === false || v === 0 || v === '' || v === undefined || v === null) return undefined;
  return v;
}

function ruleLabel(rule: RuleLike, i: number): string {
  return rule.name ? `"${rule.name}"` : `#${i}`;
}

function matchLabel(match: object, j: number): string {
  const name = (match as { name?: string }).name;
  return name ? `"${name}"` : `#${j}`;
}

type Finding = (message: MessageName, path: Path, text: string) => void;

export const unreachableRules: Analyzer = {
  name: 'virtualservice.UnreachableRules',
  description: 'no VirtualService rule or match comes after one that takes all its requests',
  messages: ['VirtualServiceUnreachableRule', 'VirtualServiceIneffectiveMatch'],
  run(ctx: AnalysisContext) {
    for (const vs of ctx.virtualServices) {
      const report: Finding = (message, path, text) => ctx.report(message, vs, path, text);
      findUnreachable(vs.spec.http ?? [], ['spec', 'http'], report, true);
      findUnreachable((vs.spec.tcp ?? []) as RuleLike[], ['spec', 'tcp'], report, false);
      findUnreachable((vs.spec.tls ?? []) as RuleLike[], ['spec', 'tls'], report, false);
    }
  },
};

/** Unreachable rules and ineffective matches in one list of routes (spec.http, spec.tcp or spec.tls). */
function findUnreachable(rules: readonly RuleLike[], path: Path, report: Finding, isHttp: boolean): void {
  const seen = new Map<string, number>();
  let catchAll = -1;
  const prefixMatches: PrefixMatch[] = [];
  rules.forEach((rule, i) => {
    const matches = rule.match ?? [];
    if (matches.length === 0) {
      if (catchAll >= 0) {
        report('VirtualServiceUnreachableRule', [...path, i], `rule ${ruleLabel(rule, i)} is never used: rule ${ruleLabel(rules[catchAll] as RuleLike, catchAll)} before it has no match and takes every request (only the last rule may have no match)`);
      }
      catchAll = i;
      return;
    }
    if (catchAll >= 0) {
      report('VirtualServiceUnreachableRule', [...path, i], `rule ${ruleLabel(rule, i)} is never used: rule ${ruleLabel(rules[catchAll] as RuleLike, catchAll)} before it has no match and takes every request`);
      return;
    }
    let duplicates = 0;
    matches.forEach((match, j) => {
      const key = matchKey(match, isHttp);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        report('VirtualServiceIneffectiveMatch', [...path, i, 'match', j], `match ${matchLabel(match, j)} of rule ${ruleLabel(rule, i)} is never used: rule ${ruleLabel(rules[earlier] as RuleLike, earlier)} has the same match`);
        duplicates++;
        return;
      }
      seen.set(key, i);
      if (isHttp) {
        const pm = toPrefixMatch(match as HTTPMatchRequest, rule, i, j);
        if (pm) prefixMatches.push(pm);
      }
    });
    if (duplicates === matches.length) {
      report('VirtualServiceUnreachableRule', [...path, i], `rule ${ruleLabel(rule, i)} is never used: all its matches are used by earlier rules`);
    }
  });

  for (let a = 0; a < prefixMatches.length; a++) {
    const earlier = prefixMatches[a] as PrefixMatch;
    for (let b = a + 1; b < prefixMatches.length; b++) {
      const later = prefixMatches[b] as PrefixMatch;
      if (later.prefix === earlier.prefix) continue; // already reported as a duplicate, or differs elsewhere
      if (covers(earlier, later)) {
        report(
          'VirtualServiceIneffectiveMatch',
          [...path, later.rule, 'match', later.match],
          `match ${later.label} (prefix "${later.prefix}") of rule ${later.ruleLabel} is never used: match ${earlier.label} (prefix "${earlier.prefix}") of rule ${earlier.ruleLabel} takes its requests first`,
        );
      }
    }
  }
}

interface PrefixMatch {
  rule: number;
  match: number;
  ruleLabel: string;
  label: string;
  prefix: string;
  port: number;
  method: string;
  authority: string;
  headers: Map<string, string>;
  queryParams: Map<string, string>;
  withoutHeaders: Map<string, string>;
}

/** "exact:v" / "prefix:v" for the condition, "" when it is absent or a regex. */
function condition(sm: StringMatch | undefined): string {
  if (sm?.exact) return `exact:${sm.exact}`;
  if (sm?.prefix) return `prefix:${sm.prefix}`;
  return '';
}

function conditions(m: Record<string, StringMatch> | undefined): Map<string, string> {
  return new Map(Object.entries(m ?? {}).map(([k, v]) => [k, condition(v)]));
}

function toPrefixMatch(m: HTTPMatchRequest, rule: RuleLike, i: number, j: number): PrefixMatch | undefined {
  const prefix = m.uri?.prefix;
  if (!prefix) return undefined;
  return {
    rule: i,
    match: j,
    ruleLabel: ruleLabel(rule, i),
    label: matchLabel(m, j),
    prefix,
    port: m.port ?? 0,
    // istiod's analysis takes a match without a method to mean GET.
    method: condition(m.method) || 'exact:GET',
    authority: condition(m.authority),
    headers: conditions(m.headers),
    queryParams: conditions(m.queryParams),
    withoutHeaders: conditions(m.withoutHeaders),
  };
}

/** istiod's test: the later prefix extends the earlier one and every other condition is the same (textually). */
function covers(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix)) return false;
  if (a.port !== b.port) return false;
  if (!a.method.startsWith(b.method)) return false;
  if (!a.authority.startsWith(b.authority)) return false;
  return sameConditions(a.headers, b.headers) && sameConditions(a.queryParams, b.queryParams) && sameConditions(a.withoutHeaders, b.withoutHeaders);
}

function sameConditions(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !v.startsWith(w)) return false;
  }
  return true;
}
