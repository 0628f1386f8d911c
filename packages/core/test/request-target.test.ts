// Request-target normalization against the cases Envoy's own path utility is tested with
// (normalize_path, merge_slashes, fragments, absolute-form) and the advisories that produced
// them. End-to-end rows through the server helpers: packages/http/test/hostile-input.test.ts.

import { describe, expect, it } from 'vitest';
import { canonicalPath, mergeSlashes, methodProblem, normalizeRequestTarget } from '../src/security/request-target.ts';

describe('normalize_path (Chromium canonicalizer, as Envoy embeds it)', () => {
  const normalized: [string, string][] = [
    ['/xyz', '/xyz'], ['/x/y/z', '/x/y/z'], ['/a/b/../c', '/a/c'], ['/a/b/./c', '/a/b/c'], ['a/b/../c', '/a/c'],
    ['/a/b/../../../../c', '/c'], ['/a/..\\c', '/c'], ['/%c0%af', '/%c0%af'], ['/%5c%25', '/%5c%25'],
    ['/a/b/%2E%2E/c', '/a/c'], ['/a/b/%2E./c', '/a/c'], ['/a/b/%2E/c', '/a/b/c'], ['..', '/'], ['/../a/b', '/a/b'],
    ['/./a/b', '/a/b'], ['/A/B/C', '/A/B/C'], ['/a/b/%2e%2e/c', '/a/c'], ['/a/%2F%2f/c', '/a/%2F%2f/c'],
    // Unreserved characters are decoded, characters a path may not hold are escaped.
    ['/%61dmin', '/admin'], ['/%7euser', '/~user'], ['/a b', '/a%20b'], ['/a"b<c>', '/a%22b%3Cc%3E'], ['/é', '/%E9'],
    // A '%' that begins no escape stays; one that would become an escape after decoding is escaped itself.
    ['/100%', '/100%'], ['/%%30%30', '/%2500'], ['/a/..', '/'], ['/a/.', '/a/'],
  ];
  for (const [input, want] of normalized) it(`${JSON.stringify(input)} → ${want}`, () => expect(canonicalPath(input)).toBe(want));

  for (const bad of ['/xyz/.%00../abc', '/xyz/%00.%00./abc', '/xyz/AAAAA%%0000/abc', '/a\u0000b']) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(canonicalPath(bad)).toBeUndefined());
  }
});

describe('merge_slashes', () => {
  const cases: [string, string][] = [
    ['', ''], ['a//b/c', 'a/b/c'], ['/a//b/c/', '/a/b/c/'], ['a//b/c/', 'a/b/c/'], ['/a', '/a'], ['//a/b/c', '/a/b/c'],
    ['/a//b/c', '/a/b/c'], ['/a/b/c//', '/a/b/c/'], ['/a///b/c', '/a/b/c'], ['/a////b/c', '/a/b/c'], ['//', '/'],
  ];
  for (const [input, want] of cases) it(`${JSON.stringify(input)} → ${want}`, () => expect(mergeSlashes(input)).toBe(want));

  it('leaves the query alone', () => {
    expect(normalizeRequestTarget('/a//b?a=///c', 'MERGE_SLASHES', false)).toMatchObject({ ok: true, path: '/a/b', query: '?a=///c' });
    expect(normalizeRequestTarget('//a/?b', 'MERGE_SLASHES', false)).toMatchObject({ ok: true, path: '/a/', query: '?b' });
  });
});

describe('request targets', () => {
  it('drops the fragment (Istio turns http_reject_path_with_fragment off)', () => {
    for (const t of ['/abc#', '/abc#fragment', '/abc#fragment?param=value', '/abc##', '/abc#?']) {
      expect(normalizeRequestTarget(t, 'BASE', false)).toMatchObject({ ok: true, path: '/abc', query: '' });
    }
    expect(normalizeRequestTarget('/abc?param=value#fragment', 'BASE', false)).toMatchObject({ path: '/abc', query: '?param=value' });
  });

  it('takes HTTP/1 absolute-form apart; h2 and non-paths get Envoy\'s answers', () => {
    expect(normalizeRequestTarget('http://app:8080/a/../admin?x', 'BASE', true)).toEqual({ ok: true, path: '/admin', query: '?x', host: 'app:8080' });
    expect(normalizeRequestTarget('HTTP://app?x', 'BASE', true)).toEqual({ ok: true, path: '/', query: '?x', host: 'app' });
    expect(normalizeRequestTarget('ftp://app/x', 'BASE', true)).toMatchObject({ ok: false, status: 400 });
    expect(normalizeRequestTarget('http://user@app/x', 'BASE', true)).toMatchObject({ ok: false, status: 400 });
    expect(normalizeRequestTarget('admin', 'BASE', true)).toMatchObject({ ok: false, status: 400 });
    expect(normalizeRequestTarget('http://app/admin', 'BASE', false)).toMatchObject({ ok: false, status: 404 });
    expect(normalizeRequestTarget('*', 'BASE', true)).toMatchObject({ ok: false, status: 404 });
    expect(normalizeRequestTarget('', 'BASE', false)).toMatchObject({ ok: false, status: 404 });
  });

  it('applies each pathNormalization mode as istiod configures Envoy', () => {
    const t = '/public/..%2F/%2e%2e//admin';
    expect(normalizeRequestTarget(t, 'NONE', false)).toMatchObject({ path: t });
    expect(normalizeRequestTarget(t, 'BASE', false)).toMatchObject({ path: '/public//admin' }); // '..%2F' is a name, not '..'
    expect(normalizeRequestTarget(t, 'MERGE_SLASHES', false)).toMatchObject({ path: '/public/admin' });
    expect(normalizeRequestTarget(t, 'DECODE_AND_MERGE_SLASHES', false)).toMatchObject({ path: '/admin' });
  });

  it('refuses methods that are not uppercase tokens', () => {
    expect(methodProblem('DELETE')).toBeUndefined();
    expect(methodProblem('PROPFIND')).toBeUndefined();
    expect(methodProblem('delete')).toContain('not uppercase');
    expect(methodProblem('GET /')).toContain('not a valid token');
    expect(methodProblem('')).toContain('not a valid token');
  });
});
