// Interop with a TLS-terminating HAProxy standing in for an Envoy sidecar, both directions:
//   Meshlet client (ISTIO_MUTUAL) → HAProxy (mTLS, verify required) → plain app
//   plain client → HAProxy (originates mTLS with its workload certificate) → Meshlet server (STRICT)
// HAProxy validates our dev certificates with OpenSSL, and we validate its with Node's TLS,
// so each side checks the other's certificates with an independent stack.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, Agent } from 'undici';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createMesh, silentLogger, spiffeIdOf, type Mesh } from '@meshlet/core';
import { MeshAgent, createMeshServer, peerIdentity, type MeshServer } from '@meshlet/http';
import { FQDN, clientConfig, createPki, id, serverConfig, type Pki } from './helpers/mtls.ts';
import { findHaproxy, freePort, startHaproxy, type Haproxy } from './helpers/haproxy.ts';

const found = findHaproxy();
if (!found.ok) console.warn(`mtls-haproxy: skipped — ${found.reason}`);

describe.skipIf(!found.ok)('HAProxy as the Envoy sidecar stand-in', () => {
  let pki: Pki;
  let app: Server;
  let proxy: Haproxy;
  let meshServer: MeshServer;
  let serverMesh: Mesh;
  let inPort: number;
  let outPort: number;

  beforeAll(async () => {
    pki = createPki();
    pki.issue('haproxy', 'reviews');
    pki.issue('sleep', 'sleep');
    const ha = pki.dir('haproxy');
    const read = (f: string) => readFileSync(join(ha, f), 'utf8');
    writeFileSync(join(ha, 'haproxy.pem'), read('cert-chain.pem') + read('key.pem'));

    // The plain app behind HAProxy reports the client certificate HAProxy verified.
    app = createServer((req, res) => {
      const der = req.headers['x-client-cert'];
      const cert = typeof der === 'string' && der ? new X509Certificate(Buffer.from(der, 'base64')) : undefined;
      res.end(JSON.stringify({ peer: cert ? spiffeIdOf(cert.subjectAltName) ?? null : null, path: req.url }));
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as AddressInfo).port;

    // A Meshlet server in STRICT mode, for HAProxy to call with mTLS.
    serverMesh = await createMesh({
      config: serverConfig(join(pki.root, 'srv'), [`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }`]),
      watch: false, logger: silentLogger, certs: pki.dir('sleep'),
    });
    meshServer = createMeshServer({ mesh: serverMesh }, (req, res) => res.end(JSON.stringify({ peer: peerIdentity(req) ?? null })));
    const meshServerPort = await meshServer.listen();

    inPort = await freePort();
    outPort = await freePort();
    const cfg = join(ha, 'haproxy.cfg');
    writeFileSync(cfg, `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend inbound_mtls
  # As an Envoy sidecar in PERMISSIVE mode picks its mTLS HTTP chain by the client's ALPN
  # (istio-http/1.1, what a sidecar client offers), this frontend serves only such clients.
  bind 127.0.0.1:${inPort} ssl crt ${join(ha, 'haproxy.pem')} ca-file ${join(ha, 'root-cert.pem')} verify required alpn istio-http/1.1,http/1.1
  http-request return status 421 content-type text/plain string "no istio ALPN: the sidecar would not pick its mTLS HTTP chain" unless { ssl_fc_alpn -m str istio-http/1.1 }
  http-request set-header x-client-cert %[ssl_c_der,base64]
  default_backend app
backend app
  server app 127.0.0.1:${appPort}
frontend outbound_plain
  bind 127.0.0.1:${outPort}
  default_backend meshlet
backend meshlet
  server meshlet 127.0.0.1:${meshServerPort} ssl crt ${join(ha, 'haproxy.pem')} ca-file ${join(ha, 'root-cert.pem')} verify required
`);
    proxy = await startHaproxy(cfg, [inPort, outPort]);
  }, 600_000);

  afterAll(async () => {
    await proxy?.stop();
    await meshServer?.close();
    await serverMesh?.close();
    await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
    pki?.cleanup();
  });

  async function meshClient(opts: { sa?: string; tls?: Record<string, unknown>; certs?: string | null } = {}): Promise<{ agent: MeshAgent; close(): Promise<void> }> {
    const config = clientConfig(join(pki.root, `cli-${Math.random().toString(36).slice(2)}`), { port: inPort, ...opts });
    const certs = opts.certs === undefined ? pki.dir('sleep') : opts.certs;
    const mesh = await createMesh({ config, watch: false, logger: silentLogger, ...(certs !== null && { certs }) });
    const agent = new MeshAgent({ mesh });
    return { agent, close: async () => { await agent.close(); await mesh.close(); } };
  }

  it('a Meshlet ISTIO_MUTUAL client is accepted by HAProxy, which sees its SPIFFE ID and Istio\'s ALPN', async () => {
    const c = await meshClient();
    try {
      const res = await request(`http://${FQDN}:9080/through/haproxy`, { dispatcher: c.agent });
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(await res.body.text())).toEqual({ peer: id('sleep'), path: '/through/haproxy' });
    } finally {
      await c.close();
    }
  });

  it('the Meshlet client refuses HAProxy when its certificate names another workload', async () => {
    const c = await meshClient({ sa: 'ratings' });
    try {
      const err = await request(`http://${FQDN}:9080/`, { dispatcher: c.agent }).then(() => undefined, (e: Error) => e);
      expect(err?.message).toContain(`expected one of [${id('ratings')}], the server presented [${id('reviews')}]`);
    } finally {
      await c.close();
    }
  });

  it('HAProxy refuses a TLS client without a mesh certificate', async () => {
    const c = await meshClient({ tls: { mode: 'SIMPLE', caCertificates: join(pki.dir('sleep'), 'root-cert.pem'), subjectAltNames: [id('reviews')] }, certs: null });
    try {
      const err = await request(`http://${FQDN}:9080/`, { dispatcher: c.agent }).then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(Error);
    } finally {
      await c.close();
    }
  });

  it('HAProxy originating mTLS reaches a STRICT Meshlet server, which sees HAProxy\'s SPIFFE ID', async () => {
    const plain = new Agent();
    try {
      const res = await request(`http://127.0.0.1:${outPort}/`, { dispatcher: plain });
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(await res.body.text())).toEqual({ peer: id('reviews') });
    } finally {
      await plain.close();
    }
  });
});
