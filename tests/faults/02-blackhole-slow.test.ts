// Scenario 2: an endpoint that accepts connections and never answers (black hole) and one that
// answers after 3 s. Timeouts and per-try timeouts must bound every request:
//   mixed     black hole + slow + healthy, per-try 400 ms, 2 retries: requests move on from
//             the stuck hosts and succeed, each within three per-try timeouts (well inside the
//             3 s route timeout);
//   blackhole only the black hole, per-try 300 ms, route 1 s: every request fails with a
//             timeout error, never later than the route timeout;
//   slow      only the slow host, route timeout 500 ms, no retries: every request fails with
//             RouteTimeoutError at 500 ms, not at 5 s.
// The machine is shared and has 2 cores: a timer can fire a few hundred ms late, and after such
// a stall Node runs due timers before reading sockets, so a per-try timeout can beat a reply
// that already arrived. The bounds carry SLACK_MS for that, and the event loop's worst delay
// during the run is reported beside them.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, expect, it } from 'vitest';
import { createMesh, PerTryTimeoutError, RouteTimeoutError, silentLogger, UpstreamError, type Mesh } from '../../packages/core/src/index.ts';
import { MeshAgent } from '../../packages/http/src/index.ts';
import { startBackend, stopAllBackends } from './helpers/backends.ts';
import { quantile, startLoad } from './helpers/load.ts';
import { configDir, get, serviceYaml } from './helpers/mesh-config.ts';
import { record } from './helpers/report.ts';

let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
afterAll(async () => {
  await agent?.destroy();
  await mesh?.close();
  await stopAllBackends();
});

// Scheduling slack on a loaded 2-core machine: a timer fires late, a response takes a moment.
const SLACK_MS = 500;

it('a black-hole endpoint and a slow one: route and per-try timeouts bound every request', async () => {
  const [hole, slow, good] = await Promise.all([startBackend('hole', 'blackhole'), startBackend('slow', 'slow:5000'), startBackend('good')]);
  const dir = configDir('timeouts', {
    'mixed.yaml': serviceYaml({
      name: 'mixed',
      endpoints: [hole!.port, slow!.port, good!.port],
      trafficPolicy: '    loadBalancer: { simple: ROUND_ROBIN }',
      http: `    - route: [{ destination: { host: mixed } }]
      timeout: 3s
      retries: { attempts: 2, perTryTimeout: 400ms, retryOn: "5xx,reset,connect-failure" }`,
    }),
    'blackhole.yaml': serviceYaml({
      name: 'blackhole',
      endpoints: [hole!.port],
      http: `    - route: [{ destination: { host: blackhole } }]
      timeout: 1s
      retries: { attempts: 2, perTryTimeout: 300ms, retryOn: "5xx,reset" }`,
    }),
    'slow.yaml': serviceYaml({
      name: 'slow',
      endpoints: [slow!.port],
      http: `    - route: [{ destination: { host: slow } }]
      timeout: 500ms
      retries: { attempts: 0 }`,
    }),
  });
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
  expect(mesh.problems).toEqual([]);
  agent = new MeshAgent({ mesh });

  const timeoutErrors = new Map<string, number>();
  const expectTimeout = (service: string) => async (_i: number, signal: AbortSignal) => {
    try {
      await get(agent!, service, signal);
    } catch (err) {
      // Only the mesh's own timeout errors count as "bounded by a timeout"; anything else
      // (a hang aborted by the watchdog, a reset) is reported as it is.
      if (!isTimeout(err)) throw err;
      timeoutErrors.set(`${service}:${(err as Error).name}`, (timeoutErrors.get(`${service}:${(err as Error).name}`) ?? 0) + 1);
      return;
    }
    throw new Error(`${service} answered, but no request to it can succeed`);
  };

  const isTimeout = (err: unknown): boolean =>
    err instanceof RouteTimeoutError || err instanceof PerTryTimeoutError || (err instanceof UpstreamError && err.cause instanceof PerTryTimeoutError);
  // Mixed requests should succeed; one that does not must at least have ended on a timeout.
  const mixedOtherErrors: string[] = [];
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const [mixed, holeOnly, slowOnly] = await Promise.all([
    startLoad({
      concurrency: 64, rate: 100, maxRequests: 1_000, maxDurationMs: 15_000, hangMs: 5_000,
      send: (_i, s) => get(agent!, 'mixed', s).then(() => {}, (err: unknown) => {
        if (!isTimeout(err)) mixedOtherErrors.push(String(err));
        throw err;
      }),
    }).result,
    startLoad({ concurrency: 8, maxRequests: 80, maxDurationMs: 15_000, hangMs: 5_000, send: expectTimeout('blackhole') }).result,
    startLoad({ concurrency: 8, maxRequests: 80, maxDurationMs: 15_000, hangMs: 5_000, send: expectTimeout('slow') }).result,
  ]);
  delay.disable();
  const stallMs = delay.max / 1e6;

  const all = [mixed, holeOnly, slowOnly];
  const sent = all.reduce((n, r) => n + r.sent, 0);
  const failed = all.reduce((n, r) => n + r.failed, 0);
  const max = (xs: number[]) => Math.max(...xs);
  record({
    id: '2',
    scenario: 'black-hole endpoint and a 5 s slow endpoint',
    checks: 'per-try timeouts move on from stuck hosts (mixed service succeeds); route timeouts end every request to stuck-only services on time; none hangs',
    sent,
    failures: failed,
    p99Ms: quantile(mixed.latencies, 0.99),
    notes: `p99 is the mixed service's; mixed max ${max(mixed.latencies).toFixed(0)} ms (3 × 400 ms per-try); black hole max ${max(holeOnly.latencies).toFixed(0)} ms (1 s); slow max ${max(slowOnly.latencies).toFixed(0)} ms (0.5 s); hung ${mixed.hung + holeOnly.hung + slowOnly.hung}; worst event-loop stall ${stallMs.toFixed(0)} ms`,
  });

  for (const r of all) expect(r.hung, r.failures.join('\n')).toBe(0);
  // Mixed: per-try timeouts and retries on other hosts make requests succeed, and no request
  // waited for the 5 s host or the black hole beyond three per-try timeouts plus back-off.
  // A failure is tolerated only as a timeout (a stall can push the healthy host's reply past
  // its per-try timeout), and only rarely.
  expect(mixedOtherErrors).toEqual([]);
  expect(mixed.failed, mixed.failures.join('\n')).toBeLessThanOrEqual(5);
  expect(mixed.sent).toBe(1_000);
  expect(max(mixed.latencies)).toBeLessThan(3 * 400 + 100 + SLACK_MS);
  // Stuck-only services: every request ends with a timeout error, bounded by the route timeout.
  expect(holeOnly.failed, holeOnly.failures.join('\n')).toBe(0);
  expect(slowOnly.failed, slowOnly.failures.join('\n')).toBe(0);
  expect(holeOnly.sent + slowOnly.sent).toBe(160);
  expect(max(holeOnly.latencies)).toBeLessThan(1_000 + SLACK_MS);
  // It really waited: three per-try timeouts, or the route timeout, whichever came first.
  expect(Math.min(...holeOnly.latencies)).toBeGreaterThanOrEqual(3 * 300 - 5);
  expect(max(slowOnly.latencies)).toBeLessThan(500 + SLACK_MS);
  expect(Math.min(...slowOnly.latencies)).toBeGreaterThanOrEqual(495);
  expect(timeoutErrors.get('slow:RouteTimeoutError')).toBe(80);
});
