// Runs a set of client rows against the same upstream, interleaved: every measurement is taken
// for each row in turn (the order rotating each round), so this noisy two-core machine drifts
// on all rows alike and each ratio compares numbers from the same minutes.
//
// Every round starts fresh processes per row: a process can settle early into a state that
// lasts (V8 pretenuring the allocation sites of a request's objects turned a client's scavenges
// from ~1 ms into 12–19 ms for the rest of its life), so the median over rounds must be a median
// over processes, not repeated samples of one. Two processes of the very same client differ by
// as much as a round's target allows (an A/A run, docs/benchmarks.md), so with `processes` > 1
// each row's round is formed from that many fresh processes taking turns block by block, the same
// driving time in all: a round's figure is then no longer one process's luck, for every row alike.
//
// Per row and payload: p50/p90/p99 at each fixed rate (open loop), the highest sustained
// throughput (closed loop), CPU seconds per 10k requests summed over the client, the upstream
// and the proxies at the highest fixed rate, and resident memory of the client and proxies.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientSpec, Command } from './client-process.ts';
import { quantile, STALL_MS, STRAGGLER_MS, summarizeSequential, type ClosedLoopResult, type OpenLoopResult, type SequentialResult } from './load-loops.ts';
import type { Payload } from './payloads.ts';
import { cpus } from 'node:os';
import { cpuMeter, cpuSeconds, machineCpu, rssMiB, waitQuiet, type MachineCpu } from './proc-stats.ts';

export interface RowSpec {
  name: string;
  client: ClientSpec;
  /** Processes besides the client and upstream that carry this row's traffic (the proxies). */
  extraPids?: readonly number[];
  /** Set when the row cannot run; it is reported with this reason. */
  skip?: string;
}

export interface SuiteOptions {
  payloads: readonly Payload[];
  rates: readonly number[];
  openSeconds: number;
  /** Closed-loop driving time per row and payload, in slices of about sliceSeconds (default 0.1). */
  closedSeconds: number;
  sliceSeconds?: number;
  concurrency: number;
  rounds: number;
  /**
   * Fresh client processes per row and round (default 1). The row's closed-loop blocks go to
   * them in turn and its open-loop runs likewise, so the round's figures are over all of them.
   */
  processes?: number;
  upstreamPid: number;
  log: (s: string) => void;
}

export interface RowResult {
  name: string;
  /** The row never produced a measurement; why. */
  skipped?: string;
  /** Rounds in which the row's client died or failed to set up after measuring in an earlier round, and why. */
  failures?: string[];
  /** payload → rate → percentiles (medians over rounds). */
  latency: Record<string, Record<number, { p50: number; p90: number; p99: number; errors: number; shed: number }>>;
  /** payload → requests/s (median over rounds). */
  throughput: Record<string, number>;
  /** payload → requests/s in each round, in round order (NaN for a round the row missed). */
  throughputRounds?: Record<string, number[]>;
  /**
   * payload → round → why the row's closed loop stalled in that round (requests unanswered and
   * aborted, failed, or answered after more than STALL_MS), or null when it ran clean. A stalled
   * round measured a broken run, not the row's speed: its rate is left out of the medians and
   * ratios, and the report names it.
   */
  closedStalls?: Record<string, (string | null)[]>;
  /** payload → round → the requests/s of each of the row's closed-loop slices, in order. */
  throughputSlices?: Record<string, number[][]>;
  /**
   * payload → round → client CPU µs per request over the round's closed-loop slices. Unlike
   * requests/s it hardly depends on how much of the machine the client got, so on a busy machine
   * it shows the client's own cost where the rates are noise.
   */
  cpuUsPerRequestRounds?: Record<string, number[]>;
  /**
   * payload → round → what the machine and the client did during the row's closed-loop slices
   * (null for a round the row missed): what explains a bad round (report.ts prints it beside a
   * good one).
   */
  closedProfiles?: Record<string, (RoundProfile | null)[]>;
  /** payload → CPU seconds per 10k requests at the highest rate: total, and the client's share. */
  cpuPer10k: Record<string, { total: number; client: number; proxies: number }>;
  clientRssMiB: number;
  proxyRssMiB: number | undefined;
}

/**
 * One row's closed-loop slices of one round, summed: shares of the machine's CPU capacity (cores
 * × the slices' wall time) and of the client's time. On this shared VM a round goes bad for every
 * row at once when the hypervisor or other tenants take the CPU: steal and other processes' CPU
 * say so, and idle says the machine had room. The client's GC share and CPU per request say
 * whether the client itself did more work in that round.
 */
export interface RoundProfile {
  /** Wall time of the row's slices, summed (s). */
  seconds: number;
  /** CPU the hypervisor took from this VM (/proc/stat steal). */
  steal: number;
  /** Idle CPU (idle + iowait). */
  idle: number;
  /** CPU run by every process but the row's client, upstream and proxies (the run's parent included). */
  others: number;
  /** CPU of the row's client, upstream and proxies. */
  row: number;
  /** The client's GC pauses over the slices' wall time. */
  clientGc: number;
  /** The client's CPU µs per answered request. */
  clientCpuUsPerRequest: number;
  /** The same, for each of the row's client processes of the round in turn (SuiteOptions.processes). */
  clientCpuUsPerRequestByProcess?: number[];
}

/** Collects a row's profile over its slices of a round. */
export class ProfileMeter {
  readonly #cores = cpus().length;
  #seconds = 0;
  #steal = 0;
  #idle = 0;
  #busy = 0;
  #rowCpu = 0;
  #gcMs = 0;
  #clientCpu = 0;
  #answered = 0;
  /** By client process (its index among the row's processes of the round): CPU s and answers. */
  readonly #byProcess: [number, number][] = [];
  #m0: MachineCpu | undefined;
  #p0 = 0;
  #t0 = 0;

  /** Call right before a slice, with the pids of the row's processes (client, upstream, proxies). */
  start(pids: readonly number[]): void {
    this.#p0 = sumCpu(pids);
    this.#m0 = machineCpu();
    this.#t0 = performance.now();
  }

  /** Call right after it, with the same pids and the client's own figures for the slice. */
  stop(pids: readonly number[], client: { gcMs?: number; cpu: number; answered: number }, process = 0): void {
    const t = performance.now(), m = machineCpu(), p = sumCpu(pids), m0 = this.#m0!;
    this.#seconds += (t - this.#t0) / 1000;
    this.#steal += m.steal - m0.steal;
    this.#idle += m.idle - m0.idle;
    this.#busy += m.busy - m0.busy;
    this.#rowCpu += p - this.#p0;
    this.#gcMs += client.gcMs ?? NaN;
    this.#clientCpu += client.cpu;
    this.#answered += client.answered;
    const own = (this.#byProcess[process] ??= [0, 0]);
    own[0] += client.cpu;
    own[1] += client.answered;
  }

  result(): RoundProfile {
    const capacity = this.#cores * this.#seconds;
    return {
      seconds: this.#seconds,
      steal: this.#steal / capacity,
      idle: this.#idle / capacity,
      // /proc/stat counts in 10 ms ticks and the processes' own counters round apart from it:
      // a share a tick below zero is zero.
      others: Math.max(0, this.#busy - this.#rowCpu) / capacity,
      row: this.#rowCpu / capacity,
      clientGc: this.#gcMs / 1000 / this.#seconds,
      clientCpuUsPerRequest: (this.#clientCpu / this.#answered) * 1e6,
      ...(this.#byProcess.length > 1 && { clientCpuUsPerRequestByProcess: Array.from(this.#byProcess, (p) => (p ? (p[0] / p[1]) * 1e6 : NaN)) }),
    };
  }
}

/** CPU seconds of the processes still there (a row's client may have died meanwhile). */
function sumCpu(pids: readonly number[]): number {
  let s = 0;
  for (const pid of pids) {
    try { s += cpuSeconds(pid); } catch { /* gone */ }
  }
  return s;
}

/**
 * One row's client process. It may die at any moment (a crash, a setup that fails and exits),
 * so nothing here throws or emits an unhandled 'error': a message to a dead child is dropped,
 * and every wait ends with { skip: reason } instead of an answer.
 */
class ClientHandle {
  readonly proc: ChildProcess;
  #waiters: ((m: Record<string, unknown>) => void)[] = [];
  #gone: string | undefined;

  constructor(spec: ClientSpec) {
    const script = fileURLToPath(new URL('./client-process.ts', import.meta.url));
    this.proc = fork(script, [JSON.stringify(spec)], { execArgv: ['--conditions=source', '--no-warnings'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m) => this.#waiters.shift()?.(m as Record<string, unknown>));
    // 'error' covers a failed spawn and a send to a child that has already gone (EPIPE): without
    // a listener either one would end the whole benchmark run.
    this.proc.on('error', (err) => this.#end(`client process error: ${err.message}`));
    this.proc.on('exit', (code, signal) => this.#end(`client process exited (${signal ?? code})`));
  }

  #end(reason: string): void {
    this.#gone ??= reason;
    for (const w of this.#waiters.splice(0)) w({ skip: this.#gone });
  }

  #send(message: Command): boolean {
    if (this.#gone !== undefined || !this.proc.connected) return false;
    // With a callback, a failed send is reported there rather than as an 'error' event.
    this.proc.send(message, (err) => { if (err) this.#end(`client process unreachable: ${err.message}`); });
    return true;
  }

  next(timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.#gone !== undefined) return Promise.resolve({ skip: this.#gone });
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve({ skip: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
      this.#waiters.push((m) => { clearTimeout(t); resolve(m); });
    });
  }

  /** The command's result, or the reason there is none. */
  async run(cmd: Command, timeoutMs: number): Promise<{ result: OpenLoopResult & ClosedLoopResult & { gcMs?: number }; rss: number } | { failed: string }> {
    if (!this.#send(cmd)) return { failed: this.#gone ?? 'client process not connected' };
    const m = await this.next(timeoutMs);
    if (!m['result']) return { failed: String(m['skip'] ?? 'no result') };
    // IPC carries JSON: a percentile of a run with no answer at all (NaN) arrives as null.
    const result = Object.fromEntries(Object.entries(m['result'] as Record<string, unknown>).map(([k, v]) => [k, v === null ? NaN : v]));
    return { result: result as unknown as OpenLoopResult & ClosedLoopResult, rss: m['rss'] as number };
  }

  /** Any command's answer ({ result }), or the reason there is none. */
  async ask(cmd: Command, timeoutMs: number): Promise<{ result: Record<string, unknown> } | { failed: string }> {
    if (!this.#send(cmd)) return { failed: this.#gone ?? 'client process not connected' };
    const m = await this.next(timeoutMs);
    return m['result'] ? (m as { result: Record<string, unknown> }) : { failed: String(m['skip'] ?? 'no result') };
  }

  stop(): void {
    this.#send({ op: 'exit' });
    if (this.proc.exitCode === null && this.proc.signalCode === null) setTimeout(() => this.proc.kill('SIGKILL'), 2000).unref();
  }
}

/**
 * Why a round's closed loop is not a measurement of the row's speed, or null. Thirty-two
 * requests in flight on loopback answer in milliseconds; a round in which requests went
 * unanswered, failed, or (1% of them or more) took over STALL_MS measured a stall.
 */
export function closedStall(t: { answered: number; errors: number; unanswered: number; slow: number; maxMs: number; firstError?: string | undefined }): string | null {
  const why: string[] = [];
  if (t.unanswered > 0) why.push(`${t.unanswered} requests unanswered ${STRAGGLER_S} s after their slice`);
  if (t.errors > t.unanswered) why.push(`${t.errors - t.unanswered} errors (${t.firstError ?? 'no message'})`);
  if (t.slow > 0 && t.slow * 100 >= t.answered) why.push(`${t.slow} of ${t.answered} answers took over ${STALL_MS / 1000} s (slowest ${(t.maxMs / 1000).toFixed(1)} s)`);
  return why.length ? why.join('; ') : null;
}

/** How long after a row's open-loop slice the suite waits for its processes to go quiet. */
const QUIET_MAX_MS = 20_000;
/** About how long one open-loop slice of a row runs. */
const OPEN_SLICE_SECONDS = 1;

/** How a row's open loop of `openSeconds` at one rate is cut: an even number of slices, sweeps forward and back. */
export function openLoopSlices(openSeconds: number): { slices: number; seconds: number } {
  const slices = 2 * Math.max(1, Math.round(openSeconds / OPEN_SLICE_SECONDS / 2));
  return { slices, seconds: openSeconds / slices };
}

const STRAGGLER_S = STRAGGLER_MS / 1000;
/**
 * How long a load command may take before its row is given up: the loops bound themselves
 * (STRAGGLER_MS for stragglers, then a bounded abort), and a client aborting thousands of
 * requests on a busy machine needs seconds of its own.
 */
const COMMAND_SLACK_MS = 120_000;

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);

export async function runSuite(rows: readonly RowSpec[], o: SuiteOptions): Promise<RowResult[]> {
  const results: RowResult[] = rows.map((r) => ({ name: r.name, latency: {}, throughput: {}, throughputRounds: {}, closedStalls: {}, throughputSlices: {}, cpuUsPerRequestRounds: {}, closedProfiles: {}, cpuPer10k: {}, clientRssMiB: NaN, proxyRssMiB: undefined, ...(r.skip !== undefined && { skipped: r.skip }) }));
  // A row that fails (its client cannot set up, or dies mid-run) is not tried again: if it
  // measured nothing it is reported as skipped, else as failed in that round, keeping the
  // medians of the rounds it finished. Either way the run goes on and writes its report.
  const dead = new Set<number>();
  const measured = new Set<number>();
  const fail = (i: number, round: number, reason: string) => {
    if (dead.has(i)) return;
    dead.add(i);
    if (measured.has(i)) (results[i]!.failures ??= []).push(`round ${round + 1}: ${reason}`);
    else results[i]!.skipped = reason;
    o.log(`  ${rows[i]!.name}: ${measured.has(i) ? `failed in round ${round + 1}` : 'skipped'} — ${reason}`);
  };
  const processes = Math.max(1, o.processes ?? 1);
  // Each live row's client processes of a round; a row is in the map only if all of them set up.
  const startClients = async (round: number): Promise<Map<number, ClientHandle[]>> => {
    const handles = new Map<number, ClientHandle[]>();
    await Promise.all(rows.map(async (row, i) => {
      if (row.skip !== undefined || dead.has(i)) return;
      const hs = Array.from({ length: processes }, () => new ClientHandle(row.client));
      const answers = await Promise.all(hs.map((h) => h.next(120_000)));
      const bad = answers.find((m) => !m['ready']);
      if (!bad) { handles.set(i, hs); return; }
      fail(i, round, String(bad['skip']));
      for (const h of hs) h.stop();
    }));
    return handles;
  };
  for (const [i, r] of results.entries()) if (r.skipped) o.log(`  ${rows[i]!.name}: skipped — ${r.skipped}`);

  const samples = new Map<string, number[]>();
  const add = (key: string, v: number) => { const l = samples.get(key) ?? []; l.push(v); samples.set(key, l); };
  const topRate = Math.max(...o.rates);

  // Highest throughput, in slices: the rows' closed loops take turns of `sliceSeconds`, one
  // process driving load at a time while the others idle, in sweeps that go forward then back
  // (A B C, C B A, A B C ...), until each row has driven for `closedSeconds`. A slow patch of the
  // machine then falls on the rows of a round alike instead of on whichever row ran in it. A
  // row's rate is its requests over its own driving time, summed over its slices; each pair of
  // sweeps (a block, ABCCBA) is one paired comparison of the rows, free of linear drift, and
  // report.ts takes a round's ratio as the median over its blocks.
  // With several processes per row, block b (sweeps 2b and 2b+1) goes to each row's process
  // b mod processes: as many blocks for each, the row's driving time unchanged.
  const slicesPerRow = 2 * processes * Math.max(1, Math.round(o.closedSeconds / (o.sliceSeconds ?? 0.1) / (2 * processes)));
  const sliceSeconds = o.closedSeconds / slicesPerRow;
  const closedLoopSliced = async (handles: Map<number, ClientHandle[]>, order: number[], payload: Payload, round: number) => {
    const tally = new Map<number, { ok: number; seconds: number; answered: number; cpu: number; errors: number; unanswered: number; slow: number; maxMs: number; firstError?: string; slices: number[]; profile: ProfileMeter }>();
    for (let sweep = 0; sweep < slicesPerRow; sweep++) {
      const sweepOrder = sweep % 2 === 0 ? order : [...order].reverse();
      const proc = Math.floor(sweep / 2) % processes;
      for (const i of sweepOrder) {
        if (dead.has(i)) continue;
        const h = handles.get(i)![proc]!;
        const t = tally.get(i) ?? { ok: 0, seconds: 0, answered: 0, cpu: 0, errors: 0, unanswered: 0, slow: 0, maxMs: 0, slices: [], profile: new ProfileMeter() };
        const pids = [...(h.proc.pid !== undefined ? [h.proc.pid] : []), o.upstreamPid, ...(rows[i]!.extraPids ?? [])];
        t.profile.start(pids);
        const r = await h.run({ op: 'closed', payload, concurrency: o.concurrency, seconds: sliceSeconds }, sliceSeconds * 1000 + COMMAND_SLACK_MS);
        if ('failed' in r) { fail(i, round, `${payload} closed loop: ${r.failed}`); tally.delete(i); continue; }
        t.profile.stop(pids, r.result, proc);
        measured.add(i);
        t.ok += r.result.ok; t.seconds += r.result.seconds; t.answered += r.result.answered; t.cpu += r.result.cpu; t.errors += r.result.errors; t.firstError ??= r.result.firstError; t.slices.push(r.result.rps);
        t.unanswered += r.result.unanswered; t.slow += r.result.slow; t.maxMs = Math.max(t.maxMs, r.result.maxMs);
        tally.set(i, t);
        add(`${i}|rss`, r.rss);
      }
    }
    for (const i of order) {
      const t = tally.get(i);
      if (!t || dead.has(i)) continue;
      const rps = t.ok / t.seconds;
      const stall = closedStall(t);
      ((results[i]!.closedStalls![payload] ??= [])[round] = stall);
      if (stall === null) add(`${i}|${payload}|rps`, rps);
      else o.log(`  ${rows[i]!.name} ${payload} closed loop STALLED in round ${round + 1}: ${stall}`);
      ((results[i]!.throughputRounds![payload] ??= [])[round] = rps);
      ((results[i]!.throughputSlices![payload] ??= [])[round] = t.slices);
      ((results[i]!.cpuUsPerRequestRounds![payload] ??= [])[round] = (t.cpu / t.answered) * 1e6);
      const profile = t.profile.result();
      ((results[i]!.closedProfiles![payload] ??= [])[round] = profile);
      const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
      o.log(`  ${rows[i]!.name.padEnd(34)} ${payload.padEnd(5)} closed loop ×${o.concurrency}: ${rps.toFixed(0)} req/s (${t.slices.length} slices ${Math.min(...t.slices).toFixed(0)}–${Math.max(...t.slices).toFixed(0)}, slowest answer ${t.maxMs.toFixed(0)} ms), client CPU ${((t.cpu / t.answered) * 1e6).toFixed(1)} µs/req, GC ${pct(profile.clientGc)}; machine: steal ${pct(profile.steal)}, other processes ${pct(profile.others)}, idle ${pct(profile.idle)}${t.errors ? ` (${t.errors} errors: ${t.firstError})` : ''}`);
    }
  };

  // Latency at each fixed rate, in slices as well: the rows' open loops take turns of
  // `openSliceSeconds`, sweeping forward then back, and a row's percentiles in a round are over
  // the answers of all its slices. Run whole, one row after the other, a row's p50 rode on the
  // seconds it happened to run in: bare grpc-js's p50 at 250 calls/s went from 1.5 to 2.0 ms
  // between rounds, so "mesh:/// minus bare" swung from -0.05 to +0.5 ms, while in one process,
  // calls of the two interleaved, it was +0.02-0.05 ms in every run.
  const { slices: openSlices, seconds: openSliceSeconds } = openLoopSlices(o.openSeconds);
  const openLoopSliced = async (handles: Map<number, ClientHandle[]>, order: number[], payload: Payload, rate: number, proc: number, round: number) => {
    const pooled = new Map<number, { latencies: number[]; ok: number; errors: number; shed: number; cpu: number; others: number; proxies: number; firstError?: string }>();
    for (let sweep = 0; sweep < openSlices; sweep++) {
      for (const i of sweep % 2 === 0 ? order : [...order].reverse()) {
        if (dead.has(i)) { pooled.delete(i); continue; }
        const row = rows[i]!;
        const meter = cpuMeter([o.upstreamPid, ...(row.extraPids ?? [])]);
        const proxyMeter = cpuMeter(row.extraPids ?? []);
        const h = handles.get(i)![proc]!;
        const r = await h.run({ op: 'open', payload, rate, seconds: openSliceSeconds }, openSliceSeconds * 1000 + COMMAND_SLACK_MS);
        if ('failed' in r) { fail(i, round, `${payload} @${rate}/s: ${r.failed}`); pooled.delete(i); continue; }
        measured.add(i);
        const others = meter();
        const proxies = proxyMeter();
        // Let the proxies' queues drain before the next row's slice: a row driven past its
        // capacity (the proxy pair at the top rate) can keep them busy for seconds after it.
        const quiet = await waitQuiet([o.upstreamPid, ...(row.extraPids ?? []), ...(h.proc.pid !== undefined ? [h.proc.pid] : [])], { maxMs: QUIET_MAX_MS, windowMs: 100 });
        if (quiet.waitedMs > 1000) o.log(`  ${row.name} ${payload} @${rate}/s: its processes took ${(quiet.waitedMs / 1000).toFixed(1)} s to go quiet${quiet.quiet ? '' : ' (still busy, going on)'}`);
        const p = pooled.get(i) ?? { latencies: [], ok: 0, errors: 0, shed: 0, cpu: 0, others: 0, proxies: 0 };
        for (const l of r.result.latencies) p.latencies.push(l);
        p.ok += r.result.ok; p.errors += r.result.errors; p.shed += r.result.shed; p.cpu += r.result.cpu; p.others += others; p.proxies += proxies;
        p.firstError ??= r.result.firstError;
        pooled.set(i, p);
        add(`${i}|rss`, r.rss);
      }
    }
    for (const i of order) {
      const p = pooled.get(i);
      if (!p) continue;
      const sorted = p.latencies.sort((a, b) => a - b);
      const k = `${i}|${payload}|${rate}`;
      const p50 = quantile(sorted, 0.5);
      const p99 = quantile(sorted, 0.99);
      add(`${k}|p50`, p50); add(`${k}|p90`, quantile(sorted, 0.9)); add(`${k}|p99`, p99);
      add(`${k}|errors`, p.errors); add(`${k}|shed`, p.shed);
      if (rate === topRate && p.ok > 0) {
        add(`${i}|${payload}|cpu`, ((p.cpu + p.others) / p.ok) * 10_000);
        add(`${i}|${payload}|cpuClient`, (p.cpu / p.ok) * 10_000);
        add(`${i}|${payload}|cpuProxies`, (p.proxies / p.ok) * 10_000);
      }
      const row = rows[i]!;
      if (p.errors > 0) o.log(`  ${row.name} ${payload} @${rate}/s: ${p.errors} errors, ${p.ok} ok, ${p.shed} shed (${p.firstError})`);
      o.log(`  ${row.name.padEnd(34)} ${payload.padEnd(5)} @${String(rate).padStart(5)}/s  p50 ${p50.toFixed(3)}  p99 ${p99.toFixed(3)} ms (${openSlices} slices)`);
    }
  };

  for (let round = 0; round < o.rounds; round++) {
    const handles = await startClients(round);
    const live = [...handles.keys()];
    const order = live.map((_, k) => live[(k + round) % live.length]!);
    // Stopped however the round ends: a client left running (an exception here once) keeps the
    // run's process alive after it has written its report.
    try {
      for (const payload of o.payloads) {
        for (const [rateIndex, rate] of o.rates.entries()) {
          // The open-loop runs go to the row's processes in turn too, alike for every row.
          const proc = (o.payloads.indexOf(payload) * o.rates.length + rateIndex) % processes;
          await openLoopSliced(handles, order, payload, rate, proc, round);
        }
        await closedLoopSliced(handles, order, payload, round);
      }
    } finally {
      for (const hs of handles.values()) for (const h of hs) h.stop();
    }
  }

  for (const i of measured) {
    const res = results[i]!;
    const row = rows[i]!;
    for (const payload of o.payloads) {
      res.latency[payload] = {};
      for (const rate of o.rates) {
        const k = `${i}|${payload}|${rate}`;
        res.latency[payload]![rate] = {
          p50: median(samples.get(`${k}|p50`) ?? []), p90: median(samples.get(`${k}|p90`) ?? []), p99: median(samples.get(`${k}|p99`) ?? []),
          errors: (samples.get(`${k}|errors`) ?? []).reduce((a, b) => a + b, 0), shed: (samples.get(`${k}|shed`) ?? []).reduce((a, b) => a + b, 0),
        };
      }
      res.throughput[payload] = median(samples.get(`${i}|${payload}|rps`) ?? []);
      const byRound = res.throughputRounds![payload] ?? [];
      res.throughputRounds![payload] = Array.from({ length: o.rounds }, (_, k) => byRound[k] ?? NaN);
      const stalls = res.closedStalls![payload] ?? [];
      res.closedStalls![payload] = Array.from({ length: o.rounds }, (_, k) => stalls[k] ?? null);
      const profiles = res.closedProfiles![payload] ?? [];
      res.closedProfiles![payload] = Array.from({ length: o.rounds }, (_, k) => profiles[k] ?? null);
      res.cpuPer10k[payload] = {
        total: median(samples.get(`${i}|${payload}|cpu`) ?? []),
        client: median(samples.get(`${i}|${payload}|cpuClient`) ?? []),
        proxies: median(samples.get(`${i}|${payload}|cpuProxies`) ?? []),
      };
    }
    res.clientRssMiB = Math.max(...(samples.get(`${i}|rss`) ?? [NaN]));
    if (row.extraPids?.length) res.proxyRssMiB = row.extraPids.reduce((s, pid) => s + rssMiB(pid), 0);
  }
  return results;
}

export interface YoungResult {
  name: string;
  skipped?: string;
  /** Rounds whose process failed, and why. */
  failures?: string[];
  /** Medians over rounds of each round's figure (ms). */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** Every round's own figures, in round order. */
  rounds: SequentialResult[];
}

/**
 * Latency in a young process: per round a fresh client process per row that sets up and sends one
 * request (the connection); then the rows take turns in blocks of `block` small requests one at a
 * time (client-process.ts, `young`), sweeping forward then back as the closed loops do, until each
 * has sent `requests`, measured from the very first. Never two processes send at once, and a slow
 * patch of the machine falls on every row of the round alike rather than on whichever process ran
 * in it. Each process still sends exactly its first `requests`: the idle gaps between its blocks
 * are short (other rows' blocks), as a young service's gaps between requests are.
 */
export async function runYoungSuite(rows: readonly RowSpec[], o: { rounds: number; requests: number; block?: number; log: (s: string) => void }): Promise<YoungResult[]> {
  const runs: SequentialResult[][] = rows.map(() => []);
  const failures: string[][] = rows.map(() => []);
  const block = o.block ?? 100;
  const live = rows.map((_, i) => i).filter((i) => rows[i]!.skip === undefined);
  for (let round = 0; round < o.rounds; round++) {
    const order = live.map((_, k) => live[(k + round) % live.length]!);
    const handles = new Map<number, ClientHandle>();
    const fail = (i: number, why: unknown) => {
      failures[i]!.push(`round ${round + 1}: ${String(why ?? 'no result')}`);
      o.log(`  ${rows[i]!.name}: young round ${round + 1} failed — ${String(why ?? 'no result')}`);
      handles.get(i)?.stop();
      handles.delete(i);
    };
    // Set up one after another: a set-up (imports, compiling) is not what is measured, but it
    // should not overlap another process's either.
    for (const i of order) {
      const h = new ClientHandle({ ...rows[i]!.client, young: true });
      handles.set(i, h);
      const m = await h.next(120_000);
      if (!m['ready']) fail(i, m['skip']);
    }
    const lat = new Map<number, number[]>(order.map((i) => [i, []]));
    for (let sweep = 0; sweep * block < o.requests; sweep++) {
      for (const i of sweep % 2 === 0 ? order : [...order].reverse()) {
        const h = handles.get(i);
        if (!h) continue;
        const n = Math.min(block, o.requests - lat.get(i)!.length);
        const r = await h.ask({ op: 'young', requests: n }, 120_000);
        if ('failed' in r) { fail(i, r.failed); continue; }
        lat.get(i)!.push(...(r.result['latencies'] as number[]));
      }
    }
    for (const [i, h] of handles) {
      h.stop();
      const r = summarizeSequential(lat.get(i)!);
      runs[i]!.push(r);
      o.log(`  ${rows[i]!.name.padEnd(34)} young, first ${o.requests}: p50 ${r.p50.toFixed(3)}  p99 ${r.p99.toFixed(3)} ms`);
    }
  }
  return rows.map((row, i) => {
    const r = runs[i]!;
    const skipped = row.skip ?? (r.length === 0 ? failures[i]![0] ?? 'not run' : undefined);
    return {
      name: row.name, p50: median(r.map((x) => x.p50)), p90: median(r.map((x) => x.p90)), p99: median(r.map((x) => x.p99)), mean: median(r.map((x) => x.mean)), rounds: r,
      ...(skipped !== undefined && { skipped }), ...(failures[i]!.length > 0 && r.length > 0 && { failures: failures[i] }),
    };
  });
}
