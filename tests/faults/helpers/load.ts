// A bounded load generator: `concurrency` workers send requests at an optional steady rate
// until `maxRequests` have been sent or `maxDurationMs` has passed (whichever comes first), or
// stop() is called. Every request has a watchdog: one that has not settled after `hangMs` is
// counted as hung and aborted, so a hang shows up as a number instead of a stuck test.

export interface LoadOptions {
  concurrency: number;
  maxRequests: number;
  maxDurationMs: number;
  /** Requests per second across all workers; unpaced (as fast as the workers go) when absent. */
  rate?: number;
  /** A request still open after this long counts as hung (default 10 s). */
  hangMs?: number;
  /** Sends request number `i`; resolves when it succeeded, throws (or rejects) when it failed. */
  send: (i: number, signal: AbortSignal) => Promise<void>;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  hung: number;
  /** The first failures' messages (at most 20), for the assertion message. */
  failures: string[];
  /** Failures by error name/code, e.g. { OverflowError: 412 }. */
  failureKinds: Record<string, number>;
  /** Latency of every request, ms, in completion order. */
  latencies: number[];
  /** Latency of the failed requests only, ms. */
  failedLatencies: number[];
  durationMs: number;
}

export interface RunningLoad {
  /** Requests finished so far (ok or not). */
  readonly done: number;
  readonly ok: number;
  readonly failed: number;
  stop(): void;
  /** Resolves once every worker has stopped and every request has settled. */
  result: Promise<LoadResult>;
}

export function startLoad(opts: LoadOptions): RunningLoad {
  const hangMs = opts.hangMs ?? 10_000;
  const start = performance.now();
  const deadline = start + opts.maxDurationMs;
  const state: LoadResult = { sent: 0, ok: 0, failed: 0, hung: 0, failures: [], failureKinds: {}, latencies: [], failedLatencies: [], durationMs: 0 };
  let stopped = false;
  let next = 0;
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  const one = async (i: number): Promise<void> => {
    const controller = new AbortController();
    const t0 = performance.now();
    let hung = false;
    const watchdog = setTimeout(() => {
      hung = true;
      controller.abort(new Error(`request ${i} still open after ${hangMs} ms`));
    }, hangMs);
    try {
      await opts.send(i, controller.signal);
      if (hung) throw new Error('hung');
      state.ok++;
    } catch (err) {
      state.failed++;
      if (hung) state.hung++;
      const e = err as Error & { code?: string };
      const kind = hung ? 'hung' : e?.name === 'Error' && e.code ? e.code : e?.name ?? typeof err;
      state.failureKinds[kind] = (state.failureKinds[kind] ?? 0) + 1;
      state.failedLatencies.push(performance.now() - t0);
      if (state.failures.length < 20) state.failures.push(`#${i} after ${(performance.now() - t0).toFixed(0)} ms: ${e?.message ?? String(err)}${e?.cause ? ` (cause: ${String((e.cause as Error).message ?? e.cause)})` : ''}`);
    } finally {
      clearTimeout(watchdog);
      state.latencies.push(performance.now() - t0);
    }
  };

  const worker = async (): Promise<void> => {
    while (!stopped) {
      const now = performance.now();
      if (next >= opts.maxRequests || now >= deadline) return;
      const i = next++;
      if (opts.rate !== undefined) {
        // Steady pacing: request i is due at start + i / rate.
        const due = start + (i * 1000) / opts.rate;
        if (due > now) await sleep(due - now);
        if (stopped || performance.now() >= deadline) return;
      }
      state.sent++;
      await one(i);
    }
  };

  const result = Promise.all(Array.from({ length: opts.concurrency }, worker)).then(() => {
    state.durationMs = performance.now() - start;
    return state;
  });
  return {
    get done() { return state.ok + state.failed; },
    get ok() { return state.ok; },
    get failed() { return state.failed; },
    stop() { stopped = true; },
    result,
  };
}

/** The q-quantile (0..1) of `values`, nearest rank; 0 for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms until it is true; throws after `timeoutMs` naming `what`. */
export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - t0;
}
