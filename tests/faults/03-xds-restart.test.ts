// Scenario 3: the xDS server (`meshlet xds`, a real process) is SIGKILLed under load and started
// again on the same address 10 s later. No request may fail: the data path runs on the last
// good snapshot while the ADS stream is down. The client must reconnect by itself (default
// back-off: 1 s ×1.6 with jitter) and pick up a change written after the restart. Run for
// state-of-the-world and for delta xDS.

import { afterAll, describe, expect, it } from 'vitest';
import { createMesh, requestView, silentLogger, type Mesh } from '../../packages/core/src/index.ts';
import { MeshAgent } from '../../packages/http/src/index.ts';
import {
  cluster, REVIEWS, routesYaml, servicesYaml, startBackend, startXdsProcess, tempDir, writeBootstrap, writeConfig,
  type Backend, type XdsProcess,
} from '../../packages/core/test/xds-helpers.ts';
import { quantile, sleep, startLoad, waitUntil } from './helpers/load.ts';
import { record } from './helpers/report.ts';

const OUTAGE_MS = 10_000;

let backends: Backend[] = [];
const servers: XdsProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await Promise.all(backends.map((b) => b.close()));
});

function target(mesh: Mesh): string {
  const d = mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', {}), 'reviews', 9080);
  return d.kind === 'forward' ? d.target.name : d.kind;
}

describe.each([['3a', 'state-of-the-world', false], ['3b', 'delta', true]] as const)('xDS server killed and restarted 10 s later (%s, %s)', (id, label, delta) => {
  it('loses no request, reconnects, and applies a change pushed after the restart', async () => {
    if (backends.length === 0) backends = await Promise.all(['v1', 'v2', 'v3'].map((n) => startBackend(n)));
    const [v1, v2, v3] = backends.map((b) => b.port) as [number, number, number];
    const dir = tempDir('faults-xds');
    writeConfig(dir, { 'services.yaml': servicesYaml({ v1, v2, v3 }), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    let server = await startXdsProcess(dir);
    servers.push(server);
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('faults-bootstrap'), server.address, { delta }), listeners: [REVIEWS], logger: silentLogger });
    const agent = new MeshAgent({ mesh });
    const bodies = new Map<string, number>();
    let afterChange = false;
    const load = startLoad({
      concurrency: 8,
      rate: 200,
      maxRequests: 15_000,
      maxDurationMs: 60_000,
      hangMs: 5_000,
      send: async (_i, signal) => {
        // Only requests routed after the change count: one decided just before it finishes on
        // the old route, as it should.
        const counted = afterChange;
        const res = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET', signal });
        const body = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${body}`);
        if (counted) bodies.set(body, (bodies.get(body) ?? 0) + 1);
      },
    });
    let reconnectMs = 0;
    let outageRequests = 0;
    try {
      await waitUntil(() => load.done >= 500, 10_000, 'load to start');
      await server.kill('SIGKILL');
      await waitUntil(() => mesh.configDump().xds!.connected === false, 5_000, 'the client to see the stream drop');
      const before = load.done;
      await sleep(OUTAGE_MS);
      outageRequests = load.done - before;
      expect(target(mesh)).toBe(cluster('v1'));
      server = await startXdsProcess(dir, server.address);
      servers.push(server);
      const restartedAt = performance.now();
      // The change is written after the restart, so only a reconnected client can see it.
      writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 0, v3: 100 }) });
      // Back-off after a 10 s outage: the next attempt is at most ~9 s away (1 s × 1.6^n, ±20%).
      await waitUntil(() => target(mesh) === cluster('v3'), 30_000, 'the reconnected client to apply the new routes');
      reconnectMs = performance.now() - restartedAt;
      afterChange = true;
      await waitUntil(() => (bodies.get('v3') ?? 0) >= 200, 10_000, '200 responses from v3');
    } finally {
      load.stop();
    }
    const result = await load.result;
    const dump = mesh.configDump().xds!;
    await agent.close();
    await mesh.close();

    record({
      id,
      scenario: `xDS server killed under load, restarted 10 s later (${label})`,
      checks: 'no failed request during the outage; the client reconnects by itself and applies a change pushed after the restart',
      sent: result.sent,
      failures: result.failed,
      p99Ms: quantile(result.latencies, 0.99),
      notes: `${outageRequests} requests served during the outage; change applied ${(reconnectMs / 1000).toFixed(1)} s after the restart; hung ${result.hung}`,
    });
    expect(result.failed, result.failures.join('\n')).toBe(0);
    expect(result.hung).toBe(0);
    expect(outageRequests).toBeGreaterThan(1_000);
    expect(dump.connected).toBe(true);
    for (const r of dump.resources) expect(r.status, `${r.type} ${r.name}`).toBe('ACKED');
    // After the change every response came from v3.
    expect([...bodies.keys()]).toEqual(['v3']);
  });
});
