// Envoy's StringMatcher and RegexMatcher (type.matcher.v3), compiled once into predicates on the
// RE2 engine. One place for what the router's header and query matchers, RBAC principals and
// permissions, and SAN matching on upstream certificates all read the same way.

import type { RegexMatcher, StringMatcher } from './resources.ts';
import { compileRe2, RegexError, type Re2Regex } from '../regex/re2.ts';

/** A matcher that cannot be compiled; the message names the field. */
export class MatchCompileError extends Error {}

/**
 * Compiles a RegexMatcher for whole-value matching, the way Envoy's safe_regex matches; a
 * matcher's own google_re2.max_program_size overrides the default limit, as in Envoy.
 */
export function compileRegex(m: RegexMatcher | string, field: string): Re2Regex {
  const pattern = typeof m === 'string' ? m : m.regex;
  const max = typeof m === 'string' ? undefined : m.googleRe2?.['maxProgramSize'];
  try {
    return compileRe2(pattern, { maxProgramSize: max === undefined ? undefined : Number(max) });
  } catch (err) {
    if (err instanceof RegexError) throw new MatchCompileError(`${field}: invalid regex ${JSON.stringify(pattern)}: ${err.message}`);
    throw err;
  }
}

/** A StringMatcher as a predicate over a present value. */
export function compileStringMatcher(sm: StringMatcher, field: string): (value: string) => boolean {
  const ic = sm.ignoreCase === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  if (sm.exact !== undefined) { const v = norm(sm.exact); return (s) => norm(s) === v; }
  if (sm.prefix !== undefined) { const v = norm(sm.prefix); return (s) => norm(s).startsWith(v); }
  if (sm.suffix !== undefined) { const v = norm(sm.suffix); return (s) => norm(s).endsWith(v); }
  if (sm.contains !== undefined) { const v = norm(sm.contains); return (s) => norm(s).includes(v); }
  if (sm.safeRegex !== undefined) { const re = compileRegex(sm.safeRegex, `${field}.safeRegex.regex`); return (s) => re.matches(s); }
  throw new MatchCompileError(`${field}: string matcher sets no match`);
}
