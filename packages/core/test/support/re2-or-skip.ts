// Property tests generate patterns RE2 may reject; those cases are skipped, anything else thrown is a bug.
import { compileRe2, RegexError, type Re2Regex } from '../../src/regex/re2.ts';

/** The compiled regex, or undefined when RE2 rejects the pattern. */
export function compileOrSkip(pattern: string): Re2Regex | undefined {
  try {
    return compileRe2(pattern);
  } catch (err) {
    if (err instanceof RegexError) return undefined;
    throw err;
  }
}
