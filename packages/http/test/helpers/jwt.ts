// Real JWTs for the RequestAuthentication tests: signing keys generated here with jose, a JWKS
// served by a loopback HTTP server that a test can stop (and count fetches of), a token signer,
// and a config folder with the YAML under test. Everything lives in a temp folder removed by
// cleanup().

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function signingKey(kid: string, alg = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A compact JWS signed with `key`: `exp` one hour ahead unless the claims set it. */
export function token(key: SigningKey, claims: JWTPayload & Record<string, unknown>, alg = 'ES256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 3600, ...claims }).setProtectedHeader({ alg, kid: key.kid }).sign(key.privateKey);
}

export interface JwksServer {
  url: string;
  /** GET requests served so far. */
  readonly fetches: number;
  setKeys(keys: JWK[]): void;
  stop(): Promise<void>;
}

export async function serveJwks(keys: JWK[]): Promise<JwksServer> {
  let current = keys;
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: current }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get fetches() { return fetches; },
    setKeys(k) { current = k; },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface ConfigDir {
  dir: string;
  write(docs: string[]): string;
  cleanup(): void;
}

export function configDir(prefix = 'meshlet-jwt-'): ConfigDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    write(docs) {
      const sub = join(dir, `cfg-${n++}`);
      mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, 'security.yaml'), docs.join('\n---\n'));
      return sub;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
