// The Meshlet demo: small services on 127.0.0.1 with Istio YAML beside them (./mesh), and a
// client whose undici requests follow those rules with no control plane and no sidecar.
// Run it with `npm run demo` (`npm run demo -- --mtls` for ISTIO_MUTUAL clients and STRICT servers with
// development certificates). It prints what happened and exits 0 when the mesh behaved as the
// YAML says.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { createMesh, RouteTimeoutError, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { MTLS_CONFIG, setUpMtls, type DemoMtls } from './mtls.ts';

const CONFIG = fileURLToPath(new URL('./mesh', import.meta.url));

interface Backend { name: string; port: number; hits: number; server?: Server | { close(): Promise<void> } }

const backends: Backend[] = [
  { name: 'reviews-v1', port: 18081, hits: 0 },
  { name: 'reviews-v2', port: 18082, hits: 0 },
  { name: 'reviews-v3', port: 18083, hits: 0 },
  { name: 'ratings-a', port: 18091, hits: 0 },
  { name: 'ratings-b', port: 18092, hits: 0 },
  { name: 'ratings-broken', port: 18093, hits: 0 },
  { name: 'details', port: 18061, hits: 0 },
  { name: 'productpage', port: 18071, hits: 0 },
];

export interface DemoResult {
  canary: Record<string, number>;
  jason: Record<string, number>;
  ratings: { sent: number; ok: number; brokenHits: number };
  productpage: { sent: number; timedOut: number; maxMs: number };
  /** With --mtls: the client identity, and who the backends saw calling (SPIFFE ID → requests). */
  mtls?: { client: string; callers: Record<string, number> };
}

async function startBackends(agent: MeshAgent, mtls: DemoMtls | undefined): Promise<void> {
  for (const b of backends) {
    b.hits = 0;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      b.hits++;
      if (b.name === 'ratings-broken') {
        res.statusCode = 503;
        res.end('unavailable');
        return;
      }
      if (b.name === 'productpage') {
        // productpage calls details through the same mesh; details is slowed by a fault.
        request('http://details:9080/details', { dispatcher: agent })
          .then((r) => r.body.text())
          .then((t) => res.end(`productpage + ${t}`), () => res.destroy());
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: b.name }));
    };
    if (mtls) {
      b.server = await mtls.serve(b.port, handler as Parameters<DemoMtls['serve']>[1]);
      continue;
    }
    const server = createServer(handler);
    b.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(b.port, '127.0.0.1', resolve);
    });
  }
}

async function stopBackends(): Promise<void> {
  await Promise.all(backends.map((b) => new Promise<void>((resolve) => {
    const server = b.server;
    b.server = undefined;
    if (!server) return resolve();
    if (!('closeAllConnections' in server)) return void server.close().then(resolve);
    server.closeAllConnections();
    server.close(() => resolve());
  })));
}

async function call(agent: MeshAgent, url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { dispatcher: agent, headers });
  const text = await res.body.text();
  return { status: res.statusCode, from: res.statusCode === 200 && text.startsWith('{') ? (JSON.parse(text) as { from: string }).from : text };
}

export async function runDemo(opts: { quiet?: boolean; mtls?: boolean } = {}): Promise<DemoResult> {
  const mtls = opts.mtls ? await setUpMtls() : undefined;
  const mesh: Mesh = await createMesh({ config: mtls ? [CONFIG, MTLS_CONFIG] : CONFIG, namespace: 'default', watch: false, ...(mtls && { certs: mtls.clientCerts }) });
  const agent = new MeshAgent({ mesh });
  await startBackends(agent, mtls);
  try {
    const canary: Record<string, number> = {};
    for (let i = 0; i < 500; i++) {
      const r = await call(agent, 'http://reviews:9080/reviews/1');
      canary[r.from] = (canary[r.from] ?? 0) + 1;
    }
    const jason: Record<string, number> = {};
    for (let i = 0; i < 50; i++) {
      const r = await call(agent, 'http://reviews:9080/reviews/1', { 'end-user': 'jason' });
      jason[r.from] = (jason[r.from] ?? 0) + 1;
    }
    const ratingsSent = 300;
    let ratingsOk = 0;
    for (let i = 0; i < ratingsSent; i++) if ((await call(agent, 'http://ratings:9080/ratings/1')).status === 200) ratingsOk++;
    const brokenHits = backends.find((b) => b.name === 'ratings-broken')!.hits;

    let timedOut = 0;
    let maxMs = 0;
    const pageSent = 5;
    await Promise.all(Array.from({ length: pageSent }, async () => {
      const t0 = performance.now();
      try {
        await call(agent, 'http://productpage:9080/');
      } catch (err) {
        if (err instanceof RouteTimeoutError) timedOut++;
        else throw err;
      }
      maxMs = Math.max(maxMs, performance.now() - t0);
    }));
    const result: DemoResult = { canary, jason, ratings: { sent: ratingsSent, ok: ratingsOk, brokenHits }, productpage: { sent: pageSent, timedOut, maxMs: Math.round(maxMs) } };
    if (mtls) result.mtls = { client: mtls.clientIdentity, callers: Object.fromEntries(mtls.callers) };
    if (!opts.quiet) printTable(result);
    return result;
  } finally {
    await stopBackends();
    await agent.destroy();
    await mesh.close();
    await mtls?.close();
  }
}

function pct(n: number, total: number): string {
  return `${((100 * n) / total).toFixed(1)}%`;
}

function printTable(r: DemoResult): void {
  const rows: [string, string, string][] = [];
  const canaryTotal = Object.values(r.canary).reduce((a, b) => a + b, 0);
  Object.entries(r.canary).sort().forEach(([k, v], i) => rows.push([i === 0 ? 'canary split 80/20 (reviews)' : '', k, `${v} (${pct(v, canaryTotal)})`]));
  for (const [k, v] of Object.entries(r.jason)) rows.push(['header end-user: jason', k, `${v} of 50`]);
  rows.push(['retries over a broken endpoint', 'ratings 200 OK', `${r.ratings.ok} of ${r.ratings.sent}`]);
  rows.push(['', 'attempts that hit the broken one', `${r.ratings.brokenHits} (each retried elsewhere)`]);
  rows.push(['2 s delay injected on details', 'productpage timed out (0.5 s)', `${r.productpage.timedOut} of ${r.productpage.sent}, slowest ${r.productpage.maxMs} ms`]);
  if (r.mtls) {
    Object.entries(r.mtls.callers).forEach(([who, n], i) => rows.push([i === 0 ? 'mTLS: callers the backends verified' : '', who, `${n} requests`]));
  }
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  process.stdout.write(`\nMeshlet demo: Istio rules from ${CONFIG}, no control plane, no sidecar\n\n`);
  for (const [a, b, c] of rows) process.stdout.write(`  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}\n`);
  process.stdout.write('\n');
}

/** What the YAML promises; the demo fails if the mesh did something else. */
export function checkDemo(r: DemoResult): string[] {
  const problems: string[] = [];
  const v1 = r.canary['reviews-v1'] ?? 0;
  const v3 = r.canary['reviews-v3'] ?? 0;
  if (v1 + v3 !== 500) problems.push(`canary: ${500 - v1 - v3} requests went outside v1/v3`);
  // Binomial(500, 0.2): sd ≈ 8.9; ±7 sd.
  if (Math.abs(v3 - 100) > 63) problems.push(`canary: v3 got ${v3} of 500, expected about 100`);
  if (r.jason['reviews-v2'] !== 50) problems.push(`header route: jason reached ${JSON.stringify(r.jason)}`);
  if (r.ratings.ok !== r.ratings.sent) problems.push(`retries: ${r.ratings.sent - r.ratings.ok} ratings requests failed`);
  if (r.ratings.brokenHits === 0) problems.push('retries: the broken endpoint was never tried');
  if (r.productpage.timedOut !== r.productpage.sent) problems.push(`timeout: only ${r.productpage.timedOut} of ${r.productpage.sent} productpage calls timed out`);
  if (r.mtls) {
    const others = Object.keys(r.mtls.callers).filter((who) => who !== r.mtls!.client);
    if (others.length) problems.push(`mTLS: backends were called by ${others.join(', ')}, not only ${r.mtls.client}`);
    if (!r.mtls.callers[r.mtls.client]) problems.push('mTLS: no backend saw the client identity');
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runDemo({ mtls: process.argv.includes('--mtls') });
  const problems = checkDemo(result);
  for (const p of problems) process.stderr.write(`demo: ${p}\n`);
  process.exitCode = problems.length ? 1 : 0;
}
