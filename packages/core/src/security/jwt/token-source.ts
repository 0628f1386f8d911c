// Client side of JWT: what a MeshAgent (`token`) or meshCredentials (`token`) option calls to get
// the bearer token for a cluster. tokenFile() reads a token file and re-reads it when it changes,
// as istio-agent does with the projected service-account token (Istio's third-party JWT,
// /var/run/secrets/tokens/istio-token, rotated by the kubelet).

import { readFile, stat } from 'node:fs/promises';

/** A token for requests to `cluster` (e.g. 'outbound|9080||reviews.default.svc.cluster.local'); undefined sends none. */
export type TokenProvider = (cluster: string) => string | undefined | Promise<string | undefined>;

/**
 * A TokenProvider reading `path` (surrounding whitespace trimmed), checked for changes at most
 * every `checkMs` (default 1 s) by its modification time; a read error keeps the last token.
 */
export function tokenFile(path: string, opts: { checkMs?: number } = {}): TokenProvider {
  const checkMs = opts.checkMs ?? 1000;
  let token: string | undefined;
  let mtimeMs = -1;
  let checkedAt = -Infinity;
  let pending: Promise<string | undefined> | undefined;
  const refresh = async (): Promise<string | undefined> => {
    try {
      const s = await stat(path);
      if (s.mtimeMs !== mtimeMs) {
        token = (await readFile(path, 'utf8')).trim() || undefined;
        mtimeMs = s.mtimeMs;
      }
    } catch {
      // Keep the last token: a rotation briefly replaces the file.
    }
    checkedAt = Date.now();
    return token;
  };
  return () => {
    if (Date.now() - checkedAt < checkMs) return token;
    pending ??= refresh().finally(() => { pending = undefined; });
    return pending;
  };
}
