// RequestAuthentication on a grpc-js server bound with bindMesh: real tokens (keys generated
// here, a JWKS on a loopback HTTP server) in the `authorization` metadata. An invalid token ends
// the call with UNAUTHENTICATED and Envoy's text, a wrong audience with PERMISSION_DENIED; a
// missing token passes authentication and AuthorizationPolicy's requestPrincipals decides.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, Server, status, type Client, type ServerUnaryCall, type sendUnaryData, type ServiceError } from '@grpc/grpc-js';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { bindMesh, type MeshBinding } from '../src/server-credentials.ts';
import { EchoClient, EchoService } from './helpers/echo-server.ts';
import { configDir, serveJwks, signingKey, token, type ConfigDir, type JwksServer, type SigningKey } from '../../http/test/helpers/jwt.ts';

const ISS = 'https://issuer.example.com';
let cfg: ConfigDir;
let key: SigningKey;
let jwks: JwksServer;
let mesh: Mesh;
let server: Server;
let binding: MeshBinding;
let client: Client;

beforeAll(async () => {
  cfg = configDir();
  key = await signingKey('k1');
  jwks = await serveJwks([key.publicJwk]);
  mesh = await createMesh({
    config: cfg.write([`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: istio-system }
spec:
  jwtRules:
  - issuer: ${ISS}
    jwksUri: ${jwks.url}
    audiences: [echo]
    outputClaimToHeaders: [{ header: x-jwt-sub, claim: sub }]`, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: need-jwt, namespace: default }
spec:
  rules:
  - from: [{ source: { requestPrincipals: ["${ISS}/*"] } }]
    to: [{ operation: { paths: ["/test.Echo/Unary"] } }]
  - to: [{ operation: { paths: ["/test.Echo/Other"] } }]`]),
    watch: false, logger: silentLogger, namespace: 'default',
  });
  server = new Server();
  const echo = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
    const md = call.metadata.getMap();
    cb(null, { server: 'meshlet', headers: { sub: md['x-jwt-sub'] ?? null, authorization: md['authorization'] ?? null } });
  };
  server.addService(EchoService, { unary: echo, other: echo, clientStream: () => {}, serverStream: () => {}, bidi: () => {} });
  binding = await bindMesh(server, { mesh });
  client = new EchoClient(`127.0.0.1:${binding.port}`, credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  client?.close();
  await binding?.close();
  server?.forceShutdown();
  await mesh?.close();
  await jwks?.stop();
  cfg?.cleanup();
});

function call(method: 'unary' | 'other', bearerToken?: string): Promise<{ headers: { sub: string | null; authorization: string | null } }> {
  const md = new Metadata();
  if (bearerToken) md.set('authorization', `Bearer ${bearerToken}`);
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (r: object, md: Metadata, o: object, cb: (e: ServiceError | null, v?: unknown) => void) => void>)[method]!({}, md, { deadline: Date.now() + 5000 }, (err, v) => (err ? reject(err) : resolve(v as { headers: { sub: string | null; authorization: string | null } })));
  });
}

describe('RequestAuthentication over gRPC', () => {
  it('a valid token passes; the handler sees the claim header and no token', async () => {
    const r = await call('unary', await token(key, { iss: ISS, sub: 'alice', aud: 'echo' }));
    expect(r.headers).toEqual({ sub: 'alice', authorization: null });
  });

  it('an expired token ends the call with UNAUTHENTICATED and Envoy\'s text', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'echo', exp: Math.floor(Date.now() / 1000) - 3600 });
    await expect(call('other', t)).rejects.toMatchObject({ code: status.UNAUTHENTICATED, details: 'Jwt is expired' });
  });

  it('a token from another issuer: UNAUTHENTICATED', async () => {
    const t = await token(key, { iss: 'https://evil.example.com', sub: 'alice', aud: 'echo' });
    await expect(call('other', t)).rejects.toMatchObject({ code: status.UNAUTHENTICATED, details: 'Jwt issuer is not configured' });
  });

  it('a token for another audience: PERMISSION_DENIED (Envoy\'s 403)', async () => {
    const t = await token(key, { iss: ISS, sub: 'alice', aud: 'web' });
    await expect(call('other', t)).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: 'Audiences in Jwt are not allowed' });
  });

  it('no token: allowed where no rule needs one, denied by a requestPrincipals rule', async () => {
    await expect(call('other')).resolves.toMatchObject({ headers: { sub: null } });
    await expect(call('unary')).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: 'RBAC: access denied' });
  });
});

describe('client side: meshCredentials attaches a token per cluster', () => {
  it('a mesh:/// client with `token` passes the requestPrincipals rule', async () => {
    const { meshCredentials, register } = await import('../src/index.ts');
    const clientMesh = await createMesh({ config: cfg.write([`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 9090, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${binding.port} } }]`]), watch: false, logger: silentLogger, namespace: 'default' });
    register(clientMesh);
    const t = await token(key, { iss: ISS, sub: 'grpc-client', aud: 'echo' });
    const clusters: string[] = [];
    const meshClient = new EchoClient('mesh:///echo.default.svc.cluster.local:9090', meshCredentials(undefined, { token: (c) => { clusters.push(c); return Promise.resolve(t); } }));
    try {
      const r = await new Promise<{ headers: { sub: string | null } }>((resolve, reject) => {
        (meshClient as unknown as Record<string, (r: object, md: Metadata, o: object, cb: (e: ServiceError | null, v?: unknown) => void) => void>)['unary']!({}, new Metadata(), { deadline: Date.now() + 5000 }, (err, v) => (err ? reject(err) : resolve(v as { headers: { sub: string | null } })));
      });
      expect(r.headers.sub).toBe('grpc-client');
      expect(clusters[0]).toBe('outbound|9090||echo.default.svc.cluster.local');
    } finally {
      meshClient.close();
      await clientMesh.close();
    }
  });
});
