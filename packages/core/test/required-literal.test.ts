// The literal read from a pattern must be in every value the pattern matches, or the route
// index would skip a route that matches: checked against RE2 itself over generated patterns.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { requiredLiteral } from '../src/regex/required-literal.ts';
import { LiteralSet } from '../src/regex/literal-set.ts';
import { compileRe2 } from '../src/regex/re2.ts';
import { compileOrSkip } from './support/re2-or-skip.ts';

// Pattern pieces over a small alphabet, so generated values match often enough to test.
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', '/', 'ab', 'a/b', 'aba', '.*', '[ab]*', '\\.', '.') },
  { weight: 3, arbitrary: fc.constantFrom('\\d', '\\x61', '\\x{62}', '\\141', '\\pL', '\\p{Greek}', '[ab]', '[^a]', '[]a]', '[[:alpha:]]', '(ab)', '(?:a|b)', '(?i:ab)', '(?P<n>ab)') },
  { weight: 2, arbitrary: fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '*?', '|', '^', '$', '(?i)', '\\Q', '\\E', '{', '}', '\\b') },
);
const patternArb = fc.array(piece, { minLength: 1, maxLength: 10 }).map((p) => p.join(''));
const valueArb = fc.array(fc.constantFrom('a', 'b', '/', 'A', '.', '1', 'B', 'aba', 'a/b'), { maxLength: 12 }).map((v) => v.join(''));

describe('requiredLiteral', () => {
  it('reads the top-level literal runs', () => {
    expect(requiredLiteral('.*/r12/[a-z]+/[0-9]+')).toBe('/r12/');
    expect(requiredLiteral('[a-z]+/api/v1/.*')).toBe('/api/v1/');
    expect(requiredLiteral('.*\\.json')).toBe('.json');
    expect(requiredLiteral('.*/abcd?')).toBe('/abc');
    expect(requiredLiteral('.*/ab\\x41cd')).toBe('/ab');
    expect(requiredLiteral('.*(/api)+/x')).toBe('');
    expect(requiredLiteral('.*/api|/web.*')).toBe('');
    expect(requiredLiteral('(?i).*/api/.*')).toBe('');
    expect(requiredLiteral('.*\\Q/api\\E.*')).toBe('');
  });

  it('is contained in every value the pattern fully matches (RE2 decides the match)', () => {
    let matched = 0;
    fc.assert(fc.property(patternArb, fc.array(valueArb, { minLength: 1, maxLength: 40 }), (pattern, values) => {
      const re = compileOrSkip(pattern);
      if (!re) return;
      const lit = requiredLiteral(pattern);
      for (const v of values) {
        if (!re.matches(v)) continue;
        matched++;
        expect(v.includes(lit), `${JSON.stringify(pattern)} matched ${JSON.stringify(v)} without ${JSON.stringify(lit)}`).toBe(true);
      }
    }), { numRuns: 6000 });
    // The property is only worth something if matches happened.
    expect(matched).toBeGreaterThan(400);

  });
});

// A pattern built with a value it matches, piece by piece, so every case has a match.
const pair = fc.constantFrom<[string, string]>(
  ['a', 'a'], ['ab', 'ab'], ['/', '/'], ['/api/', '/api/'], ['x-y', 'x-y'], ['\\.', '.'], ['\\/', '/'],
  ['.*', ''], ['.*', 'zz/q'], ['.', 'Q'], ['[ab]*', 'abba'], ['[^a]', 'b'], ['\\d', '7'], ['\\d+', '42'], ['\\x61', 'a'], ['\\141', 'a'],
  ['(ab)', 'ab'], ['(?:a|b)', 'b'], ['(?i:ab)', 'AB'], ['a?', ''], ['a+', 'aaa'], ['b{2}', 'bb'], ['c{1,3}', 'cc'],
  ['[[:alpha:]]', 'Z'], ['\\pL', 'q'], ['\\p{Greek}', 'λ'], ['(/a)+', '/a/a'], ['{', '{'], ['a{x}', 'a{x}'],
);

describe('requiredLiteral on patterns with a known match', () => {
  it('is contained in the value built with the pattern', () => {
    let withLiteral = 0;
    fc.assert(fc.property(fc.array(pair, { minLength: 1, maxLength: 8 }), (pairs) => {
      const pattern = pairs.map(([p]) => p).join('');
      const value = pairs.map(([, v]) => v).join('');
      expect(compileRe2(pattern).matches(value), `${pattern} should match ${value}`).toBe(true);
      const lit = requiredLiteral(pattern);
      if (lit) withLiteral++;
      expect(value.includes(lit), `${JSON.stringify(pattern)} matched ${JSON.stringify(value)} without ${JSON.stringify(lit)}`).toBe(true);
    }), { numRuns: 3000 });
    expect(withLiteral).toBeGreaterThan(600);
  });
});

describe('LiteralSet', () => {
  it('finds every literal a text contains, as includes() does', () => {
    // Astral characters too: the set walks UTF-16 code units, as includes() compares them.
    const word = (min: number, max: number) => fc.array(fc.constantFrom('a', 'b', '/', '😀', 'λ'), { minLength: min, maxLength: max }).map((c) => c.join(''));
    fc.assert(fc.property(fc.array(word(1, 4), { minLength: 1, maxLength: 12 }), word(0, 30), (literals, text) => {
      const found = new Set<number>();
      new LiteralSet(literals).scan(text, (i) => found.add(i));
      const want = new Set(literals.flatMap((l, i) => (text.includes(l) ? [i] : [])));
      expect([...found].sort()).toEqual([...want].sort());
    }), { numRuns: 2000 });
  });
});
