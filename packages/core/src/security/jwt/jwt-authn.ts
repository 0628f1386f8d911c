// Envoy's jwt_authn filter for one request, in process: find the tokens each provider names,
// verify them (jwt-verify.ts), combine the providers' outcomes through the requirement tree, and
// say what the server must do — answer 401/403, or pass the request on with the verified payload
// (the `payload` metadata AuthorizationPolicy reads) and the header edits Envoy makes.
//
// Semantics kept from Envoy (source/extensions/filters/http/jwt_authn: extractor.cc,
// verifier.cc, filter.cc):
//   - a header location with a prefix takes the text after the prefix wherever it appears, each
//     value of the header is a token; a header without the prefix is skipped; then query
//     parameters (first value), then cookies;
//   - a provider with no token is JwtMissed; every token it finds must verify;
//   - requires_any succeeds when a child does; otherwise its status is the children's most
//     telling one (any error but JwtMissed/JwtUnknownIssuer, then JwtUnknownIssuer, then
//     JwtMissed), which allow_missing turns into success only when it is JwtMissed;
//     requires_all fails with its first failing child;
//   - failure answers 401 with the status text and `www-authenticate: Bearer realm="<url>"`
//     (plus `error="invalid_token"` unless the token was missing) — 403 for a wrong audience;
//   - on success: the token is removed from its header or query parameter unless forwarded
//     (cookies are left, as Envoy leaves them), the payload segment goes to
//     forwardPayloadHeader, claims to their headers; those output headers are always cleared
//     first so a caller cannot forge them;
//   - CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) are not checked.

import type { JwksCache, KeySource } from './jwks-cache.ts';
import type { JwtAuthnConfig, JwtProviderConfig, JwtRequirement } from './jwt-config.ts';
import { decodeToken, STATUS_MESSAGE, verifyToken, type JwtStatus } from './jwt-verify.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface JwtRequestView {
  readonly method: string;
  readonly headers: Headers;
  /** The query string without '?', if any. */
  readonly query?: string | undefined;
}

export interface RequestEdits {
  readonly removeHeaders: readonly string[];
  readonly setHeaders: Readonly<Record<string, string>>;
  readonly removeParams: readonly string[];
}

export type JwtResult =
  | { readonly ok: true; readonly payload: Readonly<Record<string, unknown>> | undefined; readonly edits: RequestEdits }
  | { readonly ok: false; readonly status: JwtStatus; readonly httpStatus: 401 | 403; readonly message: string };

interface Token {
  readonly value: string;
  readonly header?: string;
  readonly param?: string;
}

interface Context {
  readonly req: JwtRequestView;
  readonly removeHeaders: Set<string>;
  readonly setHeaders: Record<string, string>;
  readonly removeParams: Set<string>;
  payload: Record<string, unknown> | undefined;
}

export class JwtAuthenticator {
  readonly config: JwtAuthnConfig;
  readonly #sources = new Map<string, KeySource>();
  readonly #sanitize: readonly string[];

  constructor(config: JwtAuthnConfig, cache: JwksCache) {
    this.config = config;
    for (const p of config.providers.values()) this.#sources.set(p.name, cache.acquire(p.keys));
    this.#sanitize = [...config.providers.values()].flatMap((p) => [...(p.forwardPayloadHeader ? [p.forwardPayloadHeader.toLowerCase()] : []), ...p.claimToHeaders.map((c) => c.header)]);
  }

  /** Lets go of the key sources (a newer config replaced this one). */
  release(): void {
    for (const s of this.#sources.values()) s.release();
  }

  async authenticate(req: JwtRequestView): Promise<JwtResult> {
    const ctx: Context = { req, removeHeaders: new Set(this.#sanitize), setHeaders: {}, removeParams: new Set(), payload: undefined };
    if (this.config.bypassCorsPreflight && isCorsPreflight(req)) return ok(ctx);
    const status = await this.#requirement(this.config.requires, ctx);
    if (status !== 'Ok') {
      return { ok: false, status, httpStatus: status === 'JwtAudienceNotAllowed' ? 403 : 401, message: STATUS_MESSAGE[status] };
    }
    return ok(ctx);
  }

  async #requirement(r: JwtRequirement, ctx: Context): Promise<JwtStatus> {
    if ('provider' in r) {
      const p = this.config.providers.get(r.provider);
      return p ? this.#provider(p, ctx) : 'JwtUnknownIssuer';
    }
    if ('all' in r) {
      for (const child of r.all) {
        const s = await this.#requirement(child, ctx);
        if (s !== 'Ok') return s;
      }
      return 'Ok';
    }
    if ('any' in r) {
      const bypass = r.any.find((c) => 'allowMissing' in c || 'allowMissingOrFailed' in c);
      const children = r.any.filter((c) => c !== bypass && !('allowMissing' in c) && !('allowMissingOrFailed' in c));
      if (children.length === 0) return bypass ? this.#requirement(bypass, ctx) : 'Ok';
      let final: JwtStatus = 'JwtMissed';
      for (const child of children) {
        const s = await this.#requirement(child, ctx);
        if (s === 'Ok') return 'Ok';
        if ((s !== 'JwtMissed' && s !== 'JwtUnknownIssuer') || final === 'JwtMissed') final = s;
      }
      if (r.any.some((c) => 'allowMissingOrFailed' in c)) return 'Ok';
      if (r.any.some((c) => 'allowMissing' in c) && final === 'JwtMissed') return 'Ok';
      return final;
    }
    // allow_missing / allow_missing_or_failed alone: any provider's token, each by its issuer.
    const all = [...this.config.providers.values()];
    const tokens = all.flatMap((p) => extract(p, ctx.req));
    if (tokens.length === 0) return 'Ok';
    for (const t of tokens) {
      const iss = (await decodeToken(t.value)).payload?.['iss'];
      const p = all.find((x) => x.issuer === '' || x.issuer === iss);
      const s = p ? await this.#verify(p, [t], ctx) : 'JwtUnknownIssuer';
      if (s !== 'Ok' && !('allowMissingOrFailed' in r)) return s;
    }
    return 'Ok';
  }

  #provider(p: JwtProviderConfig, ctx: Context): Promise<JwtStatus> {
    const tokens = extract(p, ctx.req);
    if (tokens.length === 0) return Promise.resolve('JwtMissed');
    return this.#verify(p, tokens, ctx);
  }

  async #verify(p: JwtProviderConfig, tokens: readonly Token[], ctx: Context): Promise<JwtStatus> {
    const source = this.#sources.get(p.name)!;
    const check = { issuers: p.issuer ? new Set([p.issuer]) : undefined, audiences: p.audiences };
    for (const t of tokens) {
      const { status, payload } = await verifyToken(t.value, check, () => source.keys());
      if (status !== 'Ok') return status;
      if (!p.forward) {
        if (t.header) ctx.removeHeaders.add(t.header);
        if (t.param) ctx.removeParams.add(t.param);
      }
      if (p.forwardPayloadHeader) ctx.setHeaders[p.forwardPayloadHeader.toLowerCase()] = t.value.split('.')[1]!;
      for (const c of p.claimToHeaders) {
        const v = claimValue(payload!, c.claim);
        if (v !== undefined) ctx.setHeaders[c.header] = v;
      }
      if (p.payloadInMetadata) ctx.payload = normalizePayload(payload!, p.spaceDelimitedClaims);
    }
    return 'Ok';
  }
}

function ok(ctx: Context): JwtResult {
  // A header that is both cleared (sanitized) and set (an output) ends up set.
  const removeHeaders = [...ctx.removeHeaders].filter((h) => !(h in ctx.setHeaders));
  return { ok: true, payload: ctx.payload, edits: { removeHeaders, setHeaders: ctx.setHeaders, removeParams: [...ctx.removeParams] } };
}

function isCorsPreflight(req: JwtRequestView): boolean {
  return req.method === 'OPTIONS' && !!req.headers['origin'] && !!req.headers['access-control-request-method'];
}

const TOKEN_CHARS = /[A-Za-z0-9\-_.]/;

function extract(p: JwtProviderConfig, req: JwtRequestView): Token[] {
  const out: Token[] = [];
  for (const h of p.fromHeaders) {
    const raw = req.headers[h.name];
    for (const value of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      if (!h.prefix) {
        out.push({ value, header: h.name });
        continue;
      }
      const at = value.indexOf(h.prefix);
      if (at < 0) continue;
      let start = at + h.prefix.length;
      while (start < value.length && !TOKEN_CHARS.test(value[start]!)) start++;
      out.push({ value: start < value.length ? value.slice(start) : value, header: h.name });
    }
  }
  if (p.fromParams.length > 0 && req.query) {
    const params = new URLSearchParams(req.query);
    for (const name of p.fromParams) {
      const v = params.get(name);
      if (v !== null) out.push({ value: v, param: name });
    }
  }
  if (p.fromCookies.length > 0) {
    const cookies = parseCookies(req.headers['cookie']);
    for (const name of p.fromCookies) {
      const v = cookies.get(name);
      if (v !== undefined) out.push({ value: v });
    }
  }
  return out;
}

function parseCookies(raw: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const k = part.slice(0, eq).trim();
      if (!out.has(k)) out.set(k, part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
    }
  }
  return out;
}

/** A claim for a header: nested names with '.', strings as they are, numbers and booleans as text. */
function claimValue(payload: Record<string, unknown>, claim: string): string | undefined {
  let v: unknown = payload;
  for (const part of claim.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** Envoy's normalize_payload_in_metadata: space-delimited string claims become lists. */
function normalizePayload(payload: Record<string, unknown>, spaceDelimited: readonly string[]): Record<string, unknown> {
  let out = payload;
  for (const c of spaceDelimited) {
    const v = payload[c];
    if (typeof v === 'string') {
      if (out === payload) out = { ...payload };
      out[c] = v.split(' ').filter((s) => s !== '');
    }
  }
  return out;
}

/** `www-authenticate` for a refusal, as Envoy writes it. */
export function wwwAuthenticate(status: JwtStatus, originalUri: string): string {
  return `Bearer realm="${originalUri}"${status === 'JwtMissed' ? '' : ', error="invalid_token"'}`;
}
