// What route matching may look at in a request, in one place. Built once per request from
// whatever header form the adapter has; header names are lower-case, repeated headers are
// joined with ',' as Envoy presents them to matchers.

export interface RequestView {
  readonly method: string;
  readonly scheme: string;
  /** host[:port] as the caller addressed it. */
  readonly authority: string;
  /** The path without the query string. */
  readonly path: string;
  /** The raw query string without '?', or ''. */
  readonly query: string;
  header(name: string): string | undefined;
}

export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

export function requestView(method: string, scheme: string, authority: string, pathAndQuery: string, headers: HeaderRecord): RequestView {
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? '' : pathAndQuery.slice(q + 1);
  return {
    method,
    scheme,
    authority,
    path,
    query,
    header(name) {
      switch (name) {
        case ':method': return method;
        case ':authority': case 'host': return authority;
        case ':path': return pathAndQuery;
        case ':scheme': return scheme;
      }
      const v = headers[name];
      if (v === undefined) return undefined;
      return typeof v === 'string' ? v : v.join(',');
    },
  };
}

/** First value of a query parameter, decoded; undefined when absent. */
export function queryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (safeDecode(key) === name) return eq < 0 ? '' : safeDecode(pair.slice(eq + 1));
  }
  return undefined;
}

function safeDecode(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
