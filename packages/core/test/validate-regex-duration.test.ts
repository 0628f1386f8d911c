// The two syntaxes istiod borrows from Go: RE2 regular expressions (regexp.Compile) and durations
// (time.ParseDuration). Expected results are Go's.

import { describe, expect, it } from 'vitest';
import { checkIstioDuration, goDurationToMs, parseGoDuration } from '../src/istio/validate/validate-duration.ts';
import { checkIstioRegex, checkRe2Syntax } from '../src/istio/validate/validate-regex.ts';

describe('RE2 syntax', () => {
  const accepted = [
    'abc', '^/api/v[0-9]+/.*$', '(?i)foo', '(?i:foo)bar', '(?P<name>x)', '(?<name>x)', '(?:a|b)+?', '[[:alpha:]]+', '[[:^digit:]]',
    '\\pL', '\\p{Greek}', '\\PN', '\\p{^Greek}', '\\Qa.b*\\E', 'a{2,3}?', 'a{2,}', 'a{,3}', 'x{', 'x{01}', '\\z\\A\\b\\B',
    '[]a]', '[^]a]', '[a-z-0]', '[\\d-z]', '\\x41\\x{10FFFF}', '\\012', '\\0', '^*', '(?)', '(a|b|)', '', '.*', '[\\p{Greek}\\d]',
    '\\.\\-\\_\\/', '[\\[\\]]', '\\t\\n\\r\\f\\v\\a', '(?s).', '(?U)a*', '(?im-s:x)', '日本語+',
  ];
  for (const re of accepted) it(`accepts ${JSON.stringify(re)}`, () => expect(checkRe2Syntax(re)).toBeUndefined());

  const rejected: [string, string][] = [
    ['*', 'missing argument to repetition operator'], ['+a', 'missing argument'], ['a|*', 'missing argument'], ['(*)', 'missing argument'],
    ['(?i)*', 'missing argument'], ['a**', 'invalid nested repetition operator'], ['a*+', 'invalid nested repetition'],
    ['a{2}{3}', 'invalid nested repetition'], ['a*??', 'invalid nested repetition'], ['(', 'missing closing )'], ['(a(b)', 'missing closing )'],
    [')', 'unexpected )'], ['a)', 'unexpected )'], ['[a', 'missing closing ]'], ['[]', 'missing closing ]'], ['a{1001}', 'invalid repeat count'],
    ['a{3,2}', 'invalid repeat count'], ['a{2,1001}', 'invalid repeat count'], ['(?=a)', 'Perl syntax'], ['(?!a)', 'Perl syntax'],
    ['(?<=a)b', ''], ['(?#comment)', 'Perl syntax'], ['(?P=n)', 'Perl syntax'], ['\\1', 'invalid escape'], ['(a)\\1', 'invalid escape'],
    ['\\', 'trailing backslash'], ['[z-a]', 'invalid character class range'], ['\\p{Foo}', 'invalid character class range'],
    ['[[:foo:]]', 'invalid character class range'], ['(?P<n>a)(?P<n>b)', 'duplicate capture group name'], ['(?P<>a)', 'invalid named capture'],
    ['(?P<a-b>x)', 'invalid named capture'], ['\\Z', 'invalid escape'], ['\\C', 'invalid escape'], ['\\e', 'invalid escape'], ['(?-)', 'Perl syntax'],
    ['(?i-)', 'Perl syntax'], ['(?x)', 'Perl syntax'], ['\\xZZ', 'invalid escape'], ['\\x{110000}', 'invalid escape'], ['[\\b]', 'invalid escape'],
    // Go says "invalid character class range" for [a-\d]; re2js names the escape instead.
    ['\\é', 'invalid escape'], ['[a-\\d]', 'invalid'],
  ];
  for (const [re, msg] of rejected) {
    it(`rejects ${JSON.stringify(re)}`, () => {
      const err = checkRe2Syntax(re);
      expect(err).toBeDefined();
      expect(err).toContain(msg);
    });
  }

  it('rejects a program over the RE2 size limit, as Envoy does', () => {
    // 32 repeats of a 1000-wide class: short enough for istiod's length rule, too big for RE2.
    const big = '[a-z]{1000}'.repeat(33);
    expect(big.length).toBeLessThan(1024);
    expect(checkIstioRegex(big)).toMatch(/RE2 program size of \d+ > max program size of 32768/);
    expect(checkIstioRegex('[a-z]{1000}')).toBeUndefined();
  });

  it('limits the length as istiod does', () => {
    expect(checkIstioRegex('a'.repeat(1024))).toBeUndefined();
    expect(checkIstioRegex('a'.repeat(1025))).toContain('longer than 1024');
    expect(checkIstioRegex('(')).toContain('RE2');
  });
});

describe('Go durations', () => {
  const parsed: [string, bigint][] = [
    ['0', 0n], ['-0', 0n], ['+0', 0n], ['1s', 1_000_000_000n], ['1.5s', 1_500_000_000n], ['.5s', 500_000_000n], ['1.s', 1_000_000_000n],
    ['250ms', 250_000_000n], ['1h2m3.5s', 3_723_500_000_000n], ['1us', 1000n], ['1µs', 1000n], ['1μs', 1000n], ['3ns', 3n],
    ['-1.5h', -5_400_000_000_000n], ['1.0000000001s', 1_000_000_000n], ['2h45m', 9_900_000_000_000n],
  ];
  for (const [s, ns] of parsed) it(`parses ${s}`, () => expect(parseGoDuration(s)).toEqual({ ok: true, nanos: ns }));

  for (const bad of ['', '1', '10', 's', '.s', '1d', '1 s', ' 1s', '1s ', '1S', '1.2.3s', '--1s', '1e3s', '9999999999h']) {
    it(`rejects ${JSON.stringify(bad)}`, () => expect(parseGoDuration(bad).ok).toBe(false));
  }

  it('applies istiod\'s range: at least 1ms, whole milliseconds', () => {
    expect(checkIstioDuration('1ms')).toBeUndefined();
    expect(checkIstioDuration('1h')).toBeUndefined();
    expect(checkIstioDuration('0s')).toContain('at least 1ms');
    expect(checkIstioDuration('999us')).toContain('at least 1ms');
    expect(checkIstioDuration('1500us')).toContain('whole number of milliseconds');
    expect(checkIstioDuration('-5s')).toContain('at least 1ms');
  });

  it('converts to milliseconds for the compiler', () => {
    expect(goDurationToMs('1h2m3.5s')).toBe(3_723_500);
    expect(goDurationToMs('1500us')).toBe(2);
    expect(goDurationToMs('bogus')).toBeUndefined();
  });
});
