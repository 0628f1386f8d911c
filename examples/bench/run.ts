// `pnpm bench`: every benchmark in one run, loopback only, bounded in time (about 15 minutes by
// default; BENCH_QUICK=1 for a ~2 minute smoke run). Writes docs/benchmarks.md, the chart
// docs/benchmarks.svg and the raw numbers docs/benchmarks.json.
//
//   1. HTTP:  plain undici · Meshlet · Meshlet mTLS · Meshlet mTLS over HTTP/2 (h2UpgradePolicy)
//             · undici with the same mTLS by hand ·
//             client → HAProxy → mTLS → HAProxy → server
//      young processes: the first 1,000 requests of a fresh client, one at a time
//      node:http: a keep-alive http.Agent · MeshHttpAgent (fewer rounds, one rate: kept cheap)
//   2. gRPC:  plain grpc-js · grpc-js-xds via meshlet xds · Meshlet mesh:/// · HAProxy pair (h2)
//   3. config scale: 1k/10k services, 100k endpoints; one endpoint change; 1,000-route matching
//   4. import time of each package and of @grpc/grpc-js-xds; start-up of the embedded HTTP path
//      and of the xDS path
//
// Every ratio in the report compares numbers taken in this run, rows interleaved.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCerts, type BenchCerts } from './openssl-certs.ts';
import { findHaproxy, startProxyPair, type ProxyPair } from './haproxy-pair.ts';
import { startUpstream, startXds, writeMeshConfig, GRPC_FQDN, MESH_GRPC_PORT, type XdsControlPlane } from './fixtures.ts';
import { runSuite, runYoungSuite, type RowSpec } from './latency-suite.ts';
import { PAYLOADS } from './payloads.ts';
import { runConfigScale } from './config-scale-runner.ts';
import { measureImports } from './import-time.ts';
import { MTLS_BY_HAND, MTLS_H2, writeReport, type BenchReport } from './report.ts';

const QUICK = process.env['BENCH_QUICK'] === '1';
const GRPC_RATES = [250, 1000];
const ONLY = new Set((process.env['BENCH_ONLY'] ?? 'http,young,nodehttp,grpc,scale,import').split(','));
// Short runs of a few rows while working on one target (never for the published report):
//   BENCH_ONLY=http BENCH_ROWS=bare,MeshAgent BENCH_ROUNDS=5 BENCH_OPEN=0 BENCH_OUT=/tmp/b pnpm bench
// BENCH_ROWS keeps the rows whose name contains one of the comma-separated words, or is exactly
// a word written with a leading '=' (the first, bare row of each section is always kept: every
// ratio is against it); BENCH_OPEN=0 leaves out
// the open-loop latency runs; BENCH_ROUNDS sets every section's rounds; BENCH_PAYLOADS=16k (or small)
// keeps one message size.
// BENCH_PROCESSES=n: n fresh client processes per row and round, taking turns block by block
// (latency-suite.ts says why; default 1). Neither on a loaded machine (two) nor on a quiet one
// (two, three) did it narrow the A/A spread (docs/benchmarks.md, "spread between processes"),
// so the default stays at one.
// BENCH_AA=1 adds to the HTTP and young-process sections a second, independent copy of the bare
// row and of MeshAgent (named "A/A copy: ..."), whose figures against their originals' are the
// harness's own noise floor.
const ROWS = process.env['BENCH_ROWS']?.split(',').filter(Boolean);
const ROUNDS = process.env['BENCH_ROUNDS'] ? Number(process.env['BENCH_ROUNDS']) : undefined;
const OPEN = process.env['BENCH_OPEN'] !== '0';
const PROCESSES = process.env['BENCH_PROCESSES'] ? Number(process.env['BENCH_PROCESSES']) : 1;
const AA = process.env['BENCH_AA'] === '1';
/** With BENCH_AA=1: the rows, then a copy of the bare row and of MeshAgent, each its own client. */
const withAA = (rows: RowSpec[]): RowSpec[] => (AA ? [...rows, ...rows.filter((r, i) => r.skip === undefined && (i === 0 || r.name === 'Meshlet MeshAgent')).map((r) => ({ ...r, name: `A/A copy: ${r.name.replace(' (bare client)', '')}` }))] : rows);
const pick = (rows: RowSpec[]): RowSpec[] => (ROWS ? rows.filter((r, i) => i === 0 || ROWS.some((w) => (w.startsWith('=') ? r.name === w.slice(1) : r.name.includes(w)))) : rows);
const YOUNG_REQUESTS = 1000;
const NODE_HTTP_RATES = [500];
const REPO = fileURLToPath(new URL('../../', import.meta.url));

const log = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-'));
  const cleanups: (() => void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`,
    settings: { quick: QUICK },
    http: undefined, young: undefined, nodeHttp: undefined, grpc: undefined, scale: undefined, imports: undefined, notes: [],
  };
  const suite = {
    payloads: process.env['BENCH_PAYLOADS'] ? PAYLOADS.filter((p) => process.env['BENCH_PAYLOADS']!.split(',').includes(p)) : PAYLOADS,
    rates: OPEN ? [500, 1500] : [],
    openSeconds: QUICK ? 2 : 4,
    closedSeconds: QUICK ? 1.5 : 3,
    sliceSeconds: 0.1,
    concurrency: 32,
    rounds: ROUNDS ?? (QUICK ? 1 : 5),
    processes: PROCESSES,
    log,
  };
  report.settings = { ...suite, log: undefined, quick: QUICK, grpcRates: GRPC_RATES, nodeHttpRates: NODE_HTTP_RATES, youngRequests: YOUNG_REQUESTS };
  // A section that throws is noted in the report, and the run goes on to the next one and
  // writes what it has: a bad row or section never costs the whole run.
  const section = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (err) {
      const line = `${name} section failed: ${(err as Error).stack?.split('\n').slice(0, 2).join(' ') ?? String(err)}`;
      log(line);
      report.notes.push(line);
      return undefined;
    }
  };
  try {
    let certs: BenchCerts | undefined;
    try {
      certs = makeCerts(join(dir, 'certs'));
    } catch (err) {
      report.notes.push(`mTLS rows skipped: openssl failed (${(err as Error).message.split('\n')[0]})`);
    }
    const upstream = await startUpstream(certs);
    cleanups.push(() => upstream.stop());
    const meshDir = join(dir, 'mesh');
    (await import('node:fs')).mkdirSync(meshDir);
    writeMeshConfig(meshDir, upstream.ports, certs?.serverSpiffeId);

    const haproxy = certs ? findHaproxy(log) : { skip: 'no certificates (openssl failed)' };
    let proxies: ProxyPair | undefined;
    let proxySkip: string | undefined;
    if (typeof haproxy === 'string') {
      try {
        proxies = await startProxyPair(haproxy, certs!, upstream.ports, dir);
        cleanups.push(() => proxies!.stop());
      } catch (err) {
        proxySkip = `HAProxy did not start: ${(err as Error).message.split('\n')[0]}`;
      }
    } else {
      proxySkip = haproxy.skip;
    }
    if (proxySkip) log(`sidecar rows skipped: ${proxySkip}`);

    if (ONLY.has('http')) {
      log('\n== HTTP ==');
      const rows: RowSpec[] = [
        { name: 'undici Agent (bare client)', client: { kind: 'undici', address: `http://127.0.0.1:${upstream.ports.http}` } },
        { name: 'Meshlet MeshAgent', client: { kind: 'meshlet', meshConfig: meshDir, target: 'http://bench:80' } },
        certs
          ? { name: 'Meshlet MeshAgent, mTLS', client: { kind: 'meshlet-mtls', meshConfig: meshDir, meshCerts: certs.meshletCertDir, target: 'http://bench-tls:80' } }
          : { name: 'Meshlet MeshAgent, mTLS', client: { kind: 'meshlet-mtls' }, skip: 'no certificates' },
        certs && upstream.ports.h2s !== undefined
          ? { name: MTLS_H2, client: { kind: 'meshlet-mtls', meshConfig: meshDir, meshCerts: certs.meshletCertDir, target: 'http://bench-h2:80' } }
          : { name: MTLS_H2, client: { kind: 'meshlet-mtls' }, skip: 'no certificates' },
        certs && upstream.ports.https !== undefined
          ? { name: MTLS_BY_HAND, client: { kind: 'undici-mtls', address: `https://127.0.0.1:${upstream.ports.https}`, meshCerts: certs.meshletCertDir, serverSpiffeId: certs.serverSpiffeId } }
          : { name: MTLS_BY_HAND, client: { kind: 'undici-mtls' }, skip: 'no certificates' },
        proxies
          ? { name: 'undici → HAProxy → mTLS → HAProxy', client: { kind: 'sidecars', address: `http://127.0.0.1:${proxies.httpPort}` }, extraPids: proxies.pids }
          : { name: 'undici → HAProxy → mTLS → HAProxy', client: { kind: 'sidecars' }, skip: proxySkip! },
      ];
      report.http = await section('HTTP', () => runSuite(withAA(pick(rows)), { ...suite, upstreamPid: upstream.pid }));
    }

    if (ONLY.has('young')) {
      log('\n== HTTP, young processes ==');
      const rows: RowSpec[] = [
        { name: 'undici Agent (bare client)', client: { kind: 'undici', address: `http://127.0.0.1:${upstream.ports.http}` } },
        { name: 'Meshlet MeshAgent', client: { kind: 'meshlet', meshConfig: meshDir, target: 'http://bench:80' } },
        proxies
          ? { name: 'undici → HAProxy → mTLS → HAProxy', client: { kind: 'sidecars', address: `http://127.0.0.1:${proxies.httpPort}` } }
          : { name: 'undici → HAProxy → mTLS → HAProxy', client: { kind: 'sidecars' }, skip: proxySkip! },
      ];
      report.young = await section('young processes', () => runYoungSuite(withAA(pick(rows)), { rounds: ROUNDS ?? (QUICK ? 2 : 7), requests: YOUNG_REQUESTS, log }));
    }

    if (ONLY.has('nodehttp')) {
      log('\n== HTTP, node:http clients ==');
      const rows: RowSpec[] = [
        { name: 'http.Agent, keep-alive (bare client)', client: { kind: 'node-http', address: `http://127.0.0.1:${upstream.ports.http}` } },
        { name: 'Meshlet MeshHttpAgent', client: { kind: 'meshlet-node-http', meshConfig: meshDir, target: 'http://bench:80' } },
      ];
      report.nodeHttp = await section('node:http', () => runSuite(pick(rows), { ...suite, rates: OPEN ? NODE_HTTP_RATES : [], rounds: ROUNDS ?? (QUICK ? 1 : 3), upstreamPid: upstream.pid }));
    }

    // One `meshlet xds` for the gRPC rows and the import section's xDS path.
    let xdsStarted: XdsControlPlane | { skip: string } | undefined;
    const controlPlane = async (): Promise<XdsControlPlane | { skip: string }> => {
      if (xdsStarted) return xdsStarted;
      const started = xdsStarted = await startXds(REPO, meshDir, dir);
      if ('stop' in started) cleanups.push(() => started.stop());
      return started;
    };

    if (ONLY.has('grpc')) {
      log('\n== gRPC ==');
      const xds = await controlPlane();
      if (!('stop' in xds)) log(`xDS rows skipped: ${xds.skip}`);
      const target = `${GRPC_FQDN}:${MESH_GRPC_PORT}`;
      const rows: RowSpec[] = [
        { name: 'grpc-js (bare client)', client: { kind: 'grpc-js', address: `127.0.0.1:${upstream.ports.grpc}` } },
        'stop' in xds
          ? { name: '@grpc/grpc-js-xds via meshlet xds', client: { kind: 'grpc-js-xds', bootstrap: xds.bootstrap, target: `xds:///${target}` } }
          : { name: '@grpc/grpc-js-xds via meshlet xds', client: { kind: 'grpc-js-xds' }, skip: xds.skip },
        'stop' in xds
          ? { name: 'Meshlet mesh:/// (xDS from meshlet xds)', client: { kind: 'meshlet-grpc', bootstrap: xds.bootstrap, target: `mesh:///${target}` } }
          : { name: 'Meshlet mesh:/// (xDS from meshlet xds)', client: { kind: 'meshlet-grpc' }, skip: xds.skip },
        proxies
          ? { name: 'grpc-js → HAProxy → mTLS → HAProxy (h2)', client: { kind: 'grpc-sidecars', address: `127.0.0.1:${proxies.grpcPort}` }, extraPids: proxies.pids }
          : { name: 'grpc-js → HAProxy → mTLS → HAProxy (h2)', client: { kind: 'grpc-sidecars' }, skip: proxySkip! },
      ];
      // Lower rates than HTTP: unary gRPC costs more per call, and at 2000/s with 16 KiB the
      // proxy pair is past its capacity on this machine, which would measure queueing only.
      report.grpc = await section('gRPC', () => runSuite(pick(rows), { ...suite, rates: OPEN ? GRPC_RATES : [], upstreamPid: upstream.pid }));
    }

    if (ONLY.has('scale')) {
      log('\n== config scale ==');
      report.scale = await section('config scale', () => runConfigScale(QUICK, log));
    }
    if (ONLY.has('import')) {
      log('\n== import time ==');
      const xds = await controlPlane();
      if (!('stop' in xds)) log(`xDS path left out: ${xds.skip}`);
      report.imports = await section('import time', async () => measureImports(REPO, QUICK ? 3 : 7, log, { meshDir, ...('stop' in xds && { bootstrap: xds.bootstrap }) }));
    }
  } finally {
    for (const c of cleanups.reverse()) {
      try { c(); } catch { /* best effort */ }
    }
  }
  report.elapsedSeconds = (Date.now() - started) / 1000;
  const files = writeReport(REPO, report, process.env['BENCH_OUT']);
  log(`\nwrote ${files.join(', ')} in ${report.elapsedSeconds.toFixed(0)} s`);
}

await main();
