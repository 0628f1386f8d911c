// Runs a set of client rows against the same upstream, interleaved: every measurement is taken
// for each row in turn (the order rotating each round), so this noisy two-core machine drifts
// on all rows alike and each ratio compares numbers from the same minutes.
//
// Every round starts a fresh process per row: a process can settle early into a state that
// lasts (V8 pretenuring the allocation sites of a request's objects turned a client's scavenges
// from ~1 ms into 12–19 ms for the rest of its life), so the median over rounds must be a median
// over processes, not repeated samples of one.
//
// Per row and payload: p50/p90/p99 at each fixed rate (open loop), the highest sustained
// throughput (closed loop), CPU seconds per 10k requests summed over the client, the upstream
// and the proxies at the highest fixed rate, and resident memory of the client and proxies.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientSpec, Command } from './client-process.ts';
import type { ClosedLoopResult, OpenLoopResult } from './load-loops.ts';
import type { Payload } from './payloads.ts';
import { cpuMeter, rssMiB } from './proc-stats.ts';

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
  closedSeconds: number;
  concurrency: number;
  rounds: number;
  upstreamPid: number;
  log: (s: string) => void;
}

export interface RowResult {
  name: string;
  skipped?: string;
  /** payload → rate → percentiles (medians over rounds). */
  latency: Record<string, Record<number, { p50: number; p90: number; p99: number; errors: number; shed: number }>>;
  /** payload → requests/s (median over rounds). */
  throughput: Record<string, number>;
  /** payload → CPU seconds per 10k requests at the highest rate: total, and the client's share. */
  cpuPer10k: Record<string, { total: number; client: number; proxies: number }>;
  clientRssMiB: number;
  proxyRssMiB: number | undefined;
}

class ClientHandle {
  readonly proc: ChildProcess;
  #waiters: ((m: Record<string, unknown>) => void)[] = [];

  constructor(spec: ClientSpec) {
    const script = fileURLToPath(new URL('./client-process.ts', import.meta.url));
    this.proc = fork(script, [JSON.stringify(spec)], { execArgv: ['--conditions=source', '--no-warnings'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m) => this.#waiters.shift()?.(m as Record<string, unknown>));
    this.proc.on('exit', (code) => { for (const w of this.#waiters.splice(0)) w({ skip: `client process exited (${code})` }); });
  }

  next(timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve({ skip: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
      this.#waiters.push((m) => { clearTimeout(t); resolve(m); });
    });
  }

  async run(cmd: Command, timeoutMs: number): Promise<{ result: OpenLoopResult & ClosedLoopResult; rss: number } | undefined> {
    this.proc.send(cmd);
    const m = await this.next(timeoutMs);
    return m['result'] ? (m as { result: OpenLoopResult & ClosedLoopResult; rss: number }) : undefined;
  }

  stop(): void {
    if (this.proc.connected) this.proc.send({ op: 'exit' } satisfies Command);
    setTimeout(() => this.proc.kill('SIGKILL'), 2000).unref();
  }
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);

export async function runSuite(rows: readonly RowSpec[], o: SuiteOptions): Promise<RowResult[]> {
  const results: RowResult[] = rows.map((r) => ({ name: r.name, latency: {}, throughput: {}, cpuPer10k: {}, clientRssMiB: NaN, proxyRssMiB: undefined, ...(r.skip !== undefined && { skipped: r.skip }) }));
  // Start a client for every row still live; a row that cannot set up is reported as skipped
  // with its reason (and is not tried again in later rounds).
  const startClients = async (): Promise<Map<number, ClientHandle>> => {
    const handles = new Map<number, ClientHandle>();
    await Promise.all(rows.map(async (row, i) => {
      if (row.skip !== undefined || results[i]!.skipped !== undefined) return;
      const h = new ClientHandle(row.client);
      const m = await h.next(120_000);
      if (m['ready']) { handles.set(i, h); return; }
      results[i]!.skipped = String(m['skip']);
      o.log(`  ${row.name}: skipped — ${results[i]!.skipped}`);
      h.stop();
    }));
    return handles;
  };
  for (const [i, r] of results.entries()) if (r.skipped) o.log(`  ${rows[i]!.name}: skipped — ${r.skipped}`);
  let live: number[] = [];

  const samples = new Map<string, number[]>();
  const add = (key: string, v: number) => { const l = samples.get(key) ?? []; l.push(v); samples.set(key, l); };
  const topRate = Math.max(...o.rates);

  for (let round = 0; round < o.rounds; round++) {
    const handles = await startClients();
    live = [...handles.keys()];
    const order = live.map((_, k) => live[(k + round) % live.length]!);
    for (const payload of o.payloads) {
      for (const rate of o.rates) {
        for (const i of order) {
          const row = rows[i]!;
          const pids = [o.upstreamPid, ...(row.extraPids ?? [])];
          const meter = cpuMeter(pids);
          const proxyMeter = cpuMeter(row.extraPids ?? []);
          const r = await handles.get(i)!.run({ op: 'open', payload, rate, seconds: o.openSeconds }, (o.openSeconds + 30) * 1000);
          if (!r) { o.log(`  ${row.name} ${payload} @${rate}/s: no result`); continue; }
          const others = meter();
          // Let stragglers and the proxies' queues drain before the next row starts.
          await new Promise((r) => setTimeout(r, 300));
          const k = `${i}|${payload}|${rate}`;
          add(`${k}|p50`, r.result.p50); add(`${k}|p90`, r.result.p90); add(`${k}|p99`, r.result.p99);
          add(`${k}|errors`, r.result.errors); add(`${k}|shed`, r.result.shed);
          if (rate === topRate && r.result.ok > 0) {
            add(`${i}|${payload}|cpu`, ((r.result.cpu + others) / r.result.ok) * 10_000);
            add(`${i}|${payload}|cpuClient`, (r.result.cpu / r.result.ok) * 10_000);
            add(`${i}|${payload}|cpuProxies`, (proxyMeter() / r.result.ok) * 10_000);
          }
          add(`${i}|rss`, r.rss);
          if (r.result.errors > 0) o.log(`  ${row.name} ${payload} @${rate}/s: ${r.result.errors} errors (${r.result.firstError})`);
          o.log(`  ${row.name.padEnd(34)} ${payload.padEnd(5)} @${String(rate).padStart(5)}/s  p50 ${r.result.p50.toFixed(3)}  p99 ${r.result.p99.toFixed(3)} ms`);
        }
      }
      for (const i of order) {
        const row = rows[i]!;
        const r = await handles.get(i)!.run({ op: 'closed', payload, concurrency: o.concurrency, seconds: o.closedSeconds }, (o.closedSeconds + 30) * 1000);
        if (!r) continue;
        add(`${i}|${payload}|rps`, r.result.rps);
        add(`${i}|rss`, r.rss);
        o.log(`  ${row.name.padEnd(34)} ${payload.padEnd(5)} closed loop ×${o.concurrency}: ${r.result.rps.toFixed(0)} req/s${r.result.errors ? ` (${r.result.errors} errors: ${r.result.firstError})` : ''}`);
      }
    }
    for (const h of handles.values()) h.stop();
  }

  for (const i of live) {
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
