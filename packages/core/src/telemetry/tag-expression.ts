// The expressions of Telemetry `tagOverrides` values that Meshlet can evaluate. Istio hands these
// to Envoy's stats filter as CEL over Envoy's attributes; Meshlet evaluates the simple forms
// people write, once parsed, per request:
//   - a string literal: 'v1' or "v1";
//   - request.headers['name'], request.host, request.method, request.path (with the query),
//     request.url_path (without), request.scheme;
//   - response.code, response.grpc_status;
//   - destination.port, xds.cluster_name, xds.route_name.
// Anything else (operators, functions, peer metadata such as upstream_peer.labels[...]) is
// reported when the config loads, and the tag is left unchanged. A value the request does not
// have (a missing header, no response code) becomes "unknown", Istio's placeholder for labels.

/** What a request exposes to tag expressions. */
export interface TagContext {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly scheme: string;
  readonly port: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>> | undefined;
  readonly status: number | undefined;
  readonly grpcStatus: number | undefined;
  readonly cluster: string | undefined;
  readonly route: string | undefined;
}

export type TagExpression = (ctx: TagContext) => string;

export const UNKNOWN = 'unknown';

const ATTRIBUTES: Readonly<Record<string, (c: TagContext) => string | number | undefined>> = {
  'request.host': (c) => c.host,
  'request.method': (c) => c.method,
  'request.path': (c) => c.path,
  'request.url_path': (c) => { const q = c.path.indexOf('?'); return q < 0 ? c.path : c.path.slice(0, q); },
  'request.scheme': (c) => c.scheme,
  'response.code': (c) => c.status,
  'response.grpc_status': (c) => c.grpcStatus,
  'destination.port': (c) => c.port,
  'xds.cluster_name': (c) => c.cluster,
  'xds.route_name': (c) => c.route,
};

export function parseTagExpression(src: string): { ok: true; value: TagExpression } | { ok: false; reason: string } {
  const s = src.trim();
  const literal = /^'([^'\\]*)'$|^"([^"\\]*)"$/.exec(s);
  if (literal) {
    const v = literal[1] ?? literal[2] ?? '';
    return { ok: true, value: () => v };
  }
  const header = /^request\.headers\[\s*(?:'([^']+)'|"([^"]+)")\s*\]$/.exec(s);
  if (header) {
    const name = (header[1] ?? header[2]!).toLowerCase();
    return {
      ok: true,
      value: (c) => {
        const v = c.headers?.[name];
        return v === undefined ? UNKNOWN : Array.isArray(v) ? v.join(',') : v;
      },
    };
  }
  const attr = ATTRIBUTES[s];
  if (attr) return { ok: true, value: (c) => { const v = attr(c); return v === undefined || v === '' ? UNKNOWN : String(v); } };
  return { ok: false, reason: `supported: a quoted string, request.headers['name'], ${Object.keys(ATTRIBUTES).join(', ')}` };
}
