// What an Envoy sidecar's HTTP connection manager does to a request's target before any filter
// (RBAC, routing) reads it, so AuthorizationPolicy checks the path the application is handed
// and an encoded or dotted path cannot walk around a rule (CVE-2019-9901, CVE-2021-29492,
// CVE-2021-31920). The server helpers run this on every request and forward the result.
//
// In Envoy's order (conn_manager_impl.cc, conn_manager_utility.cc maybeNormalizePath):
//  1. HTTP/1 absolute-form `GET http://app/admin` becomes Host `app` and path `/admin` (the
//     codec's allow_absolute_url); a target that is neither a path nor a URL is a 400;
//  2. a path that does not start with '/' (h2 `:path: http://…`, OPTIONS `*`) is a 404;
//  3. a fragment is cut off (Istio's bootstrap turns Envoy's
//     http_reject_path_with_fragment off, so `#…` is dropped rather than refused);
//  4. %2F and %5C are decoded when the mode says so (path_with_escaped_slashes_action);
//  5. normalize_path: RFC 3986 dot segments — `%2e` counted as a dot, `\` as a slash —
//     unreserved characters decoded (`%61dmin` is `admin`), characters a path may not hold
//     escaped, and a target holding NUL (raw or `%00`) refused with 400. This is Chromium's URL
//     path canonicalizer, which Envoy embeds;
//  6. merge_slashes: `//a///b` is `/a/b`.
// Istio's mesh setting pathNormalization chooses the steps (pilot listener_builder.go):
// NONE none of 4–6, BASE (the default) 5, MERGE_SLASHES 5–6, DECODE_AND_MERGE_SLASHES 4–6
// (UNESCAPE_AND_FORWARD). The query string is never touched.
//
// Methods: Node's HTTP/1 parser already refuses anything but the standard uppercase methods;
// over HTTP/2 `:method` is free text, and a lowercase `delete` would not match a policy on
// DELETE while frameworks (Express) route it to their DELETE handler. A method that is not an
// uppercase token is therefore refused with 400.

import type { PathNormalizationMode } from '../istio/mesh-config.ts';

/** MeshConfig's pathNormalization modes (../istio/mesh-config.ts). */
export type PathNormalization = PathNormalizationMode;

export const PATH_NORMALIZATIONS: readonly PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

export type TargetResult =
  | { readonly ok: true; readonly path: string; readonly query: string; readonly host: string | undefined }
  | { readonly ok: false; readonly status: 400 | 404; readonly reason: string };

const PASS = 0;
const ESCAPE = 1;
const UNESCAPE = 2;
const INVALID = 3;

// Chromium's kPathCharLookup for ASCII, as Envoy's snapshot has it: unreserved characters are
// kept (or decoded when escaped), characters a path may not hold are escaped, NUL is invalid.
const PATH_CHAR: Uint8Array = (() => {
  const t = new Uint8Array(128).fill(PASS);
  for (let c = 1; c < 0x20; c++) t[c] = ESCAPE;
  t[0] = INVALID;
  for (const ch of ' "#%<>?`{|}\x7f') t[ch.charCodeAt(0)] = ESCAPE;
  t['^'.charCodeAt(0)] = ESCAPE;
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9\-_~.]/.test(ch)) t[c] = UNESCAPE;
  }
  return t;
})();

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/;

/** Why a request method is refused (not an uppercase RFC 9110 token), or undefined. */
export function methodProblem(method: string): string | undefined {
  if (TOKEN.test(method)) return undefined;
  if (TOKEN.test(method.toUpperCase())) return `method ${JSON.stringify(method)} is not uppercase (a policy on ${method.toUpperCase()} would not see it)`;
  return `method ${JSON.stringify(method)} is not a valid token`;
}

/**
 * Normalizes a request target as Envoy's connection manager does under `mode`. `http1` says
 * the target came from an HTTP/1 request line, where absolute-form is allowed.
 */
export function normalizeRequestTarget(target: string, mode: PathNormalization, http1: boolean): TargetResult {
  let pathAndQuery = target;
  let host: string | undefined;
  if (http1 && !target.startsWith('/') && target !== '*') {
    const abs = absoluteForm(target);
    if (!abs) return { ok: false, status: 400, reason: `invalid url in request line: ${JSON.stringify(target)}` };
    ({ host, pathAndQuery } = abs);
  }
  if (pathAndQuery === '') return { ok: false, status: 404, reason: 'missing path' };
  if (!pathAndQuery.startsWith('/')) return { ok: false, status: 404, reason: `path ${JSON.stringify(pathAndQuery)} is not relative` };
  const hash = pathAndQuery.indexOf('#');
  if (hash >= 0) pathAndQuery = pathAndQuery.slice(0, hash);
  const q = pathAndQuery.indexOf('?');
  let path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? '' : pathAndQuery.slice(q);
  if (mode === 'NONE') return { ok: true, path, query, host };
  if (mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  const canonical = canonicalPath(path);
  if (canonical === undefined) return { ok: false, status: 400, reason: `path ${JSON.stringify(path)} cannot be normalized` };
  path = canonical;
  if (mode !== 'BASE') path = mergeSlashes(path);
  return { ok: true, path, query, host };
}

/** Envoy's merge_slashes on a path without its query: runs of '/' become one. */
export function mergeSlashes(path: string): string {
  if (!path.includes('//')) return path;
  const lead = path.startsWith('/') ? '/' : '';
  const trail = path.endsWith('/') ? '/' : '';
  const inner = path.split('/').filter((s) => s !== '').join('/');
  return inner === '' ? lead || trail : lead + inner + trail;
}

// HTTP/1 absolute-form: scheme://authority[path][?query]; Envoy's Utility::Url accepts http and
// https and turns an empty path into '/'.
function absoluteForm(target: string): { host: string; pathAndQuery: string } | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(target);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  // No userinfo, a non-empty host, an optional numeric port.
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(:\d{1,5})?$/.test(authority)) return undefined;
  const rest = m[3]!;
  return { host: authority, pathAndQuery: rest === '' || rest.startsWith('?') || rest.startsWith('#') ? `/${rest}` : rest };
}

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The byte a %XX escape at `i` stands for, or -1. */
function escapedAt(s: string, i: number): number {
  if (s.charCodeAt(i) !== 37 || i + 2 >= s.length) return -1;
  const hi = hexValue(s.charCodeAt(i + 1));
  const lo = hexValue(s.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** Length of a dot at `i` ('.' or %2e), or 0. */
function dotAt(s: string, i: number): number {
  if (s.charCodeAt(i) === 46) return 1;
  return escapedAt(s, i) === 46 ? 3 : 0;
}

const isSlash = (s: string, i: number) => s[i] === '/' || s[i] === '\\';

/** Bytes of `s` for escaping: a char up to 0xFF is one byte (Node hands request lines over as latin1), others UTF-8. */
function escapeChar(code: number): string {
  if (code <= 0xff) return `%${HEX[code >> 4]}${HEX[code & 15]}`;
  let out = '';
  for (const b of Buffer.from(String.fromCodePoint(code), 'utf8')) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  return out;
}

/**
 * Envoy's normalize_path (Chromium's CanonicalizePath) on a path without its query; undefined
 * when the path holds an invalid character (the request is then refused with 400).
 */
export function canonicalPath(input: string): string | undefined {
  let out = input.length > 0 && isSlash(input, 0) ? '' : '/';
  if (input.length === 0) return '/';
  let ok = true;
  let lastInvalidPercent = -Infinity;
  const backUp = () => {
    // out ends with '/'; drop the last segment, never past the first slash.
    let i = out.length - 1;
    if (i === 0) return;
    i--;
    while (out[i] !== '/' && i > 0) i--;
    out = out.slice(0, i + 1);
  };
  for (let i = 0; i < input.length; i++) {
    const code = input.codePointAt(i)!;
    if (code > 0xffff) i++;
    if (code >= 0x80) { out += escapeChar(code); continue; }
    const dot = dotAt(input, i);
    if (dot > 0) {
      if (out.endsWith('/')) {
        const after = i + dot;
        if (after === input.length) { i = after - 1; continue; } // "/." at the end
        if (isSlash(input, after)) { i = after; continue; } // "/./"
        const second = dotAt(input, after);
        if (second > 0) {
          const end = after + second;
          if (end === input.length) { backUp(); i = end - 1; continue; } // "/.." at the end
          if (isSlash(input, end)) { backUp(); i = end; continue; } // "/../"
        }
      }
      out += '.';
      i += dot - 1;
      continue;
    }
    if (code === 92 /* \ */) { out += '/'; continue; }
    if (code === 37 /* % */) {
      const v = escapedAt(input, i);
      if (v < 0) {
        lastInvalidPercent = out.length;
        out += '%';
        continue;
      }
      const flags = v < 0x80 ? PATH_CHAR[v]! : ESCAPE;
      if (flags === UNESCAPE) {
        out += String.fromCharCode(v);
        i += 2;
        if (lastInvalidPercent >= out.length - 3) out = nestedEscapes(input, i + 1, lastInvalidPercent, out);
      } else {
        // Kept as written (hex case included); an escaped NUL makes the path invalid.
        out += input.slice(i, i + 3);
        i += 2;
        if (flags === INVALID) ok = false;
      }
      continue;
    }
    const flags = PATH_CHAR[code]!;
    if (flags === INVALID) { out += escapeChar(code); ok = false; } else if (flags === ESCAPE) out += escapeChar(code);
    else out += input[i];
  }
  return ok ? out : undefined;
}

// After decoding a character within two places of a '%' that began no valid escape, the output
// may now hold a valid escape ("%%30%30" → "%00") that a later decoder would read: the '%' is
// then written as %25 so the output cannot be read differently (Chromium's CheckForNestedEscapes).
function nestedEscapes(input: string, next: number, percentAt: number, out: string): string {
  const len = out.length;
  const appendNext = percentAt === len - 2;
  let candidate = out;
  if (appendNext) {
    if (next === input.length || input.charCodeAt(next) >= 0x80) return out;
    candidate = out + input[next];
  }
  if (escapedAt(candidate, percentAt) < 0) return out;
  return `${out.slice(0, percentAt)}%25${out.slice(percentAt + 1)}`;
}
