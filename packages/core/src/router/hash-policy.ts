// RouteAction.hash_policy → the request's consistent-hash key (Envoy's http/hash_policy.cc).
// Compiled once per route; the adapter calls the result once per request and passes `hash` to
// ClusterRuntime.pick (RING_HASH / MAGLEV read it, other balancers ignore it).
//
// Envoy's rules, kept here:
//  - each policy hashes one value with xxHash64: a header (after its regex_rewrite, if any), a cookie, the source IP, a query parameter (first value, as written, not decoded);
//  - a policy that finds nothing contributes nothing; the results combine as
//    hash = rotl(hash, 1) ^ next, so two identical policies do not cancel out;
//  - `terminal`: once a terminal policy has produced a key, later policies are skipped;
//  - no key at all → the balancer uses a random one;
//  - a cookie policy with a ttl, when the request has no such cookie, makes one: Envoy hashes
//    the connection's addresses into the value; a client library has no downstream connection,
//    so the value is random (16 hex digits, the length Envoy's is). The key is the hash of that
//    value, and the response must carry it back in Set-Cookie so the next request hashes the same.
//    The policy is pure: it says what to set, the adapter sets it (setCookieHeader()).

import type { HashPolicy } from '../xds/resources.ts';
import { durationToMs } from '../xds/duration.ts';
import { xxHash64 } from '../lb/xxhash64.ts';
import { compileRe2, RegexError } from '../regex/re2.ts';
import type { RequestView } from './request-view.ts';

/** A cookie the response must set because the hash policy generated it. */
export interface HashCookie {
  readonly name: string;
  readonly value: string;
  /** Cookie Path attribute; undefined = none. */
  readonly path: string | undefined;
  /** Max-Age in whole seconds; 0 = a session cookie (no Max-Age). */
  readonly ttlSeconds: number;
  /** Further attributes (SameSite, Secure, ...), written after Path. */
  readonly attributes?: readonly { readonly name: string; readonly value?: string | undefined }[];
}

export interface RequestHash {
  /** The key for RING_HASH / MAGLEV; undefined when no policy produced one (pick at random). */
  readonly hash: bigint | undefined;
  /** Set on the response when a cookie policy generated the key. */
  readonly setCookie?: HashCookie;
}

/** Computes one request's hash key. `sourceIp` is the address the request leaves from, if known. */
export type RequestHasher = (req: RequestView, sourceIp: string | undefined) => RequestHash;

type Method = (req: RequestView, sourceIp: string | undefined, out: { cookie?: HashCookie }) => bigint | undefined;

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const U64 = 0xffff_ffff_ffff_ffffn;

export class HashPolicyError extends Error {}

/**
 * Compiles a route's hash_policy list. Undefined for an empty list (no hashing on this route).
 * Throws HashPolicyError naming `field` for a policy Envoy would reject.
 */
export function compileHashPolicy(policies: readonly HashPolicy[] | undefined, field: string): RequestHasher | undefined {
  if (!policies || policies.length === 0) return undefined;
  const methods: { method: Method; terminal: boolean }[] = [];
  policies.forEach((p, i) => {
    const method = compileOne(p, `${field}[${i}]`);
    if (method) methods.push({ method, terminal: p.terminal === true });
  });
  if (methods.length === 0) return undefined;
  return (req, sourceIp) => {
    const out: { cookie?: HashCookie } = {};
    let hash: bigint | undefined;
    for (const { method, terminal } of methods) {
      const next = method(req, sourceIp, out);
      if (next !== undefined) hash = hash === undefined ? next : (((hash << 1n) | (hash >> 63n)) & U64) ^ next;
      if (terminal && hash !== undefined) break;
    }
    return out.cookie ? { hash, setCookie: out.cookie } : { hash };
  };
}

function compileOne(p: HashPolicy, field: string): Method | undefined {
  const set = [p.header, p.cookie, p.connectionProperties, p.queryParameter, (p as { filterState?: unknown }).filterState].filter((x) => x !== undefined).length;
  if (set !== 1) throw new HashPolicyError(`${field}: exactly one of header, cookie, connectionProperties, queryParameter or filterState must be set`);
  if (p.header) {
    const name = p.header.headerName;
    if (!name || !HEADER_NAME.test(name)) throw new HashPolicyError(`${field}.header.headerName: ${JSON.stringify(name)} is not a header name`);
    const lower = name.toLowerCase();
    const rewrite = p.header.regexRewrite ? headerRewrite(p.header.regexRewrite, `${field}.header.regexRewrite`) : undefined;
    return (req) => {
      const raw = req.header(lower);
      const v = raw === undefined || rewrite === undefined ? raw : rewrite(raw);
      // A single value hashes exactly as Envoy hashes it. RequestView has already joined a
      // repeated header with ',', and a value may itself hold commas, so the joined text is
      // hashed as one value (Envoy would sort and chain the separate values).
      return v === undefined ? undefined : xxHash64(v);
    };
  }
  if (p.cookie) {
    const { name, path } = p.cookie;
    const attributes = p.cookie.attributes?.length ? p.cookie.attributes.map((a) => ({ name: a.name, value: a.value })) : undefined;
    if (!name) throw new HashPolicyError(`${field}.cookie.name: required`);
    let ttlSeconds: number | undefined;
    if (p.cookie.ttl !== undefined) {
      const ms = durationToMs(p.cookie.ttl);
      if (ms === undefined || ms < 0) throw new HashPolicyError(`${field}.cookie.ttl: ${JSON.stringify(p.cookie.ttl)} is not a duration`);
      ttlSeconds = Math.floor(ms / 1000);
    }
    return (req, _ip, out) => {
      const value = cookieValue(req.header('cookie'), name);
      if (value !== undefined && value !== '') return xxHash64(value);
      if (ttlSeconds === undefined) return undefined;
      const generated = process.getBuiltinModule('node:crypto').randomBytes(8).toString('hex');
      out.cookie = attributes ? { name, value: generated, path: path || undefined, ttlSeconds, attributes } : { name, value: generated, path: path || undefined, ttlSeconds };
      return xxHash64(generated);
    };
  }
  if (p.connectionProperties) {
    if (!p.connectionProperties.sourceIp) return undefined; // Envoy adds no method for sourceIp: false
    return (_req, ip) => (ip ? xxHash64(ip) : undefined);
  }
  if (p.queryParameter) {
    const name = p.queryParameter.name;
    if (!name) throw new HashPolicyError(`${field}.queryParameter.name: required`);
    return (req) => {
      const v = rawQueryParam(req.query, name);
      return v === undefined ? undefined : xxHash64(v);
    };
  }
  // filterState: Envoy hashes an object another filter stored; a client has none, so this
  // policy never yields a key (as in Envoy when the object is absent).
  return undefined;
}

// The header's value rewritten before hashing: every match of the pattern replaced (Envoy's
// HeaderHashMethod with regex_rewrite).
function headerRewrite(r: { pattern: { regex: string }; substitution: string }, field: string): (value: string) => string {
  try {
    const re = compileRe2(r.pattern?.regex ?? '');
    const sub = re.rewrite(r.substitution ?? '');
    return (v) => re.replaceAll(v, sub);
  } catch (err) {
    if (err instanceof RegexError) throw new HashPolicyError(`${field}: ${err.message}`);
    throw err;
  }
}

/**
 * A cookie's value from the Cookie header (Envoy's parseCookieValue): the first pair with that
 * name, surrounding double quotes removed. Pairs are split on ';' and on ',' (how RequestView
 * joins several Cookie headers); cookie values cannot contain either.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}

// Envoy's QueryParamsMulti::parseQueryString keeps values as written (no percent-decoding).
function rawQueryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/** The Set-Cookie value Envoy writes for a generated cookie (Http::Utility::makeSetCookieValue). */
export function setCookieHeader(c: HashCookie): string {
  let out = `${c.name}="${c.value}"`;
  if (c.ttlSeconds > 0) out += `; Max-Age=${c.ttlSeconds}`;
  if (c.path) out += `; Path=${c.path}`;
  for (const a of c.attributes ?? []) out += a.value ? `; ${a.name}=${a.value}` : `; ${a.name}`;
  return `${out}; HttpOnly`;
}
