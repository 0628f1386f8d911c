// Client-side mesh mTLS over real sockets with real certificates: DestinationRule tls modes
// compiled to transport sockets, certificates from istio-agent's layout, and the server's
// identity checked against the cluster's SPIFFE IDs.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { createMesh, silentLogger, spiffeIdOf, XdsServer, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { FQDN, clientConfig, createPki, failure, id, type Pki } from './helpers/mtls.ts';

let pki: Pki;
beforeAll(() => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('ratings', 'ratings');
  pki.issue('sleep', 'sleep');
  pki.expired('reviews-expired', 'reviews');
  pki.untrusted('reviews-untrusted', 'reviews');
});
afterAll(() => pki.cleanup());

interface Upstream { port: number; connections: number; close(): Promise<void> }
const upstreams: Upstream[] = [];
let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
afterEach(async () => {
  await agent?.close();
  await mesh?.close();
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  agent = mesh = undefined;
});

/** An mTLS server with the given workload folder; answers with the caller's SPIFFE ID. */
async function upstream(certDir: string, opts: { requestCert?: boolean } = {}): Promise<Upstream> {
  const read = (f: string) => readFileSync(join(certDir, f), 'utf8');
  const requestCert = opts.requestCert ?? true;
  const server: Server = createHttpsServer({ key: read('key.pem'), cert: read('cert-chain.pem'), ca: read('root-cert.pem'), requestCert, rejectUnauthorized: requestCert }, (req, res) => {
    const peer = spiffeIdOf((req.socket as TLSSocket).getPeerCertificate().subjectaltname);
    res.end(JSON.stringify({ peer: peer ?? null }));
  });
  const u: Upstream = { port: 0, connections: 0, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
  server.on('connection', () => u.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.port = (server.address() as AddressInfo).port;
  upstreams.push(u);
  return u;
}

async function client(port: number, opts: { sa?: string; tls?: Record<string, unknown>; certs?: string | null } = {}): Promise<MeshAgent> {
  const config = clientConfig(join(pki.root, `cfg-${Math.random().toString(36).slice(2)}`), { port, ...opts });
  const certs = opts.certs === undefined ? pki.dir('sleep') : opts.certs;
  mesh = await createMesh({ config, watch: false, logger: silentLogger, ...(certs !== null && { certs }) });
  agent = new MeshAgent({ mesh });
  return agent;
}

async function get(a: MeshAgent, path = '/'): Promise<{ status: number; body: string }> {
  const res = await request(`http://${FQDN}:9080${path}`, { dispatcher: a });
  return { status: res.statusCode, body: await res.body.text() };
}

describe('ISTIO_MUTUAL', () => {
  it('accepts the expected identity and presents the workload certificate', async () => {
    const u = await upstream(pki.dir('reviews'));
    const res = await get(await client(u.port));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ peer: id('sleep') });
    // The compiled cluster carries istiod's proxyless transport socket.
    const c = mesh!.configDump().clusters.find((x) => (x as { name: string }).name === `outbound|9080||${FQDN}`) as { transportSocket: { typedConfig: { commonTlsContext: { combinedValidationContext: { defaultValidationContext: unknown } } } } };
    expect(c.transportSocket.typedConfig.commonTlsContext.combinedValidationContext.defaultValidationContext).toEqual({
      matchSubjectAltNames: [{ exact: id('reviews') }],
      caCertificateProviderInstance: { instanceName: 'default', certificateName: 'ROOTCA' },
    });
  });

  it('refuses a server with another identity, naming the expected and presented SPIFFE IDs', async () => {
    const u = await upstream(pki.dir('ratings'));
    const err = await failure(get(await client(u.port)));
    expect(err.message).toContain(`expected one of [${id('reviews')}]`);
    expect(err.message).toContain(`presented [${id('ratings')}]`);
    expect((err.cause as { code?: string }).code).toBe('MESHLET_PEER_IDENTITY');
  });

  it('refuses an expired server certificate', async () => {
    const u = await upstream(pki.dir('reviews-expired'));
    const err = await failure(get(await client(u.port)));
    expect(err.message).toMatch(/certificate has expired/);
  });

  it('refuses a server certificate from an untrusted root', async () => {
    const u = await upstream(pki.dir('reviews-untrusted'));
    const err = await failure(get(await client(u.port)));
    expect(err.message).toMatch(/unable to (get local issuer|verify the first) certificate|self.signed/i);
  });

  it('is refused by the server when its own certificate has expired', async () => {
    const u = await upstream(pki.dir('reviews'));
    const err = await failure(get(await client(u.port, { certs: pki.dir('reviews-expired') })));
    expect(err.message).toMatch(/certificate expired|alert|socket|reset|closed/i);
  });

  it('fails with a clear error, and sends nothing, when the workload certificate is missing', async () => {
    const u = await upstream(pki.dir('reviews'));
    const err = await failure(get(await client(u.port, { certs: null })));
    expect(err.message).toContain('certificate provider instance "default" is not configured');
    const err2 = await failure(get(await client(u.port, { certs: join(pki.root, 'nowhere') })));
    expect(err2.message).toMatch(/cannot read the certificate chain .*nowhere.*cert-chain\.pem: no such file/);
    expect(u.connections).toBe(0);
  });

  it('uses the DestinationRule subjectAltNames over the service accounts', async () => {
    const u = await upstream(pki.dir('ratings'));
    const res = await get(await client(u.port, { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [id('ratings')] } }));
    expect(res.status).toBe(200);
  });
});

describe('never plaintext', () => {
  it('a TLS cluster\'s transport refuses an http:// dispatch', async () => {
    const u = await upstream(pki.dir('reviews'));
    await client(u.port);
    const { ClusterTransports } = await import('../src/cluster-transports.ts');
    const transports = new ClusterTransports({}, mesh!.credentials);
    try {
      const cluster = mesh!.snapshot.clusters.get(`outbound|9080||${FQDN}`)!;
      const dispatcher = transports.for(cluster, cluster.endpoints[0]!);
      const err = await request(`http://127.0.0.1:${u.port}/`, { dispatcher }).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/refusing a plaintext \(http:\) connection to cluster outbound\|9080\|\|reviews.* its policy requires TLS/);
      expect(u.connections).toBe(0);
    } finally {
      await transports.close();
    }
  });
});

describe('MUTUAL and SIMPLE with files', () => {
  it('MUTUAL presents the named client certificate and checks the SANs', async () => {
    const u = await upstream(pki.dir('reviews'));
    const sleep = pki.dir('sleep');
    const tls = { mode: 'MUTUAL', clientCertificate: join(sleep, 'cert-chain.pem'), privateKey: join(sleep, 'key.pem'), caCertificates: join(sleep, 'root-cert.pem'), subjectAltNames: [id('reviews')] };
    const res = await get(await client(u.port, { tls, certs: null }));
    expect(JSON.parse(res.body)).toEqual({ peer: id('sleep') });
    const wrong = await failure(get(await client(u.port, { tls: { ...tls, subjectAltNames: [id('details')] }, certs: null })));
    expect(wrong.message).toContain(`expected one of [${id('details')}]`);
  });

  it('SIMPLE verifies the server without a client certificate; insecureSkipVerify accepts any', async () => {
    const u = await upstream(pki.dir('reviews'), { requestCert: false });
    const ca = join(pki.dir('sleep'), 'root-cert.pem');
    expect(JSON.parse((await get(await client(u.port, { tls: { mode: 'SIMPLE', caCertificates: ca }, certs: null }))).body)).toEqual({ peer: null });
    const bad = await upstream(pki.dir('reviews-untrusted'), { requestCert: false });
    await failure(get(await client(bad.port, { tls: { mode: 'SIMPLE', caCertificates: ca }, certs: null })));
    expect((await get(await client(bad.port, { tls: { mode: 'SIMPLE', insecureSkipVerify: true }, certs: null }))).status).toBe(200);
  });

  it('a missing CA file fails the request instead of falling back to plaintext', async () => {
    const u = await upstream(pki.dir('reviews'), { requestCert: false });
    const err = await failure(get(await client(u.port, { tls: { mode: 'SIMPLE', caCertificates: join(pki.root, 'missing.pem') }, certs: null })));
    expect(err.message).toMatch(/cannot read the root certificate .*missing\.pem/);
    expect(u.connections).toBe(0);
  });
});

describe('xDS mode', () => {
  it('takes certificates from the bootstrap file_watcher provider and TLS from the served cluster', async () => {
    const u = await upstream(pki.dir('reviews'));
    const dir = clientConfig(join(pki.root, 'xds-served'), { port: u.port });
    const xds = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    try {
      const certs = pki.dir('sleep');
      const bootstrap = join(dir, 'bootstrap.json');
      writeFileSync(bootstrap, JSON.stringify({
        xds_servers: [{ server_uri: xds.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
        certificate_providers: { default: { plugin_name: 'file_watcher', config: { certificate_file: join(certs, 'cert-chain.pem'), private_key_file: join(certs, 'key.pem'), ca_certificate_file: join(certs, 'root-cert.pem'), refresh_interval: '600s' } } },
      }));
      mesh = await createMesh({ bootstrap, listeners: [`${FQDN}:9080`], logger: silentLogger });
      agent = new MeshAgent({ mesh });
      const res = await get(agent);
      expect(JSON.parse(res.body)).toEqual({ peer: id('sleep') });
    } finally {
      await agent?.close();
      await mesh?.close();
      agent = mesh = undefined;
      xds.close();
    }
  });
});
