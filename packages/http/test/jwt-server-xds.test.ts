// JWT from the control plane: an inbound listener carrying the jwt_authn filter istiod's sidecar
// generator writes for a RequestAuthentication (keys inline, as istiod fetched them; providers
// `origins-<i>`, requires_any { provider, allow_missing }) before the RBAC filters — served by
// `meshlet xds` over a real ADS stream and the codec; createMeshServer enforces it with real
// tokens.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, Agent } from 'undici';
import { createMesh, silentLogger, XdsServer, type Mesh } from '@meshlet/core';
import { createMeshServer, type MeshServer } from '@meshlet/http';
import { signingKey, token, type SigningKey } from './helpers/jwt.ts';
import { tempDir, writeBootstrap, writeConfig } from '../../core/test/xds-helpers.ts';

const ISS = 'https://issuer.example.com';
const TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

let key: SigningKey;
let control: XdsServer;
let mesh: Mesh;
let server: MeshServer;
let port: number;
const agent = new Agent();

beforeAll(async () => {
  key = await signingKey('k1');
  const dir = tempDir('jwt-xds');
  writeConfig(dir, {
    'jwt.yaml': `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  jwtRules:
  - issuer: ${ISS}
    audiences: [reviews]
    jwks: '${JSON.stringify({ keys: [key.publicJwk] })}'
`,
    'authz.yaml': `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: need-jwt, namespace: default }
spec:
  rules:
  - from: [{ source: { requestPrincipals: ["${ISS}/*"] } }]
    when: [{ key: "request.auth.claims[role]", values: [reader] }]
`,
  });
  control = await XdsServer.start({
    config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false,
  });
  mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('jwt-xds-bs'), control.address, { labels: { app: 'reviews' }, serverListenerTemplate: TEMPLATE }), logger: silentLogger });
  server = createMeshServer({ mesh }, (req, res) => res.end(JSON.stringify({ authorization: req.headers['authorization'] ?? null })));
  port = await server.listen();
}, 30_000);

afterAll(async () => {
  await agent.close();
  await server?.close();
  await mesh?.close();
  control?.close();
});

async function get(headers: Record<string, string> = {}): Promise<[number, string]> {
  const r = await request(`http://127.0.0.1:${port}/x`, { dispatcher: agent, headers });
  return [r.statusCode, await r.body.text()];
}

describe('jwt_authn on the inbound listener (xDS)', () => {
  it('enforces the listener\'s JWT filter, then its RBAC on the verified payload', async () => {
    expect(server.inboundListener).toBe(`xds.istio.io/grpc/lds/inbound/127.0.0.1:${port}`);
    const reader = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews', role: 'reader' });
    const writer = await token(key, { iss: ISS, sub: 'bob', aud: 'reviews', role: 'writer' });
    const expired = await token(key, { iss: ISS, sub: 'alice', aud: 'reviews', role: 'reader', exp: Math.floor(Date.now() / 1000) - 3600 });
    expect(await get({ authorization: `Bearer ${reader}` })).toEqual([200, JSON.stringify({ authorization: null })]);
    expect(await get({ authorization: `Bearer ${writer}` })).toEqual([403, 'RBAC: access denied']);
    expect(await get({ authorization: `Bearer ${expired}` })).toEqual([401, 'Jwt is expired']);
    expect(await get()).toEqual([403, 'RBAC: access denied']);
  });
});
