// Scenario 4: bad config arrives while traffic flows, and traffic keeps running on the last good
// version. Over xDS, a real ADS server (meshlet's, in-process so the test can corrupt what it
// serves) pushes four bad resources in turn — a Cluster that fails validation, a
// RouteConfiguration with an invalid domain, one with a nameless header matcher, and a
// Listener whose bytes do not decode — and
// each must be NACKed with a message naming it, while routing stays on the accepted version.
// From files, a watched folder gets a YAML syntax error and then an invalid VirtualService, and
// each must be reported with file:line while routing stays put. A good change afterwards
// applies in both cases. No request may fail at any point.

import { afterAll, describe, expect, it } from 'vitest';
import { createMesh, requestView, silentLogger, XdsServer, type Mesh } from '../../packages/core/src/index.ts';
import { MeshAgent } from '../../packages/http/src/index.ts';
import { encodeAny } from '../../packages/core/src/xds/codec/index.ts';
import type { ServedResource, ServedSnapshot } from '../../packages/core/src/xds-server/config-store.ts';
import { TYPE_URL } from '../../packages/core/src/xds/resources.ts';
import {
  cluster, REVIEWS, routesYaml, servicesYaml, startBackend, tempDir, writeBootstrap, writeConfig, type Backend,
} from '../../packages/core/test/xds-helpers.ts';
import { quantile, sleep, startLoad, waitUntil, type RunningLoad } from './helpers/load.ts';
import { record } from './helpers/report.ts';

let backends: Backend[] = [];
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
});

const ports = async (): Promise<{ v1: number; v2: number; v3: number }> => {
  if (backends.length === 0) backends = await Promise.all(['v1', 'v2', 'v3'].map((n) => startBackend(n)));
  const [v1, v2, v3] = backends.map((b) => b.port) as [number, number, number];
  return { v1, v2, v3 };
};

function target(mesh: Mesh): string {
  const d = mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', {}), 'reviews', 9080);
  return d.kind === 'forward' ? d.target.name : d.kind;
}

/** Steady load on reviews; counts which backend answered since the last reset. */
function reviewsLoad(agent: MeshAgent): { load: RunningLoad; bodies: Map<string, number> } {
  const bodies = new Map<string, number>();
  const load = startLoad({
    concurrency: 8,
    rate: 200,
    maxRequests: 20_000,
    maxDurationMs: 60_000,
    hangMs: 5_000,
    send: async (_i, signal) => {
      const res = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET', signal });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${body}`);
      bodies.set(body, (bodies.get(body) ?? 0) + 1);
    },
  });
  return { load, bodies };
}

/** Waits until `n` more requests succeeded, and checks every one of them went to v1 (the last good routing). */
async function stillOnV1(load: RunningLoad, bodies: Map<string, number>, n = 200): Promise<void> {
  bodies.clear();
  const from = load.ok;
  await waitUntil(() => load.ok >= from + n, 10_000, `${n} more requests`);
  expect([...bodies.keys()]).toEqual(['v1']);
}

function replace(s: ServedSnapshot, typeUrl: string, name: string, make: (r: ServedResource) => ServedResource): ServedSnapshot {
  const byType = new Map(s.byType);
  const resources = new Map(byType.get(typeUrl)!);
  resources.set(name, make(resources.get(name)!));
  byType.set(typeUrl, resources);
  return { version: s.version, byType };
}

/** The served resource with `value` re-encoded (a well-formed message the client must reject on validation). */
function reencoded(r: ServedResource, typeUrl: string, value: object, version: string): ServedResource {
  return { name: r.name, value, bytes: encodeAny({ '@type': typeUrl, ...value }).value, version };
}

describe('bad config over xDS', () => {
  it.each([['4a', 'state-of-the-world', false], ['4b', 'delta', true]] as const)('%s: NACKs each bad push, keeps routing on the last good version, loses no request (%s)', async (id, label, delta) => {
    const p = await ports();
    const dir = tempDir('faults-nack');
    writeConfig(dir, { 'services.yaml': servicesYaml(p), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    const server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false });
    // What the server sends is what the store compiles, passed through `corrupt` when set.
    let corrupt: ((s: ServedSnapshot) => ServedSnapshot) | undefined;
    const compiled = server.store.snapshotFor.bind(server.store);
    server.store.snapshotFor = (identity) => (corrupt ? corrupt(compiled(identity)) : compiled(identity));
    const push = async (fn: typeof corrupt): Promise<void> => {
      corrupt = fn;
      await server.store.reload();
    };

    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('faults-nack-bs'), server.address, { delta }), listeners: [REVIEWS], logger: silentLogger });
    const agent = new MeshAgent({ mesh });
    const { load, bodies } = reviewsLoad(agent);
    const status = (name: string) => mesh.configDump().xds!.resources.find((r) => r.name === name);
    const nacks: string[] = [];
    try {
      await waitUntil(() => load.ok >= 200, 10_000, 'load to start');
      const rcName = `outbound|9080||reviews.default.svc.cluster.local`;
      const bad: [string, string, (s: ServedSnapshot) => ServedSnapshot, RegExp][] = [
        ['Cluster with connectTimeout 0s', cluster('v1'), (s) => replace(s, TYPE_URL.Cluster, cluster('v1'), (r) => reencoded(r, TYPE_URL.Cluster, { ...r.value, connectTimeout: '0s' }, 'bad-cluster')), /connectTimeout/],
        ['RouteConfiguration with a domain wildcard in the middle', rcName, (s) => replace(s, TYPE_URL.RouteConfiguration, rcName, (r) => {
          const rc = structuredClone(r.value) as { virtualHosts: { domains: string[] }[] };
          rc.virtualHosts[0]!.domains = ['rev*iews'];
          return reencoded(r, TYPE_URL.RouteConfiguration, rc, 'bad-route');
        }), /domains/],
        // Proto3 leaves an empty string out, so this is a matcher with no name on the wire; the
        // fuzzer found that validating it threw inside the ADS stream's data handler.
        ['RouteConfiguration with a header matcher that has no name', rcName, (s) => replace(s, TYPE_URL.RouteConfiguration, rcName, (r) => {
          const rc = structuredClone(r.value) as { virtualHosts: { routes: { match: { headers?: unknown[] } }[] }[] };
          rc.virtualHosts[0]!.routes[0]!.match.headers = [{ exactMatch: 'jason' }];
          return reencoded(r, TYPE_URL.RouteConfiguration, rc, 'bad-header');
        }), /headers\[0\]\.name: required/],
        ['Listener whose bytes do not decode', REVIEWS, (s) => replace(s, TYPE_URL.Listener, REVIEWS, (r) => ({ ...r, bytes: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), version: 'bad-bytes' })), /cannot decode/],
      ];
      for (const [what, name, fn, message] of bad) {
        const good = status(name)!;
        expect(good.status, what).toBe('ACKED');
        await push(fn);
        await waitUntil(() => status(name)?.status === 'NACKED', 10_000, `the NACK of the ${what}`);
        const nacked = status(name)!;
        expect(nacked.errorState?.details, what).toMatch(message);
        expect(nacked.version, `${what}: the version in force is still the accepted one`).toBe(good.version);
        expect(mesh.problems.some((x) => x.includes('NACKed'))).toBe(true);
        nacks.push(`${what}: ${nacked.errorState?.details}`);
        expect(target(mesh)).toBe(cluster('v1'));
        await stillOnV1(load, bodies);
        // Back to good before the next bad push, so each NACK is seen on its own.
        await push(undefined);
        await waitUntil(() => status(name)?.status === 'ACKED', 10_000, `the fix of the ${what}`);
      }
      // A good change still applies after all that.
      writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 0, v3: 100 }) });
      await push(undefined);
      await waitUntil(() => target(mesh) === cluster('v3'), 10_000, 'the good change');
      bodies.clear();
      await waitUntil(() => (bodies.get('v3') ?? 0) >= 100, 10_000, '100 responses from v3');
    } finally {
      load.stop();
    }
    const result = await load.result;
    await agent.close();
    await mesh.close();
    server.close();
    record({
      id,
      scenario: `bad config pushed over xDS (${label})`,
      checks: 'a bad Cluster, two bad RouteConfigurations and an undecodable Listener are each NACKed naming the field; routing stays on the last good version; no failed request',
      sent: result.sent,
      failures: result.failed,
      p99Ms: quantile(result.latencies, 0.99),
      notes: `${nacks.length} NACKs, then a good push applied; hung ${result.hung}`,
    });
    expect(nacks).toHaveLength(4);
    expect(result.failed, result.failures.join('\n')).toBe(0);
    expect(result.hung).toBe(0);
  });
});

describe('bad config written to files', () => {
  it('4c: reports a YAML syntax error and an invalid object with file:line, keeps routing, loses no request', async () => {
    const p = await ports();
    const dir = tempDir('faults-files');
    writeConfig(dir, { 'services.yaml': servicesYaml(p), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    const mesh = await createMesh({ config: dir, logger: silentLogger });
    expect(mesh.problems).toEqual([]);
    const agent = new MeshAgent({ mesh });
    const { load, bodies } = reviewsLoad(agent);
    const reported: string[] = [];
    try {
      await waitUntil(() => load.ok >= 200, 10_000, 'load to start');
      const broken: [string, string, RegExp][] = [
        ['a YAML syntax error', routesYaml({ v1: 0, v3: 100 }).replace('  http:', '  http: [unclosed'), /routes\.yaml:\d+: .*YAML/],
        ['an invalid VirtualService (timeout 0s)', routesYaml({ v1: 0, v3: 100 }).replace('    - name: split\n', '    - name: split\n      timeout: 0s\n'), /routes\.yaml:\d+: VirtualService default\/reviews: .*timeout/],
      ];
      for (const [what, text, message] of broken) {
        const version = mesh.snapshot.version;
        writeConfig(dir, { 'routes.yaml': text });
        await waitUntil(() => mesh.snapshot.version > version && mesh.problems.some((x) => message.test(x)), 10_000, `${what} to be reported`);
        reported.push(mesh.problems.find((x) => message.test(x))!);
        expect(target(mesh), what).toBe(cluster('v1'));
        await stillOnV1(load, bodies);
      }
      writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 0, v3: 100 }) });
      await waitUntil(() => target(mesh) === cluster('v3'), 10_000, 'the good edit');
      expect(mesh.problems).toEqual([]);
      await sleep(100);
      bodies.clear();
      await waitUntil(() => (bodies.get('v3') ?? 0) >= 100, 10_000, '100 responses from v3');
    } finally {
      load.stop();
    }
    const result = await load.result;
    await agent.close();
    await mesh.close();
    record({
      id: '4c',
      scenario: 'bad config written to watched files',
      checks: 'a YAML syntax error and an invalid VirtualService are reported as file:line; routing stays on the last good version; no failed request',
      sent: result.sent,
      failures: result.failed,
      p99Ms: quantile(result.latencies, 0.99),
      notes: `reported: ${reported.map((r) => r.replace(/^.*\//, '').split(' (')[0]).join(' · ')}; hung ${result.hung}`,
    });
    expect(result.failed, result.failures.join('\n')).toBe(0);
    expect(result.hung).toBe(0);
  });
});
