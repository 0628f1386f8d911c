// Envoy's resilience behaviour as a DestinationRule configures it, end to end: Istio YAML →
// createMesh → MeshAgent → real servers on 127.0.0.1.

import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, OverflowError, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer, type TestHandler } from './helpers/servers.ts';
import { writeWebMesh } from './helpers/web-mesh.ts';
import { tempDir } from '../../core/test/temp-dir.ts';

const FQDN = 'web.default.svc.cluster.local';
const CLUSTER = `outbound|80||${FQDN}`;

let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await agent?.destroy();
  await mesh?.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  agent = mesh = undefined;
});

async function servers_(handlers: (TestHandler | undefined)[]): Promise<TestServer[]> {
  const list = await Promise.all(handlers.map((h, i) => startServer(`s${i}`, h)));
  servers.push(...list);
  return list;
}

const fail503: TestHandler = (_req, res) => { res.statusCode = 503; res.end('down'); };

function endpointYaml(s: TestServer, locality?: string): string {
  return `    - { address: 127.0.0.1, ports: { http: ${s.port} }${locality ? `, locality: ${locality}` : ''} }`;
}

async function meshFor(eps: string[], trafficPolicy: string, vsHttp = '    - route: [{ destination: { host: web } }]\n      retries: { attempts: 0 }', identity: { locality?: string } = {}): Promise<void> {
  const dir = writeWebMesh(eps, trafficPolicy, vsHttp);
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, ...identity });
  expect(mesh.problems).toEqual([]);
  agent = new MeshAgent({ mesh });
}

async function get(headers: Record<string, string> = {}): Promise<number> {
  const res = await request('http://web/', { dispatcher: agent, headers });
  await res.body.dump();
  return res.statusCode;
}

const stats = () => mesh!.snapshot.clusters.get(CLUSTER)!.runtime.stats();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('outlier detection', () => {
  it('ejects a failing endpoint at once, returns it after the ejection time, and doubles the time on its second ejection', async () => {
    const [a, b, bad] = await servers_([undefined, undefined, fail503]);
    await meshFor([endpointYaml(a!), endpointYaml(b!), endpointYaml(bad!)], `    outlierDetection:
      consecutive5xxErrors: 3
      interval: 50ms
      baseEjectionTime: 600ms
      maxEjectionPercent: 50`);
    // Drive traffic until the bad host has been ejected twice, noting when it was hit.
    const hits: number[] = [];
    const seen = () => bad!.hits;
    let last = 0;
    const started = Date.now();
    while (stats()['outlier_detection.ejections_total'] < 2 && Date.now() - started < 6000) {
      await get();
      if (seen() !== last) { hits.push(Date.now()); last = seen(); }
    }
    expect(stats()['outlier_detection.ejections_total']).toBe(2);
    // Three consecutive 5xx eject it inline; the 4th request after ejection never reaches it.
    expect(bad!.hits).toBe(6);
    const firstGap = hits[3]! - hits[2]!;
    // Back after 600 ms (returned by the next 50 ms sweep), not before.
    expect(firstGap).toBeGreaterThanOrEqual(600);
    expect(firstGap).toBeLessThan(600 + 400);
    // Second ejection lasts 2 × 600 ms.
    const before = bad!.hits;
    const t0 = Date.now();
    while (bad!.hits === before && Date.now() - t0 < 3000) await get();
    const secondGap = Date.now() - hits[5]!;
    expect(secondGap).toBeGreaterThanOrEqual(1200);
    expect(secondGap).toBeLessThan(1200 + 400);
  });

  it('never ejects more than maxEjectionPercent of hosts, and counts the overflow', async () => {
    const list = await servers_([fail503, fail503, fail503, fail503]);
    await meshFor(list.map((s) => endpointYaml(s)), `    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 30s
      maxEjectionPercent: 50`);
    let maxActive = 0;
    for (let i = 0; i < 200; i++) {
      expect(await get()).toBe(503);
      maxActive = Math.max(maxActive, stats()['outlier_detection.ejections_active']);
    }
    expect(maxActive).toBe(2);
    expect(stats()['outlier_detection.ejections_overflow']).toBeGreaterThan(0);
  });

  it('balances across all hosts in panic mode below minHealthPercent, and only across the healthy ones above it', async () => {
    const [good, bad] = await servers_([undefined, fail503]);
    const policy = (minHealth: number) => `    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 30s
      maxEjectionPercent: 100
      minHealthPercent: ${minHealth}`;
    await meshFor([endpointYaml(good!), endpointYaml(bad!)], policy(60));
    while (stats()['outlier_detection.ejections_active'] === 0) await get();
    const panicBefore = bad!.hits;
    for (let i = 0; i < 200; i++) await get();
    // 1 of 2 usable = 50% < 60%: panic, the ejected host still gets about half.
    expect(bad!.hits - panicBefore).toBeGreaterThan(40);
    await agent!.destroy();
    await mesh!.close();

    await meshFor([endpointYaml(good!), endpointYaml(bad!)], policy(0));
    while (stats()['outlier_detection.ejections_active'] === 0) await get();
    const calmBefore = bad!.hits;
    for (let i = 0; i < 200; i++) expect(await get()).toBe(200);
    expect(bad!.hits).toBe(calmBefore);
  });
});

describe('circuit breakers', () => {
  it('fails requests over http2MaxRequests at once with a typed overflow error, and serves the rest', async () => {
    const [slow] = await servers_([(_req, res) => setTimeout(() => res.end('ok'), 300)]);
    await meshFor([endpointYaml(slow!)], `    connectionPool:
      http: { http2MaxRequests: 5 }`);
    const results = await Promise.all(Array.from({ length: 50 }, async () => {
      const t0 = Date.now();
      try {
        return { status: await get(), ms: Date.now() - t0 };
      } catch (err) {
        return { error: err as Error, ms: Date.now() - t0 };
      }
    }));
    const ok = results.filter((r) => r.status === 200);
    const overflow = results.filter((r) => r.error instanceof OverflowError);
    expect(ok.length).toBe(5);
    expect(overflow.length).toBe(45);
    // Fail fast: no overflowed request waited for the slow ones (300 ms); the margin below that
    // is for a loaded CI machine, not for the mesh.
    for (const r of overflow) expect(r.ms).toBeLessThan(250);
    expect(overflow[0]!.error!.message).toMatch(/max_requests=5 \(DestinationRule connectionPool\.http\.http2MaxRequests\)/);
    expect(stats().upstream_rq_pending_overflow).toBe(45);
    expect(stats().upstream_rq_active).toBe(0);
  });

  it('queues at most http1MaxPendingRequests behind maxConnections', async () => {
    const [slow] = await servers_([(_req, res) => setTimeout(() => res.end('ok'), 200)]);
    await meshFor([endpointYaml(slow!)], `    connectionPool:
      tcp: { maxConnections: 1 }
      http: { http1MaxPendingRequests: 3 }`);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => get()));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const overflow = results.filter((r) => r.status === 'rejected' && r.reason instanceof OverflowError && r.reason.limit === 'max_pending_requests').length;
    expect(ok + overflow).toBe(10);
    expect(overflow).toBeGreaterThanOrEqual(6);
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(stats().upstream_rq_pending_active).toBe(0);
  });

  it('caps concurrent retries at maxRetries during a total outage', async () => {
    let inFlightRetries = 0;
    let maxInFlightRetries = 0;
    const [down] = await servers_([(req, res) => {
      const retry = req.headers['x-envoy-attempt-count'] !== undefined;
      if (retry) maxInFlightRetries = Math.max(maxInFlightRetries, ++inFlightRetries);
      setTimeout(() => { if (retry) inFlightRetries--; res.statusCode = 503; res.end(); }, 50);
    }]);
    await meshFor([endpointYaml(down!)], `    connectionPool:
      http: { maxRetries: 2 }`, `    - route: [{ destination: { host: web } }]
      retries: { attempts: 5, retryOn: 5xx }`);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get()));
    expect(statuses.every((s) => s === 503)).toBe(true);
    expect(maxInFlightRetries).toBeLessThanOrEqual(2);
    expect(maxInFlightRetries).toBeGreaterThan(0);
    expect(stats().upstream_rq_retry_overflow).toBeGreaterThan(0);
    // 20 first attempts plus far fewer than the 100 retries the policy alone would send.
    expect(down!.hits).toBeLessThan(20 + 60);
  });

  it('caps retries with a retry budget', async () => {
    const [down] = await servers_([(_req, res) => setTimeout(() => { res.statusCode = 503; res.end(); }, 30)]);
    await meshFor([endpointYaml(down!)], `    retryBudget: { percent: 10, minRetryConcurrency: 1 }`, `    - route: [{ destination: { host: web } }]
      retries: { attempts: 3, retryOn: 5xx }`);
    await Promise.all(Array.from({ length: 20 }, () => get()));
    expect(stats().upstream_rq_retry_overflow).toBeGreaterThan(0);
    expect(stats().upstream_rq_retry).toBeLessThan(60);
  });
});

describe('locality failover', () => {
  it('keeps traffic in the local zone, fails over to the failover region when local hosts are ejected, and comes back', async () => {
    let localDown = false;
    const [local, remote, other] = await servers_([
      (_req, res) => { res.statusCode = localDown ? 503 : 200; res.end('local'); },
      undefined,
      undefined,
    ]);
    await meshFor(
      [endpointYaml(local!, 'us-east/a'), endpointYaml(remote!, 'us-west/b'), endpointYaml(other!, 'eu-central/c')],
      `    loadBalancer:
      simple: ROUND_ROBIN
      localityLbSetting:
        failover: [{ from: us-east, to: us-west }]
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 50ms
      baseEjectionTime: 500ms
      maxEjectionPercent: 100`,
      undefined,
      { locality: 'us-east/a' },
    );
    for (let i = 0; i < 50; i++) await get();
    expect(local!.hits).toBe(50);
    localDown = true;
    while (stats()['outlier_detection.ejections_active'] === 0) await get();
    const r0 = remote!.hits;
    for (let i = 0; i < 50; i++) expect(await get()).toBe(200);
    expect(remote!.hits - r0).toBe(50);
    expect(other!.hits).toBe(0);
    localDown = false;
    await sleep(700);
    const l0 = local!.hits;
    for (let i = 0; i < 50; i++) await get();
    expect(local!.hits - l0).toBe(50);
  });
});

describe('EDS health', () => {
  it('sends nothing to endpoints the config marks unhealthy or draining', async () => {
    const [a, b] = await servers_([undefined, undefined]);
    await meshFor([endpointYaml(a!), endpointYaml(b!)], '    loadBalancer: { simple: ROUND_ROBIN }');
    // Mark one endpoint DRAINING the way a control plane would, through the resources.
    const dump = mesh!.configDump();
    const cla = structuredClone((dump.endpoints as { clusterName: string; endpoints: { lbEndpoints: { healthStatus?: string }[] }[] }[]).find((c) => c.clusterName === CLUSTER)!);
    cla.endpoints[0]!.lbEndpoints[0]!.healthStatus = 'DRAINING';
    const r = mesh!.snapshot.resources;
    mesh!.applyResources({ ...r, endpoints: new Map([...r.endpoints, [CLUSTER, cla as never]]) }, 'test');
    const drained = cla.endpoints[0]!.lbEndpoints[0] as unknown as { endpoint: { address: { socketAddress: { portValue: number } } } };
    const drainedServer = drained.endpoint.address.socketAddress.portValue === a!.port ? a! : b!;
    const before = drainedServer.hits;
    for (let i = 0; i < 40; i++) expect(await get()).toBe(200);
    expect(drainedServer.hits).toBe(before);
  });
});

describe('error-rate breaker (opt-in, opossum)', () => {
  it('opens after the volume threshold of failures, fails fast, lets one trial through after the reset timeout, and closes on success', async () => {
    let down = true;
    const [s] = await servers_([(_req, res) => { res.statusCode = down ? 500 : 200; res.end(); }]);
    const dir = tempDir('breaker');
    writeFileSync(join(dir, 'se.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [${FQDN}]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints:
${endpointYaml(s!)}
`);
    mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 300 } });
    agent = new MeshAgent({ mesh });
    for (let i = 0; i < 5; i++) expect(await get()).toBe(500);
    const hitsWhenOpen = s!.hits;
    const { CircuitOpenError } = await import('@meshlet/core');
    for (let i = 0; i < 20; i++) await expect(get()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(s!.hits).toBe(hitsWhenOpen);
    expect(stats().circuit_breakers_open).toBe(1);
    down = false;
    await sleep(400);
    expect(await get()).toBe(200); // the half-open trial
    for (let i = 0; i < 20; i++) expect(await get()).toBe(200);
    expect(stats().circuit_breakers_open).toBe(0);
  });
});
