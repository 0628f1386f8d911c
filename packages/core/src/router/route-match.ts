// Envoy's RouteMatch, compiled once per snapshot into plain predicates: the path rule, then
// every header matcher and query matcher must hold. Regexes are compiled here, on the RE2 engine
// (regex/re2.ts: linear time, whole-value match), so the request path never builds one.

import type { HeaderMatcher, QueryParameterMatcher, RouteMatch } from '../xds/resources.ts';
import type { Re2Regex } from '../regex/re2.ts';
import { compileRegex, compileStringMatcher, MatchCompileError } from '../xds/string-matcher.ts';
import { queryParam, type RequestView } from './request-view.ts';

export type RouteMatcher = (req: RequestView) => boolean;

export type PathRule =
  | { kind: 'prefix'; value: string; caseSensitive: boolean }
  /** Envoy's path_separated_prefix: the prefix is the whole path or is followed by '/'. */
  | { kind: 'separated'; value: string; caseSensitive: boolean }
  | { kind: 'path'; value: string; caseSensitive: boolean }
  | { kind: 'regex'; regex: Re2Regex };

export function pathRule(m: RouteMatch): PathRule {
  const caseSensitive = m.caseSensitive !== false;
  if (m.path !== undefined) return { kind: 'path', value: caseSensitive ? m.path : m.path.toLowerCase(), caseSensitive };
  if (m.safeRegex !== undefined) return { kind: 'regex', regex: compileRegex(m.safeRegex, 'match.safeRegex.regex') };
  if (m.pathSeparatedPrefix !== undefined) {
    const v = m.pathSeparatedPrefix;
    // Envoy's rules for the field: it starts with '/', and does not end with one (except "/").
    if (!v.startsWith('/') || (v.length > 1 && v.endsWith('/'))) throw new MatchCompileError(`match.pathSeparatedPrefix: ${JSON.stringify(v)} must start with "/" and not end with "/"`);
    if (v === '/') return { kind: 'prefix', value: '/', caseSensitive };
    return { kind: 'separated', value: caseSensitive ? v : v.toLowerCase(), caseSensitive };
  }
  if (m.prefix !== undefined) return { kind: 'prefix', value: caseSensitive ? m.prefix : m.prefix.toLowerCase(), caseSensitive };
  throw new MatchCompileError('match: one of prefix, path or safeRegex is required');
}

export function compileRouteMatch(m: RouteMatch): RouteMatcher {
  const rule = pathRule(m);
  const checks: RouteMatcher[] = [pathCheck(rule)];
  (m.headers ?? []).forEach((h, i) => checks.push(headerCheck(h, `match.headers[${i}]`)));
  (m.queryParameters ?? []).forEach((q, i) => checks.push(queryCheck(q, `match.queryParameters[${i}]`)));
  const matcher: RouteMatcher = checks.length === 1
    ? checks[0]!
    : (req) => {
      for (const check of checks) if (!check(req)) return false;
      return true;
    };
  pathRules.set(matcher, rule);
  if (checks.length === 1 && rule.kind === 'prefix' && (rule.value === '/' || rule.value === '')) takesEveryRequest.add(matcher);
  return matcher;
}

// Matchers that hold for every request (a "/" prefix and nothing else: Istio's default route):
// a route table led by one answers without looking at the request (decide.ts, hostRoute).
const takesEveryRequest = new WeakSet<RouteMatcher>();

/** Whether `matcher` holds for every request, whatever its method, path, headers or query. */
export function matchesEveryRequest(matcher: RouteMatcher): boolean {
  return takesEveryRequest.has(matcher);
}

// The path rule each compiled matcher checks first, so a long route table can be indexed by
// path (router/route-index.ts) without changing what a CompiledRoute holds.
const pathRules = new WeakMap<RouteMatcher, PathRule>();

/** The path rule `matcher` was compiled with; undefined for matchers not made here. */
export function pathRuleOf(matcher: RouteMatcher): PathRule | undefined {
  return pathRules.get(matcher);
}

function pathCheck(rule: PathRule): RouteMatcher {
  switch (rule.kind) {
    case 'prefix':
      if (rule.value === '/' || rule.value === '') return () => true;
      return rule.caseSensitive
        ? (req) => req.path.startsWith(rule.value)
        : (req) => req.path.toLowerCase().startsWith(rule.value);
    case 'separated': {
      const v = rule.value;
      const test = (p: string) => p.startsWith(v) && (p.length === v.length || p.charCodeAt(v.length) === 47 /* '/' */);
      return rule.caseSensitive ? (req) => test(req.path) : (req) => test(req.path.toLowerCase());
    }
    case 'path':
      return rule.caseSensitive ? (req) => req.path === rule.value : (req) => req.path.toLowerCase() === rule.value;
    case 'regex':
      return (req) => rule.regex.matches(req.path);
  }
}

function headerValueMatcher(h: HeaderMatcher, field: string): ((value: string) => boolean) | 'present' {
  if (h.stringMatch) return compileStringMatcher(h.stringMatch, `${field}.stringMatch`);
  if (h.exactMatch !== undefined) return compileStringMatcher({ exact: h.exactMatch }, field);
  if (h.prefixMatch !== undefined) return compileStringMatcher({ prefix: h.prefixMatch }, field);
  if (h.suffixMatch !== undefined) return compileStringMatcher({ suffix: h.suffixMatch }, field);
  if (h.safeRegexMatch !== undefined) return compileStringMatcher({ safeRegex: h.safeRegexMatch }, field);
  return 'present';
}

// Envoy's HeaderUtility::matchHeaders: an absent header matches only a present_match of the
// opposite sense (present_match: false, or present_match: true with invert_match), unless
// treat_missing_header_as_empty says to match "" instead.
function headerCheck(h: HeaderMatcher, field: string): RouteMatcher {
  // Proto3 leaves an empty name out, so a control plane can send a matcher with none.
  if (!h.name) throw new MatchCompileError(`${field}.name: required (the header to match)`);
  const name = h.name.toLowerCase();
  const invert = h.invertMatch === true;
  const valueMatch = headerValueMatcher(h, field);
  const present = valueMatch === 'present' ? h.presentMatch !== false : true;
  return (req) => {
    let value = req.header(name);
    if (value === undefined) {
      if (h.treatMissingHeaderAsEmpty && valueMatch !== 'present') value = '';
      else return valueMatch === 'present' ? (invert ? present : !present) : false;
    }
    const ok = valueMatch === 'present' ? present : valueMatch(value);
    return ok !== invert;
  };
}

function queryCheck(q: QueryParameterMatcher, field: string): RouteMatcher {
  if (q.stringMatch) {
    const m = compileStringMatcher(q.stringMatch, `${field}.stringMatch`);
    return (req) => {
      const v = queryParam(req.query, q.name);
      return v !== undefined && m(v);
    };
  }
  return (req) => queryParam(req.query, q.name) !== undefined;
}
