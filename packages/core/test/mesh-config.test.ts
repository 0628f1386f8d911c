// MeshConfig: where it is read from (the istio ConfigMap, a bare mesh.yaml, the `mesh` file of a
// mounted ConfigMap, createMesh({ meshConfig })), how it is checked (istiod's ValidateMeshConfig,
// one warning for what Meshlet does not apply), and what each applied field changes in the
// compiled config, as istiod applies it.

import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { loadConfigFiles } from '../src/istio/load/load-files.ts';
import { formatProblem } from '../src/config-error.ts';
import { meshConfigOrigin, meshSettings } from '../src/istio/mesh-config.ts';
import { loadApiObject } from '../src/istio/load/load-api-object.ts';
import { optionMeshConfig } from '../src/istio/load/load-mesh-config.ts';
import { createMesh } from '../src/create-mesh.ts';
import { silentLogger } from '../src/logger.ts';
import type { MeshConfigObject, MeshObject } from '../src/istio/types.ts';
import { cluster, compile, destinationRule, serviceEntry, staticService, virtualService, routes, client } from './compile-helpers.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'meshlet-meshconfig-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  meshNetworks: 'networks: {}'
  mesh: |-
    accessLogFile: /dev/stdout
    defaultConfig:
      discoveryAddress: istiod.istio-system.svc:15012
      holdApplicationUntilProxyStarts: true
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
    connectTimeout: 0.5ms
    rootNamespace: istio-config
`;

function meshConfigOf(objects: readonly MeshObject[]): MeshConfigObject {
  const mc = objects.find((o): o is MeshConfigObject => o.kind === 'MeshConfig');
  if (!mc) throw new Error('no MeshConfig loaded');
  return mc;
}

describe('reading a MeshConfig', () => {
  it('takes the istio ConfigMap as kubectl prints it, with problems on the lines inside data.mesh', () => {
    const r = parseConfigText(CONFIGMAP, 'cm.yaml');
    expect(r.objects).toEqual([]);
    // 0.5ms is under istiod's 1ms minimum: an error, at line 15 of the file (inside the block).
    expect(r.problems.map(formatProblem)).toEqual([
      'cm.yaml:15: MeshConfig istio-system/istio: connectTimeout: invalid connect timeout: 0.5ms is out of range 1ms..8760h',
      'cm.yaml:8: MeshConfig istio-system/istio: warning: MeshConfig fields not applied by Meshlet (they configure the Envoy proxy, istiod or telemetry providers, not a client library): accessLogFile, defaultConfig.discoveryAddress',
    ]);
    const ok = parseConfigText(CONFIGMAP.replace('0.5ms', '2s'), 'cm.yaml');
    const mc = meshConfigOf(ok.objects);
    expect(mc.metadata).toEqual({ name: 'istio', namespace: 'istio-system' });
    const s = meshSettings(mc.spec);
    expect(s).toMatchObject({ outboundTrafficPolicy: 'REGISTRY_ONLY', connectTimeout: '2s', rootNamespace: 'istio-config', holdApplicationUntilProxyStarts: true });
  });

  it('takes the istio ConfigMap from the Kubernetes API too, naming it by resourceVersion', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system', resourceVersion: '42' }, data: { mesh: 'connectTimeout: 0.5ms\n' } };
    expect(loadApiObject(cm).problems.map(formatProblem)).toEqual([
      'MeshConfig istio-system/istio (resourceVersion 42): connectTimeout: invalid connect timeout: 0.5ms is out of range 1ms..8760h',
    ]);
    const ok = loadApiObject({ ...cm, data: { mesh: 'outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n' } });
    const mc = meshConfigOf(ok.objects);
    expect(meshSettings(mc.spec).outboundTrafficPolicy).toBe('REGISTRY_ONLY');
    expect(meshConfigOrigin(mc)).toBe('ConfigMap istio-system/istio (resourceVersion 42)');
    // Another ConfigMap is not Meshlet's.
    expect(loadApiObject({ ...cm, metadata: { name: 'kube-root-ca.crt', namespace: 'istio-system' } }).objects).toEqual([]);
  });

  it('names the line of a field in a quoted single-line mesh value, and YAML errors inside it', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio-1-24, namespace: istio-system }\ndata:\n  mesh: "trustDomain: \'bad domain\'"\n';
    expect(parseConfigText(text, 'rev.yaml').problems.map(formatProblem)).toEqual([
      'rev.yaml:5: MeshConfig istio-system/istio-1-24: trustDomain: trustDomain: trust domain name "bad domain" invalid',
    ]);
    const broken = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n  mesh: |\n    rootNamespace: a\n    connectTimeout: [\n';
    expect(parseConfigText(broken, 'b.yaml').problems[0]!.message).toMatch(/^data\.mesh: YAML syntax error/);
  });

  it('skips other ConfigMaps like any kind it does not read', () => {
    const r = parseConfigText('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app-settings, namespace: default }\ndata: { mesh: "rootNamespace: x" }\n', 'c.yaml');
    expect(r.objects).toEqual([]);
    expect(r.problems.every((p) => p.severity === 'warning')).toBe(true);
  });

  it('reads a bare document from mesh.yaml, meshconfig.yaml or a mounted `mesh` file, and hints elsewhere', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mesh'), 'trustDomain: td.example\n');
    writeFileSync(join(dir, 'routes.yaml'), 'rootNamespace: nope\n');
    const r = await loadConfigFiles([dir]);
    expect(meshConfigOf(r.objects).spec.trustDomain).toBe('td.example');
    expect(r.problems.map(formatProblem)).toEqual([
      `${join(dir, 'routes.yaml')}:1: apiVersion: apiVersion is required; if this document is a MeshConfig, put it in a file named mesh.yaml (or meshconfig.yaml), or pass it as createMesh({ meshConfig })`,
    ]);
    // A Kubernetes object in mesh.yaml is read as one (web-mesh.ts writes CRDs there); which of
    // several MeshConfigs is in force is decided later (one compile test below).
    const both = parseConfigText(`${CONFIGMAP.replace('0.5ms', '1s')}---\nenableAutoMtls: false\n`, 'meshconfig.yaml', undefined, { meshConfigFile: true });
    expect(both.objects.map((o) => o.kind)).toEqual(['MeshConfig', 'MeshConfig']);
  });

  it('lists unknown and not-applied fields in one warning, with the nearest real name', () => {
    const r = parseConfigText('conectTimeout: 1s\ningressClass: nginx\ndefaultConfig: { holdApplicationUntilProxyStart: true, concurrency: 2 }\n', 'mesh.yaml', undefined, { meshConfigFile: true });
    expect(r.problems.map(formatProblem)).toEqual([
      'mesh.yaml:1: MeshConfig istio-system/istio: warning: MeshConfig fields not applied by Meshlet (they configure the Envoy proxy, istiod or telemetry providers, not a client library): ingressClass, defaultConfig.concurrency; fields not MeshConfig fields, ignored as istiod ignores them: conectTimeout (did you mean connectTimeout?), defaultConfig.holdApplicationUntilProxyStart (did you mean holdApplicationUntilProxyStarts?)',
    ]);
  });

  it('accepts snake_case names as protobuf JSON does, and checks what istiod checks', () => {
    const ok = parseConfigText('outbound_traffic_policy: { mode: REGISTRY_ONLY }\ntrust_domain_aliases: [old.example]\n', 'mesh.yaml', undefined, { meshConfigFile: true });
    expect(ok.problems).toEqual([]);
    expect(meshSettings(meshConfigOf(ok.objects).spec)).toMatchObject({ outboundTrafficPolicy: 'REGISTRY_ONLY', trustDomainAliases: ['old.example'] });
    const bad = parseConfigText([
      'outboundTrafficPolicy: { mode: DENY_ALL }',
      'trustDomainAliases: [ok.example, "no spaces"]',
      'localityLbSetting: { distribute: [{ from: us/*, to: { us/a: 60 } }] }',
      'defaultHttpRetryPolicy: { attempts: 0, retryOn: 5xx }',
      'pathNormalization: { normalization: SOMETIMES }',
      'defaultServiceExportTo: ["*", "."]',
      '',
    ].join('\n'), 'mesh.yaml', undefined, { meshConfigFile: true });
    expect(bad.problems.map((p) => `${p.line} ${p.field}: ${p.message}`)).toEqual([
      '1 outboundTrafficPolicy.mode: mode "DENY_ALL" must be one of REGISTRY_ONLY, ALLOW_ANY, ALLOW_ANY_DYNAMIC_DNS',
      '4 defaultHttpRetryPolicy: invalid default http retry policy: retry settings are given but attempts is 0 (unset means 0), which disables retries',
      '3 localityLbSetting.distribute[0].to: locality weights add up to 60; they must add up to 100',
      '2 trustDomainAliases[1]: trustDomainAliases[1], domain `no spaces`: trust domain name "no spaces" invalid',
      '5 pathNormalization.normalization: normalization "SOMETIMES" must be one of DEFAULT, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES',
      '6 defaultServiceExportTo: exportTo "*" (everyone) cannot be combined with other entries',
    ]);
  });

  it('resolves istiod\'s defaults', () => {
    expect(meshSettings(undefined)).toEqual({
      outboundTrafficPolicy: 'ALLOW_ANY', defaultHttpRetryPolicy: undefined, connectTimeout: '10s', localityLbSetting: undefined,
      trustDomain: 'cluster.local', trustDomainAliases: [], pathNormalization: 'BASE', enableAutoMtls: true,
      defaultServiceExportTo: ['*'], defaultVirtualServiceExportTo: ['*'], defaultDestinationRuleExportTo: ['*'],
      rootNamespace: 'istio-system', dnsRefreshRate: '60s', h2UpgradePolicy: 'DO_NOT_UPGRADE', holdApplicationUntilProxyStarts: false, origin: 'defaults',
    });
    expect(meshSettings({ pathNormalization: { normalization: 'DEFAULT' }, outboundTrafficPolicy: { mode: 'ALLOW_ANY_DYNAMIC_DNS' } })).toMatchObject({ pathNormalization: 'BASE', outboundTrafficPolicy: 'ALLOW_ANY' });
    expect(meshSettings({ pathNormalization: { normalization: 'MERGE_SLASHES' } }).pathNormalization).toBe('MERGE_SLASHES');
    expect(meshSettings({}, { rootNamespace: 'from-option' }).rootNamespace).toBe('from-option');
  });
});

function meshConfig(spec: MeshConfigObject['spec']): MeshConfigObject {
  const r = optionMeshConfig(spec);
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.object!;
}

describe('what the compile takes from MeshConfig', () => {
  const reviews = staticService('reviews.default.svc.cluster.local', 9080, [{ address: '10.0.0.1', serviceAccount: 'reviews' }]);

  it('defaultHttpRetryPolicy replaces Istio\'s default retries where a route sets none', () => {
    const vs = virtualService('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }, { name: 'own', match: [{ uri: { prefix: '/own' } }], retries: { attempts: 1 }, route: [{ destination: { host: 'reviews' } }] }] });
    const other = staticService('ratings.default.svc.cluster.local', 9080);
    const mc = meshConfig({ defaultHttpRetryPolicy: { attempts: 5, retryOn: 'gateway-error,503', perTryTimeout: '2s' } });
    const r = compile([reviews, other, vs, mc]);
    const rule = routes(r, 'outbound|9080||reviews.default.svc.cluster.local')[0]!;
    expect(rule.route!.retryPolicy).toMatchObject({ numRetries: 5, retryOn: 'gateway-error,retriable-status-codes', retriableStatusCodes: [503], perTryTimeout: '2s' });
    // The default route of a service without a VirtualService too (BuildDefaultHTTPOutboundRoute).
    expect(routes(r, 'outbound|9080||ratings.default.svc.cluster.local')[0]!.route!.retryPolicy!.numRetries).toBe(5);
    // attempts: 0 turns the mesh default off.
    const off = compile([other, meshConfig({ defaultHttpRetryPolicy: { attempts: 0 } })]);
    expect(routes(off, 'outbound|9080||ratings.default.svc.cluster.local')[0]!.route!.retryPolicy).toBeUndefined();
  });

  it('connectTimeout, dnsRefreshRate and enableAutoMtls shape the clusters; a DestinationRule still wins', () => {
    const dns = serviceEntry('ext', { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS' });
    const mc = meshConfig({ connectTimeout: '1.5s', dnsRefreshRate: '5m', enableAutoMtls: false });
    const r = compile([reviews, dns, mc]);
    const c = cluster(r, 'outbound|9080||reviews.default.svc.cluster.local');
    expect(c.connectTimeout).toBe('1.500s');
    expect(c.transportSocketMatches).toBeUndefined();
    expect(cluster(r, 'outbound|443||api.example.com').dnsRefreshRate).toBe('300s');
    const dr = destinationRule('reviews', { host: 'reviews', trafficPolicy: { connectionPool: { tcp: { connectTimeout: '3s' } } } });
    expect(cluster(compile([reviews, dr, mc]), 'outbound|9080||reviews.default.svc.cluster.local').connectTimeout).toBe('3s');
    // Auto-mTLS is on by default for a mesh-internal service.
    const internal = serviceEntry('in', { hosts: ['in.default.svc.cluster.local'], location: 'MESH_INTERNAL', ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.2', serviceAccount: 'in' }] });
    expect(cluster(compile([internal]), 'outbound|80||in.default.svc.cluster.local').transportSocketMatches).toHaveLength(2);
    expect(cluster(compile([internal, mc]), 'outbound|80||in.default.svc.cluster.local').transportSocketMatches).toBeUndefined();
  });

  it('trustDomain and its aliases name the identities an ISTIO_MUTUAL cluster accepts', () => {
    const dr = destinationRule('reviews', { host: 'reviews', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } });
    const r = compile([reviews, dr, meshConfig({ trustDomain: 'new.example', trustDomainAliases: ['old.example'] })]);
    const sans = JSON.stringify(cluster(r, 'outbound|9080||reviews.default.svc.cluster.local').transportSocket);
    expect(sans).toContain('spiffe://new.example/ns/default/sa/reviews');
    expect(sans).toContain('spiffe://old.example/ns/default/sa/reviews');
    expect(sans).not.toContain('spiffe://cluster.local/');
  });

  it('localityLbSetting is inherited by DestinationRules without one, as a whole', () => {
    const eps = [{ address: '10.0.0.1', locality: 'us/a' }, { address: '10.0.0.2', locality: 'eu/b' }];
    const svc = staticService('reviews.default.svc.cluster.local', 9080, eps);
    const od = destinationRule('reviews', { host: 'reviews', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3 } } });
    const who = { ...client(), locality: 'us/a' };
    const mc = meshConfig({ localityLbSetting: { distribute: [{ from: 'us/*', to: { 'us/a': 20, 'eu/b': 80 } }] } });
    const weights = (objs: MeshObject[]) => {
      const a = compile(objs, who).resources.endpoints.get('outbound|9080||reviews.default.svc.cluster.local')!;
      return a.endpoints!.map((g) => `${g.locality?.region}:${g.loadBalancingWeight ?? '-'}`);
    };
    expect(weights([svc, od, mc]).sort()).toEqual(['eu:80', 'us:20']);
    // The rule's own setting replaces the mesh's; enabled: false in the mesh turns it off.
    const own = destinationRule('reviews', { host: 'reviews', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3 }, loadBalancer: { localityLbSetting: { enabled: false } } } });
    expect(weights([svc, own, mc]).sort()).toEqual(['eu:1', 'us:1']);
    const failover = compile([svc, od, meshConfig({ localityLbSetting: { enabled: false } })], who).resources.endpoints.get('outbound|9080||reviews.default.svc.cluster.local')!;
    expect(failover.endpoints!.map((g) => g.priority ?? 0)).toEqual([0, 0]);
    const byRegion = compile([svc, od], who).resources.endpoints.get('outbound|9080||reviews.default.svc.cluster.local')!.endpoints!;
    expect(byRegion.map((g) => `${g.locality?.region}:${g.priority ?? 0}`).sort()).toEqual(['eu:1', 'us:0']);
  });

  it('default*ExportTo hide objects that do not say otherwise', () => {
    const other = staticService('ratings.other.svc.cluster.local', 9080, undefined, { namespace: 'other' });
    const exported = serviceEntry('pub', { hosts: ['pub.other.svc.cluster.local'], exportTo: ['*'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.3' }] }, { namespace: 'other' });
    const mc = meshConfig({ defaultServiceExportTo: ['.'], defaultVirtualServiceExportTo: ['.'], defaultDestinationRuleExportTo: ['.'] });
    const r = compile([other, exported, mc]);
    expect([...r.resources.listeners.keys()]).toEqual(['pub.other.svc.cluster.local:80']);
    // A VirtualService and a DestinationRule of the service's namespace stay private to it.
    const pub = serviceEntry('reviews', { hosts: ['reviews.default.svc.cluster.local'], exportTo: ['*'], ports: [{ number: 9080, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] });
    const vs = virtualService('r', { hosts: ['reviews'], http: [{ timeout: '3s', route: [{ destination: { host: 'reviews' } }] }] });
    const dr = destinationRule('r', { host: 'reviews', trafficPolicy: { connectionPool: { tcp: { connectTimeout: '7s' } } } });
    const frontend = client('frontend');
    const hidden = compile([pub, vs, dr, mc], frontend);
    expect(routes(hidden, 'outbound|9080||reviews.default.svc.cluster.local')[0]!.route!.timeout).toBe('0s');
    expect(cluster(hidden, 'outbound|9080||reviews.default.svc.cluster.local').connectTimeout).toBe('10s');
    const shown = compile([pub, vs, dr], frontend);
    expect(routes(shown, 'outbound|9080||reviews.default.svc.cluster.local')[0]!.route!.timeout).toBe('3s');
    expect(cluster(shown, 'outbound|9080||reviews.default.svc.cluster.local').connectTimeout).toBe('7s');
  });

  it('rootNamespace decides where mesh-wide DestinationRules live', () => {
    const dr = destinationRule('mesh-wide', { host: '*.cluster.local', exportTo: ['.'], trafficPolicy: { connectionPool: { tcp: { connectTimeout: '4s' } } } }, { namespace: 'istio-config' });
    expect(cluster(compile([reviews, dr], { ...client(), namespace: 'istio-config' }), 'outbound|9080||reviews.default.svc.cluster.local').connectTimeout).toBe('4s');
    const viaRoot = compile([reviews, dr, meshConfig({ rootNamespace: 'istio-config' })], { ...client('istio-config') });
    expect(cluster(viaRoot, 'outbound|9080||reviews.default.svc.cluster.local').connectTimeout).toBe('4s');
    expect(viaRoot.mesh.rootNamespace).toBe('istio-config');
  });

  it('one MeshConfig is in force: createMesh\'s over the files\', else the first found', () => {
    const a = { ...meshConfig({ connectTimeout: '1s' }), source: { file: 'a.yaml', line: 3, lineOf: () => 3 } };
    const b = { ...meshConfig({ connectTimeout: '2s' }), source: { file: 'b.yaml', line: 1, lineOf: () => 1 } };
    const r = compile([reviews, a, b]);
    expect(r.mesh).toMatchObject({ connectTimeout: '1s', origin: 'a.yaml:3' });
    expect(r.problems.map(formatProblem)).toEqual(['b.yaml:1: MeshConfig istio-system/istio: warning: a mesh has one MeshConfig and the MeshConfig at a.yaml:3 is in force; this one is ignored']);
  });
});

describe('createMesh({ meshConfig })', () => {
  const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{ number: 9080, name: http }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;

  it('takes an object, refusing an invalid one with file:line-style problems', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'se.yaml'), se);
    const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, meshConfig: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' }, rootNamespace: 'mesh-root' } });
    try {
      expect(mesh.meshConfig).toMatchObject({ outboundTrafficPolicy: 'REGISTRY_ONLY', origin: 'createMesh({ meshConfig })' });
      expect(mesh.identity.rootNamespace).toBe('mesh-root');
      expect(mesh.configDump().outboundTrafficPolicy).toEqual({ mode: 'REGISTRY_ONLY', origin: 'MeshConfig createMesh({ meshConfig })' });
    } finally {
      await mesh.close();
    }
    await expect(createMesh({ config: dir, watch: false, logger: silentLogger, meshConfig: { connectTimeout: 'soon' } }))
      .rejects.toThrow(/createMesh\(\{ meshConfig \}\) is not a valid MeshConfig\n {2}createMesh\(\{ meshConfig \}\):0: MeshConfig istio-system\/istio: connectTimeout: invalid connect timeout/);
  });

  it('takes a file whatever its name, in force over a folder document, and applies live edits of it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'se.yaml'), se);
    writeFileSync(join(dir, 'mesh.yaml'), 'connectTimeout: 2s\n');
    const file = join(tempDir(), 'istio.conf');
    writeFileSync(file, CONFIGMAP.replace('0.5ms', '3s').replace('holdApplicationUntilProxyStarts: true', 'holdApplicationUntilProxyStarts: false'));
    const mesh = await createMesh({ config: dir, logger: silentLogger, meshConfig: file });
    try {
      expect(mesh.meshConfig).toMatchObject({ connectTimeout: '3s', outboundTrafficPolicy: 'REGISTRY_ONLY', origin: `${file}:1` });
      expect(mesh.configDump().problems.some((p) => p.includes('mesh.yaml:1: MeshConfig istio-system/istio: warning: a mesh has one MeshConfig and createMesh({ meshConfig }) is in force'))).toBe(true);
      const version = mesh.snapshot.version;
      writeFileSync(file, 'connectTimeout: 4s\n');
      await waitFor(() => mesh.meshConfig.connectTimeout === '4s' && mesh.snapshot.version > version);
      expect(mesh.meshConfig.outboundTrafficPolicy).toBe('ALLOW_ANY');
      // A broken edit keeps the last good MeshConfig.
      writeFileSync(file, 'connectTimeout: 0s\n');
      await waitFor(() => mesh.problems.some((p) => p.includes('invalid connect timeout')));
      expect(mesh.meshConfig.connectTimeout).toBe('4s');
    } finally {
      await mesh.close();
    }
  });

  it('holdApplicationUntilProxyStarts: createMesh waits for the workload certificate, and fails past the timeout', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'se.yaml'), se);
    const certs = tempDir();
    const started = Date.now();
    await expect(createMesh({
      config: dir, watch: false, logger: silentLogger, certs, xds: { initialFetchTimeoutMs: 300 },
      meshConfig: { defaultConfig: { holdApplicationUntilProxyStarts: true } },
    })).rejects.toThrow(/holdApplicationUntilProxyStarts: no complete workload certificate .* within 300 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // Without hold the same mesh starts at once (requests needing the certificate fail then).
    const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, certs });
    await mesh.close();
  });

  it('holdApplicationUntilProxyStarts in xDS mode: no start without the control plane', async () => {
    const dir = tempDir();
    const bootstrap = join(dir, 'bootstrap.json');
    // A port nothing listens on.
    writeFileSync(bootstrap, JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:9', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'sidecar~10.0.0.1~a.default~default.svc.cluster.local' } }));
    await expect(createMesh({ bootstrap, logger: silentLogger, xds: { initialFetchTimeoutMs: 300 }, meshConfig: { defaultConfig: { holdApplicationUntilProxyStarts: true } } }))
      .rejects.toThrow(/holdApplicationUntilProxyStarts: no complete config from the xDS server within 300 ms/);
    const mesh = await createMesh({ bootstrap, logger: silentLogger, xds: { initialFetchTimeoutMs: 300 } });
    await mesh.close();
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
