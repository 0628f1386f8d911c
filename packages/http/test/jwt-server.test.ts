// RequestAuthentication on createMeshServer, with real tokens: keys generated here, a JWKS served
// from a loopback server (stopped in one test to prove the last good keys are kept), tokens that
// are valid, expired, from another issuer, for another audience, missing, in a custom header
// with a prefix; then requestPrincipals and request.auth.* conditions in AuthorizationPolicy.
// Over HTTP/1.1 (undici) and HTTP/2 (node:http2, h2c).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, Agent } from 'undici';
import { connect as h2connect } from 'node:http2';
import { createMesh, type Logger, type Mesh } from '@meshlet/core';
import { createMeshServer, type MeshServer } from '@meshlet/http';
import { configDir, serveJwks, signingKey, token, type ConfigDir, type JwksServer, type SigningKey } from './helpers/jwt.ts';

const ISS = 'https://issuer.example.com';
const ISS2 = 'https://other-issuer.example.com';

let cfg: ConfigDir;
let key: SigningKey;
let key2: SigningKey;
let jwks: JwksServer;
const agent = new Agent();

beforeAll(async () => {
  cfg = configDir();
  key = await signingKey('k1');
  key2 = await signingKey('k2');
  jwks = await serveJwks([key.publicJwk]);
});
afterAll(async () => {
  await agent.close();
  await jwks.stop();
  cfg.cleanup();
});

const requestAuthn = (extra = '') => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  jwtRules:
  - issuer: ${ISS}
    jwksUri: ${jwks.url}
    audiences: [reviews, https://api.example.com/]
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders: [{ header: x-jwt-sub, claim: sub }, { header: x-jwt-tier, claim: plan.tier }]${extra}`;

const authz = (name: string, rules: string, action = 'ALLOW') => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: default }
spec:
  action: ${action}
  rules:
${rules}`;

interface Running { mesh: Mesh; server: MeshServer; port: number; warnings: string[]; close(): Promise<void> }

/** A reviews server (namespace default, app=reviews) that echoes the headers it received. */
async function start(docs: string[], opts: { protocol?: 'http1' | 'http2'; refreshMs?: number } = {}): Promise<Running> {
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (o, m) => warnings.push(String(m ?? o)), error: (o, m) => warnings.push(String(m ?? o)) };
  const mesh = await createMesh({ config: cfg.write(docs), watch: false, logger, namespace: 'default', labels: { app: 'reviews' }, ...(opts.refreshMs && { jwks: { refreshIntervalMs: opts.refreshMs, retryAfterFailureMs: opts.refreshMs } }) });
  const server = createMeshServer({ mesh, ...(opts.protocol && { protocol: opts.protocol }) }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  const port = await server.listen();
  return { mesh, server, port, warnings, close: async () => { await server.close(); await mesh.close(); } };
}

async function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent, headers });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const now = () => Math.floor(Date.now() / 1000);

describe('RequestAuthentication over HTTP/1.1', () => {
  let s: Running;
  beforeAll(async () => { s = await start([requestAuthn()]); });
  afterAll(async () => { await s.close(); });

  it('a valid token passes; the token is stripped and the payload and claims reach the handler', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews', plan: { tier: 'gold' } });
    const r = await get(s.port, '/reviews/1', bearer(t));
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body).headers as Record<string, string>;
    expect(seen['authorization']).toBeUndefined(); // forwardOriginalToken defaults to false
    expect(JSON.parse(Buffer.from(seen['x-jwt-payload']!, 'base64url').toString())).toMatchObject({ iss: ISS, sub: 'alice' });
    expect(seen['x-jwt-sub']).toBe('alice');
    expect(seen['x-jwt-tier']).toBe('gold');
  });

  it('audiences compare without scheme and trailing slash, as Envoy does', async () => {
    const t = await token(key, { iss: ISS, sub: 'bob', aud: ['other', 'api.example.com'] });
    expect((await get(s.port, '/', bearer(t))).status).toBe(200);
  });

  it('an expired token is refused with 401 and Envoy\'s text', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews', exp: now() - 3600 });
    const r = await get(s.port, '/reviews/1?x=1', bearer(t));
    expect(r.status).toBe(401);
    expect(r.body).toBe('Jwt is expired');
    expect(r.headers['www-authenticate']).toBe(`Bearer realm="http://127.0.0.1:${s.port}/reviews/1", error="invalid_token"`);
  });

  it('a token within the 60 s clock skew still passes', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews', exp: now() - 20 });
    expect((await get(s.port, '/', bearer(t))).status).toBe(200);
  });

  it('a token from another issuer is refused with 401', async () => {
    const t = await token(key, { iss: 'https://evil.example.com', sub: 'alice', aud: 'reviews' });
    const r = await get(s.port, '/', bearer(t));
    expect([r.status, r.body]).toEqual([401, 'Jwt issuer is not configured']);
  });

  it('a token for another audience is refused with 403', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'payments' });
    const r = await get(s.port, '/', bearer(t));
    expect([r.status, r.body]).toEqual([403, 'Audiences in Jwt are not allowed']);
  });

  it('a token signed by a key the JWKS lacks, or tampered with, is refused with 401', async () => {
    const foreign = await token(key2, { iss: ISS, sub: 'alice', aud: 'reviews' });
    expect(await get(s.port, '/', bearer(foreign)).then((r) => [r.status, r.body])).toEqual([401, "Jwks doesn't have key to match kid or alg from Jwt"]);
    const good = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews' });
    const [h, p, sig] = good.split('.');
    const forged = [h, Buffer.from(JSON.stringify({ iss: ISS, sub: 'admin', aud: 'reviews', exp: now() + 60 })).toString('base64url'), sig].join('.');
    expect(await get(s.port, '/', bearer(forged)).then((r) => [r.status, r.body])).toEqual([401, 'Jwt verification fails']);
    expect(p).toBeTruthy();
    expect(await get(s.port, '/', bearer('not-a-jwt')).then((r) => r.status)).toBe(401);
  });

  it('a request without a token passes authentication (no AuthorizationPolicy here)', async () => {
    const r = await get(s.port, '/');
    expect(r.status).toBe(200);
  });

  it('a caller cannot forge the output headers', async () => {
    const r = await get(s.port, '/', { 'x-jwt-sub': 'admin', 'x-jwt-payload': 'e30' });
    const seen = JSON.parse(r.body).headers as Record<string, string>;
    expect(seen['x-jwt-sub']).toBeUndefined();
    expect(seen['x-jwt-payload']).toBeUndefined();
  });

  it('a token in the access_token query parameter is read and removed', async () => {
    const t = await token(key, { iss: ISS, sub: 'carol', aud: 'reviews' });
    const r = await get(s.port, `/search?q=a&access_token=${t}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).url).toBe('/search?q=a');
  });
});

describe('requestPrincipals and request.auth.* in AuthorizationPolicy', () => {
  let s: Running;
  beforeAll(async () => {
    s = await start([
      requestAuthn(),
      authz('need-jwt', `  - from: [{ source: { requestPrincipals: ["${ISS}/*"] } }]
    to: [{ operation: { paths: ["/secure/*"] } }]
  - to: [{ operation: { paths: ["/admin"] } }]
    when:
    - { key: "request.auth.claims[realm][role]", values: [admin] }
    - { key: request.auth.audiences, values: [reviews] }
  - to: [{ operation: { paths: ["/group"] } }]
    when: [{ key: "request.auth.claims[groups]", values: ["eng-*"] }]
  - to: [{ operation: { paths: ["/scope"] } }]
    when: [{ key: "request.auth.claims[scope]", values: [write] }]
  - to: [{ operation: { paths: ["/presenter"] } }]
    when: [{ key: request.auth.presenter, values: [web-app] }, { key: request.auth.principal, notValues: ["${ISS}/mallory"] }]
  - to: [{ operation: { paths: ["/public"] } }]`),
    ]);
  });
  afterAll(async () => { await s.close(); });

  it('a missing token is denied by a requestPrincipals rule, allowed where no rule needs one', async () => {
    expect((await get(s.port, '/secure/x')).status).toBe(403);
    expect((await get(s.port, '/secure/x')).body).toBe('RBAC: access denied');
    expect((await get(s.port, '/public')).status).toBe(200);
  });

  it('a valid token satisfies requestPrincipals "iss/*"', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews' });
    expect((await get(s.port, '/secure/x', bearer(t))).status).toBe(200);
  });

  it('nested claims: request.auth.claims[realm][role]', async () => {
    const admin = await token(key, { iss: ISS, sub: 'a', aud: 'reviews', realm: { role: 'admin' } });
    const user = await token(key, { iss: ISS, sub: 'u', aud: 'reviews', realm: { role: 'user' } });
    expect((await get(s.port, '/admin', bearer(admin))).status).toBe(200);
    expect((await get(s.port, '/admin', bearer(user))).status).toBe(403);
  });

  it('list claims match any element; space-delimited scope claims are split', async () => {
    const eng = await token(key, { iss: ISS, sub: 'a', aud: 'reviews', groups: ['sales', 'eng-platform'] });
    const sales = await token(key, { iss: ISS, sub: 'b', aud: 'reviews', groups: ['sales'] });
    expect((await get(s.port, '/group', bearer(eng))).status).toBe(200);
    expect((await get(s.port, '/group', bearer(sales))).status).toBe(403);
    const writer = await token(key, { iss: ISS, sub: 'a', aud: 'reviews', scope: 'read write' });
    expect((await get(s.port, '/scope', bearer(writer))).status).toBe(200);
  });

  it('presenter and a notValues principal', async () => {
    const ok = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews', azp: 'web-app' });
    const mallory = await token(key, { iss: ISS, sub: 'mallory', aud: 'reviews', azp: 'web-app' });
    expect((await get(s.port, '/presenter', bearer(ok))).status).toBe(200);
    expect((await get(s.port, '/presenter', bearer(mallory))).status).toBe(403);
  });
});

describe('fromHeaders with a prefix, and two issuers', () => {
  let s: Running;
  let jwks2: JwksServer;
  beforeAll(async () => {
    jwks2 = await serveJwks([key2.publicJwk]);
    s = await start([
      requestAuthn(),
      `apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: { name: partner, namespace: default }
spec:
  jwtRules:
  - issuer: ${ISS2}
    jwksUri: ${jwks2.url}
    fromHeaders: [{ name: x-partner-token, prefix: "Token " }]
    forwardOriginalToken: true`,
      authz('partners-only', `  - from: [{ source: { requestPrincipals: ["${ISS2}/*"] } }]`),
    ]);
  });
  afterAll(async () => { await s.close(); await jwks2.stop(); });

  it('reads the token after the prefix, keeps it (forwardOriginalToken), and the principal is iss/sub', async () => {
    const t = await token(key2, { iss: ISS2, sub: 'acme' });
    const r = await get(s.port, '/', { 'x-partner-token': `Token ${t}` });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body).headers as Record<string, string>)['x-partner-token']).toBe(`Token ${t}`);
  });

  it('a header without the prefix is not a token', async () => {
    const t = await token(key2, { iss: ISS2, sub: 'acme' });
    expect((await get(s.port, '/', { 'x-partner-token': t })).status).toBe(403); // no principal: RBAC
  });

  it('the partner token in the other issuer\'s location is refused (unknown issuer there)', async () => {
    const t = await token(key2, { iss: ISS2, sub: 'acme' });
    const r = await get(s.port, '/', bearer(t));
    expect([r.status, r.body]).toEqual([401, 'Jwt issuer is not configured']);
  });

  it('the first issuer\'s valid token authenticates but is not a partner principal', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews' });
    expect((await get(s.port, '/', bearer(t))).status).toBe(403);
  });
});

describe('the JWKS server goes away', () => {
  it('keeps the last good keys when a refresh fails, and picks up new keys when it is back', async () => {
    const own = await serveJwks([key.publicJwk]);
    const doc = requestAuthn().replace(jwks.url, own.url);
    const s = await start([doc], { refreshMs: 100 });
    try {
      const t1 = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews' });
      expect((await get(s.port, '/', bearer(t1))).status).toBe(200);
      const fetched = own.fetches;
      expect(fetched).toBeGreaterThanOrEqual(1);
      await own.stop();
      // Wait (bounded) until a refresh has failed.
      for (let i = 0; i < 100 && !s.warnings.some((w) => w.includes('keeping the last good keys')); i++) await new Promise((r) => setTimeout(r, 50));
      expect(s.warnings.some((w) => w.includes('keeping the last good keys'))).toBe(true);
      const t2 = await token(key, { iss: ISS, sub: 'bob', aud: 'reviews' });
      expect((await get(s.port, '/', bearer(t2))).status).toBe(200);
      // A key the server never saw is still refused.
      expect((await get(s.port, '/', bearer(await token(key2, { iss: ISS, sub: 'x', aud: 'reviews' })))).status).toBe(401);
    } finally {
      await s.close();
    }
  });

  it('refuses every token of an issuer whose keys never arrived (fail closed)', async () => {
    const gone = await serveJwks([key.publicJwk]);
    const url = gone.url;
    await gone.stop();
    const s = await start([requestAuthn().replace(jwks.url, url)]);
    try {
      const t = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews' });
      const r = await get(s.port, '/', bearer(t));
      expect([r.status, r.body]).toEqual([401, "Jwks doesn't have key to match kid or alg from Jwt"]);
      expect((await get(s.port, '/')).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('RequestAuthentication over HTTP/2', () => {
  let s: Running;
  beforeAll(async () => { s = await start([requestAuthn(), authz('need-jwt', `  - from: [{ source: { requestPrincipals: ["*"] } }]`)], { protocol: 'http2' }); });
  afterAll(async () => { await s.close(); });

  async function h2get(headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const session = h2connect(`http://127.0.0.1:${s.port}`);
    try {
      return await new Promise((resolve, reject) => {
        const req = session.request({ ':path': '/h2', ...headers });
        let status = 0;
        let body = '';
        req.on('response', (h) => { status = Number(h[':status']); });
        req.setEncoding('utf8');
        req.on('data', (c: string) => { body += c; });
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
        req.end();
      });
    } finally {
      session.close();
    }
  }

  it('valid → 200, expired → 401, missing with a requestPrincipals rule → 403', async () => {
    const valid = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews' });
    const expired = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews', exp: now() - 3600 });
    const ok = await h2get(bearer(valid));
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body).headers as Record<string, string>)['x-jwt-sub']).toBe('alice');
    expect(await h2get(bearer(expired))).toEqual({ status: 401, body: 'Jwt is expired' });
    expect(await h2get({})).toEqual({ status: 403, body: 'RBAC: access denied' });
  });
});

describe('client side: MeshAgent attaches a token per cluster', () => {
  it('sends the token from a file, follows its rotation, and leaves other clusters alone', async () => {
    const { MeshAgent } = await import('@meshlet/http');
    const { tokenFile } = await import('@meshlet/core');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const s = await start([requestAuthn(), authz('need-jwt', `  - from: [{ source: { requestPrincipals: ["${ISS}/*"] } }]`)]);
    const file = join(cfg.dir, 'istio-token');
    writeFileSync(file, `${await token(key, { iss: ISS, sub: 'first', aud: 'reviews' })}\n`);
    const client = await createMesh({ config: cfg.write([`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 9080, name: http }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${s.port} } }]`]), watch: false, logger: { debug() {}, info() {}, warn() {}, error() {} }, namespace: 'default' });
    const seen: string[] = [];
    const fromFile = tokenFile(file, { checkMs: 0 });
    const agent2 = new MeshAgent({ mesh: client, token: (cluster) => { seen.push(cluster); return fromFile(cluster); } });
    try {
      const sub = async () => {
        const r = await request('http://reviews:9080/', { dispatcher: agent2 });
        const body = await r.body.text();
        return r.statusCode === 200 ? (JSON.parse(body).headers as Record<string, string>)['x-jwt-sub'] : `${r.statusCode} ${body}`;
      };
      expect(await sub()).toBe('first');
      expect(seen[0]).toBe('outbound|9080||reviews.default.svc.cluster.local');
      await new Promise((r) => setTimeout(r, 20)); // a distinct mtime
      writeFileSync(file, await token(key, { iss: ISS, sub: 'second', aud: 'reviews' }));
      expect(await sub()).toBe('second');
      // A caller's own authorization header wins.
      const own = await token(key, { iss: ISS, sub: 'caller', aud: 'reviews' });
      const r = await request('http://reviews:9080/', { dispatcher: agent2, headers: bearer(own) });
      expect((JSON.parse(await r.body.text()).headers as Record<string, string>)['x-jwt-sub']).toBe('caller');
    } finally {
      await agent2.close();
      await client.close();
      await s.close();
    }
  });
});
