// Public keys for JWT verification, fetched from a RequestAuthentication's `jwksUri` (or found by
// OpenID discovery from the issuer when neither jwksUri nor jwks is set) — what istiod's
// JwksResolver does for a sidecar (pilot/pkg/model/jwks_resolver.go), in process:
//   - fetched once when a server first needs the issuer, then refreshed every
//     PILOT_JWT_PUB_KEY_REFRESH_INTERVAL (istiod's default 20 minutes; the same variable is read
//     here, or createMesh({ jwks: { refreshIntervalMs } }));
//   - after a failed refresh the next one comes after 1 minute, doubling on each further failure
//     up to 60 minutes, then back to the normal interval after a success;
//   - a failed or malformed fetch never replaces the last good key set; until a first key set
//     has arrived no token verifies (istiod's fail-closed public-only JWKS);
//   - a body that is not a JWKS is refused (istiod's validateJWKSFormat).
// Fetches use undici with a private Agent, so a mesh dispatcher installed as the global one never
// routes them. Sources are shared by every server of the mesh and kept while any config uses them.
// jose and undici load on first use (every Mesh holds a cache, few configure RequestAuthentication),
// so importing @meshlet/core costs neither.

import type { Agent } from 'undici';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import type { Logger } from '../../logger.ts';
import { goDurationToMs } from '../../istio/validate/validate-duration.ts';

export const DEFAULT_JWKS_REFRESH_MS = 20 * 60_000;
const REFRESH_ON_FAILURE_MS = 60_000;
const REFRESH_ON_FAILURE_MAX_MS = 60 * 60_000;

export interface JwksCacheOptions {
  /** Default: PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, else 20 minutes. */
  refreshIntervalMs?: number;
  /** First retry after a failure (default 1 minute; doubles up to 60 minutes). */
  retryAfterFailureMs?: number;
}

/** Where a provider's keys come from. */
export type KeySpec =
  | { readonly kind: 'inline'; readonly jwks: string }
  | { readonly kind: 'remote'; readonly uri: string; readonly timeoutMs: number }
  | { readonly kind: 'discovery'; readonly issuer: string; readonly timeoutMs: number };

export interface KeySet {
  /** The key lookup jose verifies with; undefined while no key set has ever been fetched. */
  readonly getKey: JWTVerifyGetKey | undefined;
  /** When the keys in force were fetched (ms since epoch); undefined for none. */
  readonly fetchedAt: number | undefined;
}

export interface KeySource {
  /** The keys in force; waits for the first fetch if it is still under way. */
  keys(): Promise<KeySet>;
  release(): void;
}

const NONE: KeySet = { getKey: undefined, fetchedAt: undefined };

export function refreshIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['PILOT_JWT_PUB_KEY_REFRESH_INTERVAL'];
  const ms = v ? goDurationToMs(v) : undefined;
  return ms !== undefined && ms > 0 ? ms : DEFAULT_JWKS_REFRESH_MS;
}

/** Parses a JWKS document; an error string when it is not one. */
export function parseJwks(text: string): { ok: true; jwks: JSONWebKeySet } | { ok: false; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, error: 'Jwks is an invalid JSON' };
  }
  const keys = typeof v === 'object' && v !== null ? (v as { keys?: unknown }).keys : undefined;
  if (keys === undefined) return { ok: false, error: 'Jwks does not have [keys] field' };
  if (!Array.isArray(keys)) return { ok: false, error: '[keys] in Jwks is not an array' };
  return { ok: true, jwks: v as JSONWebKeySet };
}

export class JwksCache {
  readonly #logger: Logger;
  readonly #refreshMs: number;
  readonly #retryMs: number;
  readonly #sources = new Map<string, RemoteSource>();
  #agent: Promise<Agent> | undefined;
  #closed = false;

  constructor(logger: Logger, opts: JwksCacheOptions = {}) {
    this.#logger = logger;
    this.#refreshMs = opts.refreshIntervalMs ?? refreshIntervalFromEnv();
    this.#retryMs = opts.retryAfterFailureMs ?? REFRESH_ON_FAILURE_MS;
  }

  /** A source for `spec`; the caller releases it when its config is replaced. */
  acquire(spec: KeySpec): KeySource {
    if (spec.kind === 'inline') return inlineSource(spec.jwks);
    const key = spec.kind === 'remote' ? `uri:${spec.uri}` : `issuer:${spec.issuer}`;
    let s = this.#sources.get(key);
    if (!s || s.closed) {
      s = new RemoteSource(spec, { logger: this.#logger, refreshMs: this.#refreshMs, retryMs: this.#retryMs, agent: () => (this.#agent ??= import('undici').then((u) => new u.Agent({ connections: 4 }))), closed: () => this.#closed }, () => this.#sources.delete(key));
      this.#sources.set(key, s);
    }
    s.refs++;
    const src = s;
    let released = false;
    return {
      keys: () => src.keys(),
      release: () => {
        if (released) return;
        released = true;
        src.unref();
      },
    };
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sources.values()) s.close();
    this.#sources.clear();
    void this.#agent?.then((a) => a.close());
  }
}

function inlineSource(text: string): KeySource {
  const parsed = parseJwks(text);
  let set: Promise<KeySet> | undefined;
  const build = async (): Promise<KeySet> => (parsed.ok ? { getKey: (await import('jose')).createLocalJWKSet(parsed.jwks), fetchedAt: undefined } : NONE);
  return { keys: () => (set ??= build()), release() {} };
}

interface SourceEnv {
  logger: Logger;
  refreshMs: number;
  retryMs: number;
  agent(): Promise<Agent>;
  closed(): boolean;
}

class RemoteSource {
  refs = 0;
  closed = false;
  current: KeySet = NONE;
  readonly #spec: Exclude<KeySpec, { kind: 'inline' }>;
  readonly #env: SourceEnv;
  readonly #onClose: () => void;
  #first: Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #lastText: string | undefined;

  constructor(spec: Exclude<KeySpec, { kind: 'inline' }>, env: SourceEnv, onClose: () => void) {
    this.#spec = spec;
    this.#env = env;
    this.#onClose = onClose;
    this.#first = this.#refresh();
  }

  async keys(): Promise<KeySet> {
    await this.#first;
    return this.current;
  }

  unref(): void {
    // Kept for a moment after the last user lets go, so a config reload that still names the
    // issuer picks the same source (and its last good keys) back up.
    if (--this.refs > 0) return;
    setTimeout(() => { if (this.refs <= 0) this.close(); }, 1000).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#timer);
    this.#onClose();
  }

  async #refresh(): Promise<void> {
    const { logger } = this.#env;
    const where = this.#spec.kind === 'remote' ? this.#spec.uri : `OpenID discovery for ${this.#spec.issuer}`;
    try {
      const uri = this.#spec.kind === 'remote' ? this.#spec.uri : await this.#discover();
      const text = await this.#get(uri);
      const parsed = parseJwks(text);
      if (!parsed.ok) throw new Error(`not a JWKS: ${parsed.error}`);
      if (text !== this.#lastText) {
        this.current = { getKey: (await import('jose')).createLocalJWKSet(parsed.jwks), fetchedAt: Date.now() };
        this.#lastText = text;
        logger.info({ jwks: where, keys: parsed.jwks.keys.length }, 'JWT public keys updated');
      } else {
        this.current = { ...this.current, fetchedAt: Date.now() };
      }
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      logger.warn({ jwks: where, error: (err as Error).message, keptKeysFrom: this.current.fetchedAt && new Date(this.current.fetchedAt).toISOString() },
        this.current.getKey ? 'JWKS fetch failed; keeping the last good keys' : 'JWKS fetch failed; tokens of this issuer are refused until keys arrive');
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.closed || this.#env.closed()) return;
    const delay = this.#failures === 0 ? this.#env.refreshMs : Math.min(this.#env.retryMs * 2 ** (this.#failures - 1), REFRESH_ON_FAILURE_MAX_MS);
    this.#timer = setTimeout(() => { void this.#refresh(); }, delay);
    this.#timer.unref();
  }

  async #discover(): Promise<string> {
    const issuer = (this.#spec as { issuer: string }).issuer.replace(/\/$/, '');
    const doc = JSON.parse(await this.#get(`${issuer}/.well-known/openid-configuration`)) as { jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string' || doc.jwks_uri === '') throw new Error('OpenID configuration has no jwks_uri');
    return doc.jwks_uri;
  }

  async #get(uri: string): Promise<string> {
    const timeoutMs = this.#spec.timeoutMs;
    const [{ request }, dispatcher] = await Promise.all([import('undici'), this.#env.agent()]);
    const res = await request(uri, { dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${uri}: HTTP ${res.statusCode}`);
    return body;
  }
}
