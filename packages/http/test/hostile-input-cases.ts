// Every path and method bypass attempt tried against createMeshServer, with the path the policy
// (and then the handler) must see and the answer. hostile-input.test.ts sends each row over a
// real socket and checks it; the same rows are the table in docs/hostile-input.md, which the
// test compares with what it renders, so the document cannot drift from what is tested.

import type { PathNormalization } from '@meshlet/core';

export interface BypassCase {
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  /** Which server: `deny` has DENY paths ["/admin*"] and DENY methods ["DELETE"]; `allow` has ALLOW paths ["/public/*"] only. */
  readonly policy: 'deny' | 'allow';
  readonly mode: PathNormalization;
  readonly method: string;
  /** The request target exactly as sent (request line or :path). */
  readonly target: string;
  /** The path (without query) the policy and the handler saw; undefined when the request was refused before any policy. */
  readonly seen: string | undefined;
  /** The HTTP status, or 'reset' when the HTTP/2 layer (nghttp2, as in Envoy) resets the stream. */
  readonly status: number | 'reset';
  /** Why, in a few words (the advisory or Envoy rule it exercises). */
  readonly note: string;
}

const h1 = (policy: BypassCase['policy'], target: string, seen: string | undefined, status: number | 'reset', note: string, mode: PathNormalization = 'BASE', method = 'GET'): BypassCase => ({ protocol: 'HTTP/1.1', policy, mode, method, target, seen, status, note });
const h2 = (policy: BypassCase['policy'], target: string, seen: string | undefined, status: number | 'reset', note: string, mode: PathNormalization = 'BASE', method = 'GET'): BypassCase => ({ protocol: 'HTTP/2', policy, mode, method, target, seen, status, note });

export const BYPASS_CASES: readonly BypassCase[] = [
  h1('deny', '/admin', '/admin', 403, 'the rule itself'),
  h1('deny', '/public', '/public', 200, 'not covered by the rule'),
  h1('deny', '/public/../admin', '/admin', 403, 'dot segments (CVE-2019-9901)'),
  h1('deny', '/public/%2e%2e/admin', '/admin', 403, 'encoded dots (CVE-2019-9901)'),
  h1('deny', '/public/%2E%2E/admin', '/admin', 403, 'encoded dots, upper case'),
  h1('deny', '/public/.%2e/admin', '/admin', 403, 'half-encoded dots'),
  h1('deny', '/./admin', '/admin', 403, 'current-directory segment'),
  h1('deny', '/public/x/../../admin', '/admin', 403, 'two levels up'),
  h1('deny', '/../../admin', '/admin', 403, 'above the root'),
  h1('deny', '/%61dmin', '/admin', 403, 'encoded unreserved letter'),
  h1('deny', '/admin?x=/../public', '/admin', 403, 'query left alone'),
  h1('deny', 'http://app/admin', '/admin', 403, 'absolute-form target'),
  h1('deny', 'http://app/public/../admin', '/admin', 403, 'absolute-form with dot segments'),
  h1('deny', 'http://app', '/', 200, 'absolute-form, empty path'),
  h1('deny', 'admin', undefined, 400, 'neither a path nor a URL'),
  h1('deny', '/admin%00', undefined, 400, 'encoded NUL'),
  h1('deny', '*', undefined, 404, 'asterisk-form: not a relative path', 'BASE', 'OPTIONS'),
  h1('deny', '/ADMIN', '/ADMIN', 200, 'paths are case-sensitive, as in Envoy'),
  h1('deny', '/public/%252e%252e/admin', '/public/%252e%252e/admin', 200, 'double encoding is not decoded twice'),
  h1('deny', '/public/..%2fadmin', '/public/..%2fadmin', 200, 'BASE keeps %2F (CVE-2021-31920: choose DECODE_AND_MERGE_SLASHES)'),
  h1('deny', '/public/..%2fadmin', '/admin', 403, 'escaped slash decoded (CVE-2021-29492, CVE-2021-31920)', 'DECODE_AND_MERGE_SLASHES'),
  h1('deny', '/public/..%5cadmin', '/public/..%5cadmin', 200, 'BASE keeps %5C'),
  h1('deny', '/public/..%5cadmin', '/admin', 403, 'escaped backslash decoded', 'DECODE_AND_MERGE_SLASHES'),
  h1('deny', '//admin', '//admin', 200, 'BASE keeps double slashes'),
  h1('deny', '//admin', '/admin', 403, 'slashes merged', 'MERGE_SLASHES'),
  h1('deny', '/public//..//admin', '/public/admin', 200, 'merged after normalizing, as Envoy orders it', 'MERGE_SLASHES'),
  h1('deny', '/public/../admin', '/public/../admin', 200, 'NONE: the path as sent', 'NONE'),
  h1('deny', '/x', '/x', 403, 'DENY on DELETE', 'BASE', 'DELETE'),
  h1('allow', '/public/a', '/public/a', 200, 'allowed path'),
  h1('allow', '/public/../admin', '/admin', 403, 'out of the allowed prefix'),
  h1('allow', '/public/%2e%2e/admin', '/admin', 403, 'out of the allowed prefix, encoded'),
  h2('deny', '/public/x/../../admin', '/admin', 403, 'dot segments over h2'),
  h2('deny', '/%2e/admin', '/admin', 403, 'encoded dot over h2'),
  h2('deny', '/admin#frag', '/admin', 403, 'fragment dropped (Istio sets http_reject_path_with_fragment false)'),
  h2('deny', '/public#/../admin', '/public', 200, 'fragment dropped before normalizing'),
  h2('deny', 'http://app/admin', undefined, 'reset', 'h2 :path must be a path: nghttp2 resets the stream, as in Envoy'),
  h2('deny', '/admin%00', undefined, 400, 'encoded NUL over h2'),
  h2('deny', '/x', undefined, 400, 'lowercase method: not matched by a rule on DELETE, so refused', 'BASE', 'delete'),
  h2('deny', '/x', '/x', 403, 'DENY on DELETE over h2', 'BASE', 'DELETE'),
  h2('deny', '/x', undefined, 'reset', 'method that is not a token: nghttp2 resets the stream', 'BASE', 'GET{}'),
  h2('deny', '/public/..%2fadmin', '/admin', 403, 'escaped slash decoded over h2', 'DECODE_AND_MERGE_SLASHES'),
  h2('allow', '/public/%2e%2e/admin', '/admin', 403, 'out of the allowed prefix over h2'),
];

/** The markdown table of `cases`, as docs/hostile-input.md holds it. */
export function renderBypassTable(cases: readonly BypassCase[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const policy = (p: BypassCase['policy']) => (p === 'deny' ? 'DENY /admin*, DELETE' : 'ALLOW /public/*');
  const rows = cases.map((c) => `| ${c.protocol} | ${policy(c.policy)} | ${c.mode} | \`${c.method} ${esc(c.target)}\` | ${c.seen === undefined ? '—' : `\`${esc(c.seen)}\``} | ${c.status === 'reset' ? 'stream reset' : c.status} | ${esc(c.note)} |`);
  return ['| protocol | policy | pathNormalization | request | path the policy saw | answer | what it tries |', '|---|---|---|---|---|---:|---|', ...rows].join('\n');
}
