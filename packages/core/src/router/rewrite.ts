// Path rewrites as Envoy applies them: prefix_rewrite swaps the matched prefix (or the whole
// path for path/regex matches) and keeps the query; regex_rewrite substitutes every match in
// the path.

import type { PathRewrite } from '../snapshot/mesh-snapshot.ts';

export function rewritePath(rewrite: PathRewrite | undefined, pathAndQuery: string): string {
  if (!rewrite) return pathAndQuery;
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? '' : pathAndQuery.slice(q);
  if (rewrite.kind === 'regex') return path.replace(rewrite.pattern, rewrite.substitution) + query;
  if (rewrite.replaceWholePath) return rewrite.prefix + query;
  return rewrite.prefix + path.slice(rewrite.matchedPrefix.length) + query;
}
