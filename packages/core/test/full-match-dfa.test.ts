// The full-match DFA (regex/full-match-dfa.ts) must answer exactly as re2js's own testExact
// does, whenever it answers at all: checked over generated patterns and values, including
// anchors, case folding, classes, Latin-1 and non-Latin-1 text; and it must answer often,
// or routes would not get faster.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';
import { FullMatchDfa, type Prog } from '../src/regex/full-match-dfa.ts';
import { compileRe2 } from '../src/regex/re2.ts';
import { compileOrSkip } from './support/re2-or-skip.ts';

const { RE2JS: Engine } = createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JS };
const progOf = (pattern: string): Prog => Engine.compile(pattern).re2Input.prog as Prog;
const build = (pattern: string) => FullMatchDfa.build(progOf(pattern), progOf);
/** The literal every match starts with, as re2.ts reads it. */
const prefixOf = (re: RE2JS): string => (typeof re.re2Input.prefix === 'string' ? re.re2Input.prefix : '');
/** What re2.ts asks the DFA: past the prefix when the value starts with it. */
const answer = (dfa: FullMatchDfa | undefined, re: RE2JS, v: string): boolean | undefined => {
  const prefix = prefixOf(re);
  return prefix !== '' && v.startsWith(prefix) ? dfa?.matchesAfterPrefix(v) : dfa?.matches(v);
};

/** Checks the DFA against re2js on each value; counts what the DFA answered and how many of those matched. */
const tally = { answered: 0, matched: 0 };
function agreeOn(pattern: string, values: readonly string[]): void {
  let re: RE2JS;
  try {
    re = Engine.compile(pattern);
  } catch {
    return;
  }
  const dfa = FullMatchDfa.build(re.re2Input.prog as Prog, progOf, prefixOf(re));
  for (const v of values) {
    const want = re.testExact(v);
    const got = answer(dfa, re, v);
    if (got === undefined) continue;
    tally.answered++;
    if (want) tally.matched++;
    expect(got, `${JSON.stringify(pattern)} on ${JSON.stringify(v)}`).toBe(want);
  }
}

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', '/', 'ab', 'a/b', 'k', 's', 'é', '.*', '[ab]*', '\\.', '.', '[a-z]+', '[0-9]+', '/api/v1/r7/') },
  { weight: 3, arbitrary: fc.constantFrom('\\d', '\\w', '\\s', '\\x61', '\\pL', '\\p{Greek}', '[ab]', '[^a]', '[[:alpha:]]', '(ab)', '(?:a|b)', '(?i:ab)', '(?i)k', '(?i)s', '(?s).', '\\n', '[^/]+', 'x*?') },
  { weight: 2, arbitrary: fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '|', '^', '$', '\\A', '\\z', '(?m)^', '(?m)$', '\\b', '\\B', '(?i)') },
);
const patternArb = fc.array(piece, { minLength: 1, maxLength: 10 }).map((p) => p.join(''));
const valueArb = fc.array(fc.constantFrom('a', 'b', '/', 'A', 'K', 'k', 'S', 's', '\u212a', '\u017f', 'é', 'É', '\n', ' ', '1', '42', 'λ', '😀', 'aba', 'a/b', '/api/v1/r7/'), { maxLength: 12 }).map((v) => v.join(''));

// A pattern piece and a value it matches, so generated patterns match often.
const pair = fc.constantFrom<[string, string]>(
  ['a', 'a'], ['ab', 'ab'], ['/', '/'], ['/api/', '/api/'], ['\\.', '.'], ['.*', ''], ['.*', 'zz/q'], ['.', 'Q'], ['(?s).', '\n'],
  ['[ab]*', 'abba'], ['[^a]', 'b'], ['\\d+', '42'], ['[a-z]+', 'items'], ['[0-9]+', '7'], ['(ab)', 'ab'], ['(?:a|b)', 'b'],
  ['(?i:ab)', 'AB'], ['(?i)k', 'K'], ['(?i)s', 'S'], ['(?i:é)', 'É'], ['a?', ''], ['a+', 'aaa'], ['b{2}', 'bb'], ['c{1,3}', 'cc'],
  ['[[:alpha:]]', 'Z'], ['\\pL', 'ß'], ['(/a)+', '/a/a'], ['^', ''], ['$', ''], ['\\A', ''], ['\\z', ''], ['x*?', 'xx'], ['[^/]+', 'r12'],
);

describe('FullMatchDfa', () => {
  it('answers as re2js testExact does, whenever it answers', () => {
    tally.answered = tally.matched = 0;
    fc.assert(fc.property(patternArb, fc.array(valueArb, { minLength: 1, maxLength: 40 }), agreeOn), { numRuns: 3000 });
    // Worth something only if the DFA decided many values.
    expect(tally.answered).toBeGreaterThan(4_000);
  });

  it('answers as re2js does on patterns built with values they match, and near misses', () => {
    tally.answered = tally.matched = 0;
    fc.assert(fc.property(fc.array(pair, { minLength: 1, maxLength: 8 }), fc.nat(), (pairs, cut) => {
      const value = pairs.map(([, v]) => v).join('');
      const at = value.length === 0 ? 0 : cut % value.length;
      agreeOn(pairs.map(([p]) => p).join(''), [value, value.slice(0, at) + value.slice(at + 1), value + 'a', value.slice(0, at) + '/' + value.slice(at)]);
    }), { numRuns: 3000 });
    expect(tally.answered).toBeGreaterThan(4_000);
    expect(tally.matched).toBeGreaterThan(1_000);
  });

  it('compileRe2 matches agree with re2js on every value, DFA or not', () => {
    fc.assert(fc.property(patternArb, fc.array(valueArb, { minLength: 1, maxLength: 20 }), (pattern, values) => {
      const re = compileOrSkip(pattern);
      if (!re) return;
      const engine = Engine.compile(pattern);
      for (const v of values) expect(re.matches(v), `${JSON.stringify(pattern)} on ${JSON.stringify(v)}`).toBe(engine.testExact(v));
    }), { numRuns: 1000 });
  });

  it('takes on route regexes and leaves what it does not model to re2js', () => {
    const route = build('/api/v1/r12/[a-z]+/[0-9]+')!;
    expect(route.matches('/api/v1/r12/items/42')).toBe(true);
    const skipping = FullMatchDfa.build(progOf('/api/v1/r12/[a-z]+/[0-9]+'), progOf, '/api/v1/r12/')!;
    expect(skipping.matchesAfterPrefix('/api/v1/r12/items/42')).toBe(true);
    expect(skipping.matchesAfterPrefix('/api/v1/r12/')).toBe(false);
    expect(route.matches('/api/v1/r12/items/4x')).toBe(false);
    expect(route.matches('/api/v1/r12/items/')).toBe(false);
    expect(build('^/a.*$')!.matches('/abc')).toBe(true);
    expect(build('.*/r12/[a-z]+')!.matches('/x/r12/abc')).toBe(true);
    // Word boundaries and multi-line anchors: not modelled.
    expect(build('\\bab')).toBeUndefined();
    expect(build('(?m)^ab')).toBeUndefined();
    // The empty value and text beyond Latin-1: re2js decides.
    expect(route.matches('')).toBeUndefined();
    expect(build('(?i)k+')!.matches('k\u212a')).toBeUndefined();
  });

  it('stops building states at its cap and hands the rest to re2js', () => {
    // The n-th character from the end is an a: 2^12 DFA states.
    const pattern = '[ab]*a[ab]{11}';
    const dfa = build(pattern)!;
    const re = compileRe2(pattern);
    const engine = Engine.compile(pattern);
    let gaveUp = false;
    let seed = 7;
    for (let i = 0; i < 400; i++) {
      let v = '';
      for (let j = 0; j < 30; j++) { seed = (seed * 1103515245 + 12345) % 2 ** 31; v += seed & 1024 ? 'a' : 'b'; }
      if (dfa.matches(v) === undefined) gaveUp = true;
      expect(re.matches(v)).toBe(engine.testExact(v));
    }
    expect(gaveUp).toBe(true);
  });
});
