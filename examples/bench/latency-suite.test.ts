// The benchmark harness survives a bad row: a client that cannot set up, and one that dies in
// the middle of a round, are reported with their reasons while the other rows are measured and
// the report is still written. (A run once crashed after 17 minutes with nothing written: a
// setup failure made the suite message a child that had already exited, and the unhandled
// EPIPE ended the process.)

import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSuite, runYoungSuite, type RowSpec } from './latency-suite.ts';
import { writeReport, type BenchReport } from './report.ts';

let server: Server;
let base = '';
let closedPort = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(req.url === '/16k' ? Buffer.alloc(16 * 1024) : 'hello, bench!'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // A port nothing listens on: bind one, note it, close it.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe('runSuite with rows that fail', () => {
  it('reports a setup failure as skipped and a mid-run death as failed, measures the rest, and writes the report', async () => {
    const rows: RowSpec[] = [
      { name: 'healthy', client: { kind: 'undici', address: base } },
      { name: 'cannot set up', client: { kind: 'undici', address: `http://127.0.0.1:${closedPort}` } },
      // Answers four load commands (round 1's two open-loop slices of 'small' and its two
      // closed-loop slices), then exits on the first open-loop slice of '16k'.
      { name: 'dies mid-run', client: { kind: 'undici', address: base, exitAfterCommands: 4 } },
      // Exits after its first closed-loop slice, while the rows take turns.
      { name: 'dies between slices', client: { kind: 'undici', address: base, exitAfterCommands: 3 } },
    ];
    const log: string[] = [];
    const results = await runSuite(rows, {
      payloads: ['small', '16k'],
      rates: [50],
      openSeconds: 0.2,
      closedSeconds: 0.2,
      concurrency: 4,
      rounds: 2,
      upstreamPid: process.pid,
      log: (s) => log.push(s),
    });

    const [healthy, setup, dies, diesSliced] = results;
    expect(healthy!.skipped).toBeUndefined();
    expect(healthy!.failures).toBeUndefined();
    expect(healthy!.throughput['small']).toBeGreaterThan(0);
    expect(healthy!.throughput['16k']).toBeGreaterThan(0);
    // Its open loop at 50/s ran in two slices a round (0.1 s each, the rows taking turns), and
    // its percentiles are over the answers of both.
    expect(log.filter((l) => /^ {2}healthy +small +@ +50\/s {2}p50 [\d.]+ {2}p99 [\d.]+ ms \(2 slices\)$/.test(l))).toHaveLength(2);
    expect(healthy!.latency['small']![50]!.p50).toBeGreaterThan(0);
    expect(healthy!.latency['small']![50]!.errors).toBe(0);

    expect(setup!.skipped).toMatch(/undici: .*(ECONNREFUSED|connect)/i);
    expect(setup!.throughput).toEqual({});

    // It measured 'small' in round 1, then died on the next command: failed, with its reason,
    // and its measurements kept.
    expect(dies!.skipped).toBeUndefined();
    expect(dies!.failures).toHaveLength(1);
    expect(dies!.failures![0]).toMatch(/^round 1: 16k @50\/s: client process (exited|unreachable|error)/);
    expect(dies!.throughput['small']).toBeGreaterThan(0);
    expect(log.some((l) => l.includes('dies mid-run: failed in round 1'))).toBe(true);

    // Its one slice is not taken for a throughput; the other rows' slices go on without it.
    expect(diesSliced!.failures).toHaveLength(1);
    expect(diesSliced!.failures![0]).toMatch(/^round 1: small closed loop: client process (exited|unreachable|error)/);
    expect(diesSliced!.throughput['small']).toBeNaN();
    // Each live row drove every slice of both rounds: two slices of 'small' per round.
    expect(healthy!.throughputSlices!['small']!.map((s) => s.length)).toEqual([2, 2]);
    // Each round's profile of those slices: the machine's CPU split into steal, idle, other
    // processes and the row's own (client and upstream, here this test's process), which add up
    // to the machine's capacity over the slices, give or take /proc/stat's 10 ms ticks; the
    // client's GC share and CPU per request, from the client process.
    for (const p of healthy!.closedProfiles!['small']!) {
      expect(p!.seconds).toBeGreaterThan(0.15);
      for (const share of [p!.steal, p!.idle, p!.others, p!.row]) expect(share).toBeGreaterThanOrEqual(0);
      expect(p!.row).toBeGreaterThan(0);
      expect(p!.steal + p!.idle + p!.others + p!.row).toBeGreaterThan(0.6);
      expect(p!.steal + p!.idle + p!.others + p!.row).toBeLessThan(1.4);
      expect(p!.clientGc).toBeGreaterThanOrEqual(0);
      expect(p!.clientGc).toBeLessThan(1);
      expect(p!.clientCpuUsPerRequest).toBeGreaterThan(0);
    }
    expect(diesSliced!.closedProfiles!['small']).toEqual([null, null]);

    const out = mkdtempSync(join(tmpdir(), 'meshlet-bench-report-'));
    try {
      const report: BenchReport = {
        date: new Date().toISOString(), machine: 'test', settings: { rates: [50] },
        http: results, grpc: undefined, scale: undefined, imports: undefined, notes: [],
      };
      writeReport(out, report, out);
      const md = readFileSync(join(out, 'benchmarks.md'), 'utf8');
      expect(md).toContain('| cannot set up | skipped: ');
      expect(md).toMatch(/\| dies mid-run \(\*\*failed\*\*: round 1: 16k @50\/s: client process/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 90_000);

  it('with two processes per row and round, the blocks alternate between them and a process that dies fails its row', async () => {
    const log: string[] = [];
    const results = await runSuite([
      { name: 'healthy', client: { kind: 'undici', address: base } },
      // Its first process exits after answering its first slice.
      { name: 'one process dies', client: { kind: 'undici', address: base, exitAfterCommands: 1 } },
    ], { payloads: ['small'], rates: [], openSeconds: 0, closedSeconds: 0.4, concurrency: 4, rounds: 2, processes: 2, upstreamPid: process.pid, log: (s) => log.push(s) });
    const [healthy, dies] = results;
    // Four slices a round (two blocks, one per process), the same driving time as one process.
    expect(healthy!.throughputSlices!['small']!.map((s) => s.length)).toEqual([4, 4]);
    for (const p of healthy!.closedProfiles!['small']!) {
      // Both processes answered requests in every round: each has its own CPU per request.
      expect(p!.clientCpuUsPerRequestByProcess).toHaveLength(2);
      for (const us of p!.clientCpuUsPerRequestByProcess!) expect(us).toBeGreaterThan(0);
    }
    expect(dies!.failures).toHaveLength(1);
    expect(dies!.failures![0]).toMatch(/^round 1: small closed loop: client process (exited|unreachable|error)/);
  }, 90_000);

  it('young processes: rows take turns in blocks, each process sends exactly its first requests, a row that cannot set up is reported', async () => {
    const log: string[] = [];
    const results = await runYoungSuite([
      { name: 'bare', client: { kind: 'undici', address: base } },
      { name: 'cannot set up', client: { kind: 'undici', address: `http://127.0.0.1:${closedPort}` } },
      { name: 'again', client: { kind: 'undici', address: base } },
    ], { rounds: 2, requests: 25, block: 10, log: (s) => log.push(s) });
    const [bare, setup, again] = results;
    for (const r of [bare!, again!]) {
      expect(r.skipped).toBeUndefined();
      expect(r.rounds.map((x) => x.requests)).toEqual([25, 25]);
      expect(r.p50).toBeGreaterThan(0);
    }
    expect(setup!.skipped).toMatch(/round 1: undici: .*(ECONNREFUSED|connect)/i);
    expect(setup!.rounds).toEqual([]);
  }, 90_000);
});

