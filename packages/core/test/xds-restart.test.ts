// The control plane killed and restarted under load: requests through MeshAgent keep flowing
// on the last good config while the ADS stream is down, the client reconnects with back-off,
// re-subscribes, and a push after the restart takes effect. SotW over a unix socket (how
// istio-agent serves proxyless clients) and delta over TCP.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, requestView, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { MeshAgent } from '../../http/src/index.ts';
import { cluster, REVIEWS, routesYaml, servicesYaml, startBackend, startXdsProcess, tempDir, waitFor, writeBootstrap, writeConfig, type Backend } from './xds-helpers.ts';

let backends: Backend[];
beforeAll(async () => {
  backends = await Promise.all(['v1', 'v2', 'v3'].map((n) => startBackend(n)));
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
});

function target(mesh: Mesh): string | undefined {
  const d = mesh.decide(requestView('GET', 'http', 'reviews:9080', '/', {}), 'reviews', 9080);
  return d.kind === 'forward' ? d.target.name : d.kind;
}

describe.each([['state-of-the-world over a unix socket', false, true], ['delta over TCP', true, false]] as const)('control plane restart (%s)', (_label, delta, unix) => {
  it('loses no request while the server is down, reconnects, and applies the next push', async () => {
    const dir = tempDir('xds-restart');
    const [v1, v2, v3] = backends.map((b) => b.port) as [number, number, number];
    writeConfig(dir, { 'services.yaml': servicesYaml({ v1, v2, v3 }), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    const listen = unix ? `unix://${join(tempDir('xds-sock'), 'xds.sock')}` : '127.0.0.1:0';
    let server = await startXdsProcess(dir, listen);
    const mesh = await createMesh({
      bootstrap: writeBootstrap(tempDir('xds-bootstrap'), server.address, { delta }),
      listeners: [REVIEWS],
      logger: silentLogger,
      xds: { backoff: { initialMs: 50, maxMs: 400 } },
    });
    const agent = new MeshAgent({ mesh });
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET' });
          const body = await res.body.text();
          if (res.statusCode === 200 && (body === 'v1' || body === 'v3')) ok++;
          else failures.push(`${res.statusCode} ${body}`);
        } catch (err) {
          failures.push(String(err));
          // A request that fails at once never yields to timers; keep the loop from starving them.
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    try {
      await waitFor(() => ok > 50, 5000, 'load to start');
      await server.kill('SIGKILL');
      await waitFor(() => mesh.configDump().xds!.connected === false, 5000, 'the client to see the stream drop');
      const duringOutage = ok;
      await new Promise((r) => setTimeout(r, 500));
      expect(ok).toBeGreaterThan(duringOutage); // traffic flowed on the last good config
      expect(target(mesh)).toBe(cluster('v1'));

      // Same address, new process; a push made while it was down is what it serves now.
      writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 0, v3: 100 }) });
      server = await startXdsProcess(dir, server.address);
      await waitFor(() => target(mesh) === cluster('v3'), 10_000, 'the reconnected stream to deliver the new routes');
      expect(mesh.configDump().xds!.connected).toBe(true);
      const settled = ok;
      await waitFor(() => ok > settled + 20, 5000, 'more traffic after the restart');
    } finally {
      stop = true;
      await load;
      await agent.close();
      await mesh.close();
      await server.kill();
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
  });
});

describe('a delta stream resumed with nothing new to send', () => {
  it('counts as connected once the server accepts it, and holds its resources ACKED', async () => {
    const dir = tempDir('xds-resume');
    writeConfig(dir, { 'services.yaml': servicesYaml({ v1: 1, v2: 2, v3: 3 }), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    let server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    const address = server.address;
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('bs'), address, { delta: true }), listeners: [REVIEWS], logger: silentLogger, xds: { backoff: { initialMs: 50, maxMs: 200 } } });
    try {
      server.close();
      await waitFor(() => !mesh.configDump().xds!.connected, 5000, 'the stream to drop');
      server = await XdsServer.start({ config: [dir], listen: address, logger: silentLogger });
      // initial_resource_versions tells the server the client has everything: no response comes.
      await waitFor(() => mesh.configDump().xds!.connected, 5000, 'the resumed stream');
      expect(mesh.configDump().xds!.resources.every((r) => r.status === 'ACKED')).toBe(true);
      expect(target(mesh)).toBe(cluster('v1'));
    } finally {
      await mesh.close();
      server.close();
    }
  });
});
