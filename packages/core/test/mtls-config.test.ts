// mTLS config without sockets: DestinationRule tls → transport sockets as istiod writes them
// (and valid Envoy messages), the translator's NACKs, AuthorizationPolicy loading, and the
// PeerAuthentication / AuthorizationPolicy decision rules.

import { describe, expect, it } from 'vitest';
import { createMesh, silentLogger, Mesh, resolveIdentity, peerAuthenticationFor, mtlsModeForPort, authorize, applicablePolicies, certificateProvidersFromBootstrap, uriSans, type Cluster } from '../src/index.ts';
import { decodeAny, encodeAny } from '../src/xds/codec/index.ts';
import { TYPE_URL } from '../src/xds/resources.ts';
import { translateTransportSocket } from '../src/security/cluster-tls.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import type { AuthorizationPolicy, PeerAuthentication } from '../src/istio/types.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tempDir } from './temp-dir.ts';

const FQDN = 'reviews.default.svc.cluster.local';

async function compiled(tls: object, extraSe = ''): Promise<Cluster[]> {
  const dir = tempDir('tlscfg');
  writeFileSync(join(dir, 'c.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${FQDN}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http }]
  endpoints:
  - { address: 10.0.0.1, serviceAccount: reviews, labels: { v: "1" } }
  - { address: 10.0.0.2, serviceAccount: reviews-v2 }${extraSe}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${FQDN}
  trafficPolicy: { tls: ${JSON.stringify(tls)} }
  subsets: [{ name: v1, labels: { v: "1" } }]
`);
  const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
  const clusters = mesh.configDump().clusters as Cluster[];
  expect(mesh.problems).toEqual([]);
  await mesh.close();
  return clusters;
}

function roundTrip(c: Cluster): void {
  // The encoder rejects fields the Envoy schema lacks, so this checks every emitted name.
  const wire = encodeAny({ '@type': TYPE_URL.Cluster, ...c });
  const back = decodeAny(TYPE_URL.Cluster, wire.value);
  if (!back.ok) throw back.error;
  const { '@type': _t, ...fields } = back.value as Record<string, unknown>;
  expect(fields['transportSocket']).toEqual(c.transportSocket);
}

describe('DestinationRule tls → transport socket', () => {
  it('ISTIO_MUTUAL is written as istiod writes it for proxyless clients, with the service accounts as SANs', async () => {
    const [c, subset] = await compiled({ mode: 'ISTIO_MUTUAL' });
    const provider = { instanceName: 'default', certificateName: 'default' };
    const root = { instanceName: 'default', certificateName: 'ROOTCA' };
    expect(c!.transportSocket).toEqual({
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        commonTlsContext: {
          tlsCertificateProviderInstance: provider,
          tlsCertificateCertificateProviderInstance: provider,
          combinedValidationContext: {
            defaultValidationContext: {
              matchSubjectAltNames: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }, { exact: 'spiffe://cluster.local/ns/default/sa/reviews-v2' }],
              caCertificateProviderInstance: root,
            },
            validationContextCertificateProviderInstance: root,
          },
        },
      },
    });
    expect(subset!.transportSocket).toEqual(c!.transportSocket);
    expect(c!.metadata?.filterMetadata?.['meshlet']?.['tls']).toBeUndefined();
    roundTrip(c!);
  });

  it('ServiceEntry subjectAltNames join the service accounts; DR subjectAltNames and sni win', async () => {
    const [c] = await compiled({ mode: 'ISTIO_MUTUAL' }, '\n  subjectAltNames: ["spiffe://cluster.local/ns/default/sa/extra"]');
    const sans = (c!.transportSocket!.typedConfig as any).commonTlsContext.combinedValidationContext.defaultValidationContext.matchSubjectAltNames;
    expect(sans).toContainEqual({ exact: 'spiffe://cluster.local/ns/default/sa/extra' });
    const [d] = await compiled({ mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://td/ns/x/sa/y'], sni: 'reviews.local' });
    const ctx = d!.transportSocket!.typedConfig as any;
    expect(ctx.sni).toBe('reviews.local');
    expect(ctx.commonTlsContext.combinedValidationContext.defaultValidationContext.matchSubjectAltNames).toEqual([{ exact: 'spiffe://td/ns/x/sa/y' }]);
    roundTrip(d!);
  });

  it('MUTUAL and SIMPLE use file data sources; no CA means the system roots; insecureSkipVerify drops validation', async () => {
    const [m] = await compiled({ mode: 'MUTUAL', clientCertificate: '/c.pem', privateKey: '/k.pem', caCertificates: '/ca.pem', subjectAltNames: ['a.example'], sni: 'a.example' });
    expect((m!.transportSocket!.typedConfig as any).commonTlsContext).toEqual({
      tlsCertificates: [{ certificateChain: { filename: '/c.pem' }, privateKey: { filename: '/k.pem' } }],
      combinedValidationContext: { defaultValidationContext: { trustedCa: { filename: '/ca.pem' }, matchSubjectAltNames: [{ exact: 'a.example' }] } },
    });
    roundTrip(m!);
    const [s] = await compiled({ mode: 'SIMPLE' });
    expect((s!.transportSocket!.typedConfig as any).commonTlsContext).toEqual({ combinedValidationContext: { defaultValidationContext: { systemRootCerts: {} } } });
    roundTrip(s!);
    const [i] = await compiled({ mode: 'SIMPLE', insecureSkipVerify: true });
    expect((i!.transportSocket!.typedConfig as any).commonTlsContext).toEqual({});
    const [off] = await compiled({ mode: 'DISABLE' });
    expect(off!.transportSocket).toBeUndefined();
  });

  it('translates back into the settings the transports use', async () => {
    const [c] = await compiled({ mode: 'ISTIO_MUTUAL' });
    const r = translateTransportSocket(c!.name, c!.transportSocket);
    if (!r.ok) throw new Error(r.error);
    expect(r.value!.certificate).toEqual({ chain: { kind: 'provider', instance: 'default', certificateName: 'default' }, key: { kind: 'provider', instance: 'default', certificateName: 'default' } });
    expect(r.value!.trust).toEqual({ kind: 'provider', instance: 'default', certificateName: 'ROOTCA' });
    expect(r.value!.subjectAltNames.map((s) => s.text)).toEqual(['spiffe://cluster.local/ns/default/sa/reviews', 'spiffe://cluster.local/ns/default/sa/reviews-v2']);
  });
});

describe("the sidecar's SDS secrets, read as istio-agent serves them", () => {
  const UTC = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
  const sds = (name: string) => ({ name, sdsConfig: { apiConfigSource: { apiType: 'GRPC', grpcServices: [{ envoyGrpc: { clusterName: 'sds-grpc' } }] } } });
  it('default / ROOTCA are the workload certificate and root', () => {
    const r = translateTransportSocket('c', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, sni: 'outbound_.9080_._.reviews.default.svc.cluster.local', commonTlsContext: {
      alpnProtocols: ['istio-peer-exchange', 'istio'],
      tlsCertificateSdsSecretConfigs: [sds('default')],
      combinedValidationContext: { defaultValidationContext: { matchSubjectAltNames: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }] }, validationContextSdsSecretConfig: sds('ROOTCA') },
    } } });
    if (!r.ok) throw new Error(r.error);
    expect(r.value!.certificate).toEqual({ chain: { kind: 'provider', instance: 'default', certificateName: 'default' }, key: { kind: 'provider', instance: 'default', certificateName: 'default' } });
    expect(r.value!.trust).toEqual({ kind: 'provider', instance: 'default', certificateName: 'ROOTCA' });
    expect(r.value!.sni).toBe('outbound_.9080_._.reviews.default.svc.cluster.local');
  });
  it('file-cert: / file-root: are the DestinationRule files; file-root:system the system roots', () => {
    const r = translateTransportSocket('c', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [sds('file-cert:/etc/certs/c.pem~/etc/certs/k.pem')],
      combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: sds('file-root:/etc/certs/ca.pem') },
    } } });
    if (!r.ok) throw new Error(r.error);
    expect(r.value!.certificate).toEqual({ chain: { kind: 'file', path: '/etc/certs/c.pem' }, key: { kind: 'file', path: '/etc/certs/k.pem' } });
    expect(r.value!.trust).toEqual({ kind: 'file', path: '/etc/certs/ca.pem' });
    const system = translateTransportSocket('c', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: { combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: sds('file-root:system') } } } });
    expect(system.ok && system.value!.trust).toEqual({ kind: 'system' });
  });
});

describe('transport socket NACKs name the field and keep the cluster from going plaintext', () => {
  const UTC = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
  const cases: [string, object, RegExp][] = [
    ['unknown socket', { name: 'envoy.transport_sockets.alts' }, /transportSocket\.name: "envoy\.transport_sockets\.alts" is not supported/],
    ['SDS secret from a credentialName', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: 'kubernetes://client-cert' }] } } }, /tlsCertificateSdsSecretConfigs\[0\]\.name: SDS secret "kubernetes:\/\/client-cert" is not one Meshlet can read/],
    ['SDS root from a credentialName', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: { combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: 'kubernetes://ca-cacert' } } } } }, /combinedValidationContext\.validationContextSdsSecretConfig\.name: SDS secret "kubernetes:\/\/ca-cacert"/],
    ['SAN without CA', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: { validationContext: { matchSubjectAltNames: [{ exact: 'x' }] } } } }, /validationContext: SAN matching needs a trusted CA/],
    ['provider without instance', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: { tlsCertificateProviderInstance: {} } } }, /tlsCertificateProviderInstance\.instanceName: required/],
    ['bad typed SAN', { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': UTC, commonTlsContext: { validationContext: { trustedCa: { filename: '/ca' }, matchTypedSubjectAltNames: [{ sanType: 'OTHER', matcher: { exact: 'x' } }] } } } }, /matchTypedSubjectAltNames\[0\]\.sanType: "OTHER"/],
  ];
  for (const [what, ts, message] of cases) {
    it(what, () => {
      const mesh = new Mesh(resolveIdentity(), silentLogger);
      const errors = mesh.applyResources({ listeners: new Map(), routeConfigs: new Map(), endpoints: new Map(), clusters: new Map([['c', { name: 'c', type: 'STATIC', transportSocket: ts as Cluster['transportSocket'] }]]) }, 'test');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^Cluster c: transportSocket/);
      expect(errors[0]).toMatch(message);
      expect(mesh.snapshot.clusters.has('c')).toBe(false);
      void mesh.close();
    });
  }
});

describe('PeerAuthentication composition', () => {
  const pa = (ns: string, name: string, mode: string | undefined, extra: Partial<PeerAuthentication['spec']> = {}, created = '2024-01-01T00:00:00Z'): PeerAuthentication => ({
    apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', source: { file: 'x', line: 1, lineOf: () => 1 },
    metadata: { name, namespace: ns, creationTimestamp: created }, spec: { ...(mode && { mtls: { mode: mode as 'STRICT' } }), ...extra },
  });
  const wl = { namespace: 'default', labels: { app: 'reviews' } };
  it('no policy is PERMISSIVE; UNSET inherits; workload > namespace > mesh; oldest wins', () => {
    expect(peerAuthenticationFor([], wl, 'istio-system').mode).toBe('PERMISSIVE');
    expect(peerAuthenticationFor([pa('istio-system', 'm', 'STRICT'), pa('default', 'n', 'UNSET')], wl, 'istio-system').mode).toBe('STRICT');
    expect(peerAuthenticationFor([pa('istio-system', 'm', 'STRICT'), pa('default', 'n', 'DISABLE')], wl, 'istio-system').mode).toBe('DISABLE');
    const w = pa('default', 'w', 'STRICT', { selector: { matchLabels: { app: 'reviews' } }, portLevelMtls: { '8080': { mode: 'DISABLE' }, '9090': { mode: 'UNSET' } } });
    const p = peerAuthenticationFor([pa('default', 'n', 'DISABLE'), w], wl, 'istio-system');
    expect([mtlsModeForPort(p, 80), mtlsModeForPort(p, 8080), mtlsModeForPort(p, 9090)]).toEqual(['STRICT', 'DISABLE', 'STRICT']);
    const other = pa('default', 'x', 'DISABLE', { selector: { matchLabels: { app: 'ratings' } } });
    expect(peerAuthenticationFor([other], wl, 'istio-system').mode).toBe('PERMISSIVE');
    expect(peerAuthenticationFor([pa('default', 'b', 'DISABLE', {}, '2025-01-01T00:00:00Z'), pa('default', 'a', 'STRICT', {}, '2023-01-01T00:00:00Z')], wl, 'istio-system').mode).toBe('STRICT');
  });
});

describe('AuthorizationPolicy', () => {
  const load = (yaml: string) => parseConfigText(yaml, 'authz.yaml');
  it('loads as a handled kind and reports webhook errors with file:line', () => {
    const r = load(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: bad, namespace: default }
spec:
  action: DENY
  rules:
  - to: [{ operation: { ports: ["http"], paths: ["admin"] } }]
    when: [{ key: request.bogus, values: ["x"] }]
`);
    expect(r.objects).toHaveLength(0);
    const msgs = r.problems.map((p) => `${p.line}: ${p.field}: ${p.message}`);
    expect(msgs).toEqual(expect.arrayContaining([
      expect.stringMatching(/^7: spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]: port "http" is not a number/),
      expect.stringMatching(/paths\[0\]: path "admin" must start with "\/"/),
      expect.stringMatching(/^8: spec\.rules\[0\]\.when\[0\]\.key: unknown attribute "request\.bogus"/),
    ]));
    const good = load(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ok, namespace: default }
spec:
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }] }]
`);
    expect(good.problems).toEqual([]);
    expect(good.objects[0]!.kind).toBe('AuthorizationPolicy');
  });

  const ap = (name: string, spec: AuthorizationPolicy['spec'], ns = 'default'): AuthorizationPolicy => ({
    apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', source: { file: 'x', line: 1, lineOf: () => 1 }, metadata: { name, namespace: ns }, spec,
  });
  const req = (over: Partial<Parameters<typeof authorize>[1]> = {}) => ({ peerIdentity: 'spiffe://cluster.local/ns/default/sa/sleep', sourceIp: '10.1.2.3', method: 'GET', path: '/api/x', host: 'reviews:9080', port: 9080, headers: {}, ...over });

  it('DENY beats ALLOW; no ALLOW policy allows; an ALLOW policy with no rules allows nothing', () => {
    expect(authorize([], req()).allowed).toBe(true);
    expect(authorize([ap('nothing', {})], req()).allowed).toBe(false);
    const allowAll = ap('all', { rules: [{}] });
    const denyApi = ap('deny', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/api/*'] } }] }] });
    expect(authorize([allowAll, denyApi], req())).toMatchObject({ allowed: false, policy: 'default/deny' });
    expect(authorize([allowAll, denyApi], req({ path: '/ui' }))).toMatchObject({ allowed: true, policy: 'default/all' });
    expect(authorize([ap('audit', { action: 'AUDIT', rules: [{}] })], req()).allowed).toBe(true);
  });

  it('matches sources, operations and conditions as Istio does', () => {
    const p = ap('p', { rules: [{
      from: [{ source: { namespaces: ['default'], notPrincipals: ['*/sa/bad'], ipBlocks: ['10.0.0.0/8'] } }],
      to: [{ operation: { methods: ['GET', 'HEAD'], ports: ['9080'], hosts: ['reviews'], notPaths: ['*.secret'] } }],
      when: [{ key: 'request.headers[x-env]', values: ['prod*'] }, { key: 'source.principal', notValues: ['cluster.local/ns/default/sa/evil'] }],
    }] });
    const h = { 'x-env': 'production' };
    expect(authorize([p], req({ headers: h })).allowed).toBe(true);
    expect(authorize([p], req({ headers: {} })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, method: 'POST' })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, port: 8080 })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, path: '/a.secret' })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, sourceIp: '192.168.0.1' })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, peerIdentity: 'spiffe://cluster.local/ns/default/sa/bad' })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, peerIdentity: 'spiffe://cluster.local/ns/default/sa/evil' })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, peerIdentity: undefined })).allowed).toBe(false);
    expect(authorize([p], req({ headers: h, host: 'other' })).allowed).toBe(false);
  });

  it('applies root-namespace and same-namespace policies whose selector matches', () => {
    const all = [ap('root', {}, 'istio-system'), ap('mine', { selector: { matchLabels: { app: 'reviews' } } }), ap('theirs', { selector: { matchLabels: { app: 'ratings' } } }), ap('elsewhere', {}, 'other')];
    expect(applicablePolicies(all, { namespace: 'default', labels: { app: 'reviews' } }, 'istio-system').map((p) => p.metadata.name)).toEqual(['root', 'mine']);
  });
});

describe('certificate plumbing', () => {
  it('reads file_watcher certificate providers from a bootstrap', () => {
    const m = certificateProvidersFromBootstrap({ certificate_providers: { default: { plugin_name: 'file_watcher', config: { certificate_file: '/etc/certs/cert-chain.pem', private_key_file: '/etc/certs/key.pem', ca_certificate_file: '/etc/certs/root-cert.pem', refresh_interval: '900s' } } } });
    expect(m.get('default')).toEqual({ files: { certificateChain: '/etc/certs/cert-chain.pem', privateKey: '/etc/certs/key.pem', rootCert: '/etc/certs/root-cert.pem' }, refreshMs: 900_000 });
    expect(() => certificateProvidersFromBootstrap({ certificate_providers: { x: { plugin_name: 'meshca' } } })).toThrow(/certificate_providers\.x\.plugin_name: "meshca" is not supported/);
  });

  it('parses URI SANs, including quoted ones', () => {
    expect(uriSans('URI:spiffe://cluster.local/ns/a/sa/b, DNS:x.example')).toEqual(['spiffe://cluster.local/ns/a/sa/b']);
    expect(uriSans('DNS:a, URI:"spiffe://td/ns/a,b/sa/c"')).toEqual(['spiffe://td/ns/a,b/sa/c']);
  });
});

describe('meshlet certs', () => {
  const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const run = (args: string[]) => execFileSync(process.execPath, ['--conditions=source', MAIN, 'certs', ...args], { encoding: 'utf8' });

  it('writes workload identities in istio-agent\'s layout under one dev root', () => {
    const dir = tempDir('certs-cli');
    expect(run(['--out', join(dir, 'reviews'), '--namespace', 'bookinfo', '--service-account', 'reviews'])).toContain('spiffe://cluster.local/ns/bookinfo/sa/reviews');
    run(['--out', join(dir, 'ratings'), '--namespace', 'bookinfo', '--service-account', 'ratings', '--hours', '2']);
    const read = (w: string, f: string) => readFileSync(join(dir, w, f), 'utf8');
    const root = new X509Certificate(read('ca', 'root-cert.pem'));
    expect(root.ca).toBe(true);
    expect(root.subject).toBe('O=cluster.local');
    for (const w of ['reviews', 'ratings']) {
      const leaf = new X509Certificate(read(w, 'cert-chain.pem'));
      expect(leaf.subjectAltName).toBe(`URI:spiffe://cluster.local/ns/bookinfo/sa/${w}`);
      expect(leaf.ca).toBe(false);
      expect(leaf.checkIssued(root)).toBe(true);
      expect(leaf.verify(root.publicKey)).toBe(true);
      expect(leaf.checkPrivateKey(createPrivateKey(read(w, 'key.pem')))).toBe(true);
      expect(read(w, 'root-cert.pem')).toBe(read('ca', 'root-cert.pem'));
    }
    const ratings = new X509Certificate(read('ratings', 'cert-chain.pem'));
    expect(Date.parse(ratings.validTo) - Date.parse(ratings.validFrom)).toBe(2 * 3600_000);
    // OpenSSL, an independent X.509 implementation, accepts them too (when installed).
    let openssl = true;
    try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); } catch { openssl = false; }
    if (openssl) {
      const out = execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(dir, 'ca', 'root-cert.pem'), join(dir, 'reviews', 'cert-chain.pem')], { encoding: 'utf8' });
      expect(out).toContain(': OK');
    }
  });

  it('rejects a bad name with a usage error', () => {
    const dir = tempDir('certs-cli');
    let status = 0;
    let stderr = '';
    try { run(['--out', dir, '--service-account', 'Bad_Name']); } catch (err) { status = (err as { status: number }).status; stderr = String((err as { stderr: string }).stderr); }
    expect(status).toBe(2);
    expect(stderr).toContain('service account "Bad_Name" is not a Kubernetes name');
  });
});
