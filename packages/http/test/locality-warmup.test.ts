// Locality distribution, failover by labels, warmup (slow start) and retries to remote
// localities, end to end: Istio YAML → createMesh → MeshAgent → real servers on 127.0.0.1.

import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer, type TestHandler } from './helpers/servers.ts';
import { writeWebMesh } from './helpers/web-mesh.ts';

const FQDN = 'web.default.svc.cluster.local';

const meshes: Mesh[] = [];
let agent: MeshAgent | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await agent?.destroy();
  agent = undefined;
  await Promise.all(meshes.splice(0).map((m) => m.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(handlers: (TestHandler | undefined)[]): Promise<TestServer[]> {
  const list = await Promise.all(handlers.map((h, i) => startServer(`s${i}`, h)));
  servers.push(...list);
  return list;
}

const fail503: TestHandler = (_req, res) => { res.statusCode = 503; res.end('down'); };

function endpoint(s: TestServer, extra = ''): string {
  return `    - { address: 127.0.0.1, ports: { http: ${s.port} }${extra} }`;
}

async function meshFor(eps: string[], trafficPolicy: string, identity: { locality?: string; labels?: Record<string, string> } = {}, retries = 'retries: { attempts: 0 }'): Promise<Mesh> {
  const dir = writeWebMesh(eps, trafficPolicy, `    - route: [{ destination: { host: web } }]\n      ${retries}`);
  const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, ...identity });
  meshes.push(mesh);
  expect(mesh.problems).toEqual([]);
  return mesh;
}

async function get(): Promise<number> {
  const res = await request('http://web/', { dispatcher: agent });
  await res.body.dump();
  return res.statusCode;
}

async function send(n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect(await get()).toBe(200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('localityLbSetting.distribute', () => {
  it('splits traffic by the `to` percentages for the client\'s locality; a locality not named gets none', async () => {
    const [eastA, eastB, west] = await start([undefined, undefined, undefined]);
    const mesh = await meshFor(
      [endpoint(eastA!, ', locality: us-east/a'), endpoint(eastB!, ', locality: us-east/b'), endpoint(west!, ', locality: us-west/c')],
      `    loadBalancer:
      localityLbSetting:
        distribute:
          - from: us-east/a/*
            to: { "us-east/a/*": 70, "us-west/*": 30 }`,
      { locality: 'us-east/a/rack1' },
    );
    agent = new MeshAgent({ mesh });
    await send(200);
    // Localities are taken in a smooth weighted rotation: exact shares over whole cycles.
    expect(eastA!.hits).toBeGreaterThanOrEqual(138);
    expect(eastA!.hits).toBeLessThanOrEqual(142);
    expect(west!.hits).toBe(200 - eastA!.hits);
    expect(eastB!.hits).toBe(0);
  });
});

describe('localityLbSetting.failoverPriority', () => {
  it('keeps traffic on endpoints whose labels match the client\'s, and moves only when they are ejected', async () => {
    const [other, same] = await start([undefined, undefined]);
    let sameFails = false;
    const sameServer = servers[1]!;
    sameServer.server.removeAllListeners('request');
    sameServer.server.on('request', (_req, res) => {
      sameServer.hits++;
      if (sameFails) fail503(_req, res, '');
      else res.end('same');
    });
    const mesh = await meshFor(
      [endpoint(other!, ', labels: { version: v2 }'), endpoint(same!, ', labels: { version: v1 }')],
      `    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }
    loadBalancer:
      localityLbSetting:
        failoverPriority: [version]`,
      { labels: { app: 'client', version: 'v1' } },
    );
    agent = new MeshAgent({ mesh });
    await send(30);
    expect(same!.hits).toBe(30);
    expect(other!.hits).toBe(0);
    sameFails = true;
    expect(await get()).toBe(503);
    // The matching endpoint is ejected: its priority level is empty, the next one serves.
    await send(20);
    expect(other!.hits).toBe(20);
    expect(same!.hits).toBe(31);
  });
});

describe('warmup (slow start)', () => {
  it('an endpoint added to the cluster takes a small share at first and its full share after the window', async () => {
    const [old, fresh] = await start([undefined, undefined]);
    const policy = `    loadBalancer:
      simple: ROUND_ROBIN
      warmup: { duration: 2s, minimumPercent: 10 }`;
    const mesh = await meshFor([endpoint(old!)], policy);
    // The same config with the second endpoint, compiled apart and applied as a config update.
    const next = await meshFor([endpoint(old!), endpoint(fresh!)], policy);
    agent = new MeshAgent({ mesh });
    await send(10);
    mesh.applyResources(next.snapshot.resources, 'test update');
    await send(60);
    // Weight 10% of the old host's at first, growing to ~25% by 0.5 s into the window: a fair
    // split would give it 30 of 60.
    expect(fresh!.hits).toBeGreaterThan(0);
    expect(fresh!.hits).toBeLessThan(15);
    await sleep(2100);
    const [o0, f0] = [old!.hits, fresh!.hits];
    await send(100);
    expect(fresh!.hits - f0).toBeGreaterThanOrEqual(49);
    expect(fresh!.hits - f0).toBeLessThanOrEqual(51);
    expect(old!.hits - o0).toBe(100 - (fresh!.hits - f0));
  });
});

describe('retries.retryRemoteLocalities', () => {
  const eps = (a: TestServer, b: TestServer, remote: TestServer) => [
    endpoint(a, ', locality: us-east/a'), endpoint(b, ', locality: us-east/a'), endpoint(remote, ', locality: us-west/c'),
  ];
  // Outlier detection puts the remote locality on priority 1; 100 failures are needed to eject.
  const policy = '    outlierDetection: { consecutive5xxErrors: 100 }';

  it('the second retry leaves the tried local priority and reaches the remote locality', async () => {
    const [a, b, remote] = await start([fail503, fail503, undefined]);
    const mesh = await meshFor(eps(a!, b!, remote!), policy, { locality: 'us-east/a' }, 'retries: { attempts: 2, retryOn: 5xx, retryRemoteLocalities: true }');
    agent = new MeshAgent({ mesh });
    expect(await get()).toBe(200);
    // Istio's update_frequency 2: the first retry still uses the original load (both local
    // hosts tried), the second excludes priority 0.
    expect(a!.hits + b!.hits).toBe(2);
    expect(remote!.hits).toBe(1);
  });

  it('without it, every retry stays on the healthy local priority', async () => {
    const [a, b, remote] = await start([fail503, fail503, undefined]);
    const mesh = await meshFor(eps(a!, b!, remote!), policy, { locality: 'us-east/a' }, 'retries: { attempts: 2, retryOn: 5xx }');
    agent = new MeshAgent({ mesh });
    expect(await get()).toBe(503);
    expect(a!.hits + b!.hits).toBe(3);
    expect(remote!.hits).toBe(0);
  });
});
