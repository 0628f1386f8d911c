// First-match routing over a long route table without trying every route. Envoy takes the
// first route whose match holds, in order; a linear scan costs ~40 ns a route, so a request for
// the last of 1,000 routes spent 40 µs matching. The index narrows the table by path before any
// matcher runs: routes with an exact path are found by that path, prefix routes by the
// request path's own prefixes (one map look-up per distinct prefix length in the table), regex
// routes by the literal every match of theirs starts with (read from the compiled RE2 program,
// so it never hides a route that could match; a regex that is one literal is an exact path),
// regex routes without a literal start by a literal every match of theirs contains
// (regex/required-literal.ts), all of which one pass over the path finds (regex/literal-set.ts:
// a table of 1,000 such routes cost 1,000 automaton runs per request before), and everything
// else (a regex with no provable literal, case-insensitive paths, match-all) is always a
// candidate. The candidates then run their full matcher in table order, so the first match is
// the same route a scan would find. Short tables keep the plain scan, which is faster than
// building a candidate list.

import type { CompiledRoute, VirtualHostRoutes } from '../snapshot/mesh-snapshot.ts';
import type { RequestView } from './request-view.ts';
import { pathRuleOf } from './route-match.ts';
import { requiredLiteral } from '../regex/required-literal.ts';
import { LiteralSet } from '../regex/literal-set.ts';

/** Below this many routes a scan is as fast as the index. */
const INDEX_FROM = 16;

interface RouteIndex {
  /** Route positions that must always be tried. */
  readonly always: readonly number[];
  readonly exact: ReadonlyMap<string, readonly number[]>;
  readonly prefixes: ReadonlyMap<string, readonly number[]>;
  /** Distinct prefix lengths, ascending. */
  readonly prefixLengths: readonly number[];
  /** Regex routes found by a literal the path must contain: the set's positions → route positions. */
  readonly contained: { readonly literals: LiteralSet; readonly routes: readonly number[] } | undefined;
}

const indexes = new WeakMap<readonly CompiledRoute[], RouteIndex | null>();

function buildIndex(routes: readonly CompiledRoute[]): RouteIndex | null {
  if (routes.length < INDEX_FROM) return null;
  const always: number[] = [];
  const exact = new Map<string, number[]>();
  const prefixes = new Map<string, number[]>();
  const literals: string[] = [];
  const byLiteral: number[] = [];
  const add = (m: Map<string, number[]>, k: string, i: number) => {
    const l = m.get(k);
    if (l) l.push(i);
    else m.set(k, [i]);
  };
  routes.forEach((route, i) => {
    const rule = pathRuleOf(route.match);
    if (rule?.kind === 'regex') {
      // Envoy ignores case_sensitive for safe_regex: the literal is exact.
      const { prefix, literal } = rule.regex;
      if (literal) add(exact, prefix, i);
      else if (prefix.length > 1) add(prefixes, prefix, i);
      else {
        const inner = requiredLiteral(rule.regex.source);
        if (inner) {
          literals.push(inner);
          byLiteral.push(i);
        } else always.push(i);
      }
    } else if (!rule || !rule.caseSensitive) always.push(i);
    else if (rule.kind === 'path') add(exact, rule.value, i);
    else if (rule.value === '' || rule.value === '/') always.push(i);
    else add(prefixes, rule.value, i);
  });
  // Nothing to narrow by: scanning is simpler and as fast.
  if (always.length === routes.length) return null;
  const prefixLengths = [...new Set([...prefixes.keys()].map((k) => k.length))].sort((a, b) => a - b);
  const contained = literals.length > 0 ? { literals: new LiteralSet(literals), routes: byLiteral } : undefined;
  return { always, exact, prefixes, prefixLengths, contained };
}

function scan(routes: readonly CompiledRoute[], req: RequestView): CompiledRoute | undefined {
  for (let i = 0; i < routes.length; i++) if (routes[i]!.match(req)) return routes[i];
  return undefined;
}

/** The first route of `vh` whose match holds for `req`, as Envoy picks it. */
export function firstMatchingRoute(vh: VirtualHostRoutes, req: RequestView): CompiledRoute | undefined {
  const routes = vh.routes;
  // Short tables (most services have one route) are scanned without looking for an index: a
  // young process, before V8 optimises this, paid ~2.5 µs a request for the WeakMap look-up and
  // the array iterator.
  if (routes.length < INDEX_FROM) return scan(routes, req);
  let index = indexes.get(routes);
  if (index === undefined) {
    index = buildIndex(routes);
    indexes.set(routes, index);
  }
  if (index === null) return scan(routes, req);
  const path = req.path;
  // Candidates in table order: merge the (already ordered) lists.
  let candidates: number[] | undefined;
  const take = (list: readonly number[] | undefined) => {
    if (!list) return;
    if (!candidates) candidates = [...list];
    else for (const i of list) candidates.push(i);
  };
  take(index.exact.get(path));
  if (index.contained) {
    const { literals, routes: at } = index.contained;
    // A literal may occur many times in a path: each route is a candidate once.
    let seen: Set<number> | undefined;
    literals.scan(path, (j) => {
      const i = at[j]!;
      if (!seen) seen = new Set();
      else if (seen.has(i)) return;
      seen.add(i);
      if (!candidates) candidates = [i];
      else candidates.push(i);
    });
  }
  for (const len of index.prefixLengths) {
    if (len > path.length) break;
    take(index.prefixes.get(path.slice(0, len)));
  }
  let best: CompiledRoute | undefined;
  let bestAt = Infinity;
  if (candidates) {
    candidates.sort((a, b) => a - b);
    for (const i of candidates) {
      if (routes[i]!.match(req)) { best = routes[i]; bestAt = i; break; }
    }
  }
  // An always-candidate wins only if it comes first in the table.
  for (const i of index.always) {
    if (i >= bestAt) break;
    if (routes[i]!.match(req)) return routes[i];
  }
  return best;
}
