// Path rewrites as Envoy applies them: prefix_rewrite swaps the matched prefix (or the whole
// path for path/regex matches) and keeps the query; regex_rewrite substitutes every match in
// the path.

import type { Re2Regex, Re2Rewrite } from '../regex/re2.ts';

export type PathRewrite =
  | { readonly kind: 'prefix'; readonly prefix: string; readonly replaceWholePath: boolean; readonly matchedPrefix: string; readonly caseSensitive: boolean }
  | { readonly kind: 'regex'; readonly pattern: Re2Regex; readonly substitution: Re2Rewrite };

export interface RedirectActionConfig {
  readonly kind: 'redirect';
  readonly status: number;
  readonly scheme: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly path: string | undefined;
  readonly prefixRewrite: string | undefined;
  /** The route's matched prefix, which prefixRewrite replaces (redirectPath below). */
  readonly matchedPrefix?: string | undefined;
  readonly stripQuery: boolean;
}

export function rewritePath(rewrite: PathRewrite | undefined, pathAndQuery: string): string {
  if (!rewrite) return pathAndQuery;
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? '' : pathAndQuery.slice(q);
  if (rewrite.kind === 'regex') return rewrite.pattern.replaceAll(path, rewrite.substitution) + query;
  if (rewrite.replaceWholePath) return rewrite.prefix + query;
  return rewrite.prefix + path.slice(rewrite.matchedPrefix.length) + query;
}

/**
 * The path (without query) of a redirect's Location, as Envoy builds it: path_redirect replaces
 * the path; prefix_rewrite replaces the matched prefix (Gateway API ReplacePrefixMatch, where a
 * "/" replacement of "/foo" turns "/foo/bar" into "/bar"); otherwise the request's path stays.
 */
export function redirectPath(r: RedirectActionConfig, path: string): string {
  if (r.path !== undefined) return r.path;
  if (r.prefixRewrite === undefined) return path;
  const matched = r.matchedPrefix ?? '';
  let rest = path.startsWith(matched) ? path.slice(matched.length) : path;
  if (r.prefixRewrite.endsWith('/') && rest.startsWith('/')) rest = rest.slice(1);
  const out = r.prefixRewrite + rest;
  return out === '' ? '/' : out;
}
