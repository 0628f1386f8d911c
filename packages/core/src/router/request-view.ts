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
  return new HeaderRecordView(method, scheme, authority, pathAndQuery, headers);
}

// A class, not an object literal with a header() closure: one allocation per request instead of
// three (object, closure, its context), on every routed request. Plain fields rather than
// #private ones: until V8 optimises the caller, a #field read is a keyed lookup.
class HeaderRecordView implements RequestView {
  declare readonly method: string;
  declare readonly scheme: string;
  declare readonly authority: string;
  declare readonly path: string;
  declare readonly query: string;
  declare private readonly pathAndQuery: string;
  declare private readonly headers: HeaderRecord;

  constructor(method: string, scheme: string, authority: string, pathAndQuery: string, headers: HeaderRecord) {
    const q = pathAndQuery.indexOf('?');
    this.method = method;
    this.scheme = scheme;
    this.authority = authority;
    this.path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
    this.query = q < 0 ? '' : pathAndQuery.slice(q + 1);
    this.pathAndQuery = pathAndQuery;
    this.headers = headers;
  }

  header(name: string): string | undefined {
    switch (name) {
      case ':method': return this.method;
      case ':authority': case 'host': return this.authority;
      case ':path': return this.pathAndQuery;
      case ':scheme': return this.scheme;
    }
    const v = this.headers[name];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : v.join(',');
  }
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
