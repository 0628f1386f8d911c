// The embedded config path end to end: Istio YAML files → loader → compiler → xDS resources →
// snapshot, watched; and the compiled resources are real Envoy v3 messages (they survive the
// protobuf codec unchanged).

import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, Mesh, resolveIdentity, silentLogger, type Logger, type XdsResources } from '../src/index.ts';
import { decodeAny, decodeMessage, encodeAny, encodeMessage } from '../src/xds/codec/index.ts';
import { TYPE_URL } from '../src/xds/resources.ts';
import { fixtureFiles, fixturePath } from './istio-fixtures.ts';
import { tempDir } from './temp-dir.ts';

const DEMO = fileURLToPath(new URL('../../../examples/demo/mesh', import.meta.url));

let mesh: Mesh | undefined;
afterEach(async () => { await mesh?.close(); mesh = undefined; });

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (o: object | string, msg?: string) => lines.push(typeof o === 'string' ? o : `${msg ?? ''} ${JSON.stringify(o)}`);
  return { lines, debug() {}, info() {}, warn: push, error: push };
}

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('compiled resources are valid Envoy v3 messages', () => {
  it('every resource compiled from the demo config survives the protobuf codec and decodes to the same decisions', async () => {
    mesh = await createMesh({ config: DEMO, watch: false, logger: silentLogger });
    const dump = mesh.configDump();
    const kinds: [keyof XdsResources, string, unknown[]][] = [
      ['listeners', TYPE_URL.Listener, dump.listeners], ['routeConfigs', TYPE_URL.RouteConfiguration, dump.routeConfigs],
      ['clusters', TYPE_URL.Cluster, dump.clusters], ['endpoints', TYPE_URL.ClusterLoadAssignment, dump.endpoints],
    ];
    const decoded: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
    for (const [key, typeUrl, list] of kinds) {
      for (const resource of list) {
        // The encoder rejects any field the Envoy schema lacks, so this also checks field names.
        const wire = encodeAny({ '@type': typeUrl, ...(resource as object) }).value;
        const back = decodeAny(typeUrl, wire);
        if (!back.ok) throw back.error;
        expect(encodeAny(back.value).value).toEqual(wire);
        const { '@type': _t, ...fields } = back.value as Record<string, unknown>;
        const name = (fields['name'] ?? fields['clusterName']) as string;
        (decoded[key] as Map<string, unknown>).set(name, fields);
      }
    }
    expect(decoded.listeners.size).toBe(4);
    const fromWire = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
    expect(fromWire.applyResources(decoded, 'wire')).toEqual([]);
    const requests = [
      { url: 'http://reviews:9080/r' }, { url: 'http://reviews:9080/r', headers: { 'end-user': 'jason' } },
      { url: 'http://ratings:9080/' }, { url: 'http://details:9080/' }, { url: 'http://productpage.default:9080/' },
      { url: 'http://elsewhere.example/' },
    ];
    for (const r of requests) expect(fromWire.explain(r)).toEqual(mesh.explain(r));
    await fromWire.close();
  });
});

describe('CSDS', () => {
  it('clientStatus() is a ClientStatusResponse the Envoy schema accepts, every compiled resource ACKED at the snapshot version', async () => {
    mesh = await createMesh({ config: DEMO, watch: false, logger: silentLogger });
    const csds = mesh.clientStatus();
    const wire = encodeMessage('envoy.service.status.v3.ClientStatusResponse', csds);
    const back = decodeMessage('envoy.service.status.v3.ClientStatusResponse', wire);
    if (!back.ok) throw back.error;
    const configs = back.value.config[0].genericXdsConfigs as { typeUrl: string; name: string; clientStatus: string; versionInfo: string; xdsConfig: { '@type': string } }[];
    const dump = mesh.configDump();
    expect(configs).toHaveLength(dump.listeners.length + dump.routeConfigs.length + dump.clusters.length + dump.endpoints.length);
    expect(new Set(configs.map((c) => c.clientStatus))).toEqual(new Set(['ACKED']));
    const l = configs.find((c) => c.name === 'reviews.default.svc.cluster.local:9080')!;
    expect(l).toMatchObject({ typeUrl: TYPE_URL.Listener, versionInfo: '1' });
    expect(l.xdsConfig['@type']).toBe(TYPE_URL.Listener);
  });
});

describe("the Istio fixtures' CRD sets", () => {
  const files = fixtureFiles(/^config-.*\.yaml$/);
  it('has fixtures to read', () => expect(files.length).toBeGreaterThanOrEqual(20));
  for (const f of files) {
    it(`loads ${f} without a crash, naming anything it skips`, async () => {
      const log = recordingLogger();
      mesh = await createMesh({ config: fixturePath(f), watch: false, logger: log });
      // Every message names where: file:line for CRD problems, kind and name for a resource the
      // data plane cannot use yet.
      for (const line of log.lines) expect(line).toMatch(new RegExp(`${f.replace(/\./g, '\\.')}:\\d+: |(Cluster|Listener|RouteConfiguration|ClusterLoadAssignment) \\S+: `));
      expect(mesh.snapshot.version).toBe(1);
    });
  }
});

describe('watching config files', () => {
  const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints:
    - { address: 10.0.0.1, labels: { version: v1 } }
    - { address: 10.0.0.2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: default }
spec:
  host: web
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;
  const vs = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web]
  http:
    - route:
        - destination: { host: web, subset: ${subset} }
`;
  const target = (m: Mesh) => m.explain({ url: 'http://web/' }).clusters.map((c) => c.name);

  it('applies a valid edit within a second and keeps the last good config on a broken one', async () => {
    const dir = tempDir('watch');
    writeFileSync(join(dir, 'services.yaml'), se);
    writeFileSync(join(dir, 'routes.yaml'), vs('v1'));
    const log = recordingLogger();
    mesh = await createMesh({ config: dir, logger: log });
    expect(target(mesh)).toEqual(['outbound|80|v1|web.default.svc.cluster.local']);

    const t0 = Date.now();
    writeFileSync(join(dir, 'routes.yaml'), vs('v2'));
    await waitFor(() => target(mesh!)[0] === 'outbound|80|v2|web.default.svc.cluster.local');
    expect(Date.now() - t0).toBeLessThan(1000);

    // A broken edit: reported with file:line, routing unchanged.
    const version = mesh.snapshot.version;
    writeFileSync(join(dir, 'routes.yaml'), vs('v1').replace('route:', 'route: [oops'));
    await waitFor(() => log.lines.some((l) => l.includes('routes.yaml:')));
    await waitFor(() => mesh!.snapshot.version > version);
    expect(target(mesh)).toEqual(['outbound|80|v2|web.default.svc.cluster.local']);
    expect(mesh.problems.some((p) => p.includes('routes.yaml:'))).toBe(true);

    // An invalid (but well-formed) edit: same.
    const v2 = mesh.snapshot.version;
    writeFileSync(join(dir, 'routes.yaml'), vs('v1').replace('- route:', '- timeout: 0s\n      route:'));
    await waitFor(() => mesh!.snapshot.version > v2);
    expect(target(mesh)).toEqual(['outbound|80|v2|web.default.svc.cluster.local']);

    // Editors that write a temp file and rename it over the original still count.
    writeFileSync(join(dir, 'routes.tmp'), vs('v1'));
    renameSync(join(dir, 'routes.tmp'), join(dir, 'routes.yaml'));
    await waitFor(() => target(mesh!)[0] === 'outbound|80|v1|web.default.svc.cluster.local');
  });

  it('fails createMesh with a clear message when the config path does not exist', async () => {
    await expect(createMesh({ config: '/nonexistent/meshlet' })).rejects.toThrow(/config path \/nonexistent\/meshlet does not exist/);
  });
});
