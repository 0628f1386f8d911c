// Syntax check for RE2 regular expressions as istiod applies it (Go's regexp package, Perl
// flavour) and as Envoy compiles them: the same engine the data path matches with
// (regex/re2.ts), so `validate` rejects exactly what will not compile — lookarounds,
// backreferences, bad repeat counts, an RE2 program over the size limit — and nothing else.

import { re2Error } from '../../regex/re2.ts';

/** istiod approximates Envoy's RE2 program-size limit by the pattern's length. */
export const MAX_REGEX_LENGTH = 1024;

/** Returns a description of the first RE2 error in `re`, or undefined when it compiles. */
export function checkRe2Syntax(re: string): string | undefined {
  return re2Error(re);
}

/** The length rule and the syntax rule together, as istiod checks every regex field. */
export function checkIstioRegex(re: string): string | undefined {
  if (re.length > MAX_REGEX_LENGTH) return `regex is longer than ${MAX_REGEX_LENGTH} characters`;
  const err = checkRe2Syntax(re);
  return err === undefined ? undefined : `${err} (Istio regexes are RE2: https://github.com/google/re2/wiki/Syntax)`;
}
