// The two ways the harness drives a client, both bounded in count and time.
//
// Open loop (latency at a fixed rate): request i is due at start + i/rate whether or not earlier
// ones have answered, and its latency is measured from when it was due, not from when the
// event loop got round to sending it. A stall therefore shows up in the percentiles instead of
// silently lowering the offered rate (no coordinated omission, as in wrk2).
//
// Closed loop (highest sustained throughput): a fixed number of workers each send the next
// request as soon as the last one answers.
//
// Sequential (latency of a young process): one request at a time, each timed on its own.

export type Send = () => Promise<void>;

export interface OpenLoopResult {
  /** Requests that were due within the run. */
  scheduled: number;
  ok: number;
  errors: number;
  /** Requests not sent because MAX_IN_FLIGHT were already waiting (the client is saturated). */
  shed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Client CPU seconds (user + system) over the run. */
  cpu: number;
  firstError: string | undefined;
}

const MAX_IN_FLIGHT = 4096;

export async function openLoop(send: Send, rate: number, seconds: number): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const latencies = new Float64Array(total);
  let ok = 0;
  let errors = 0;
  let shed = 0;
  let inFlight = 0;
  let firstError: string | undefined;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now() + 2;
  const deadline = start + seconds * 1000 + 10_000; // never wait more than 10 s for stragglers
  await new Promise<void>((resolve) => {
    let finished = 0;
    const settle = () => {
      finished++;
      if (finished === total) resolve();
    };
    const fire = (i: number, due: number) => {
      if (inFlight >= MAX_IN_FLIGHT) { shed++; latencies[i] = NaN; settle(); return; }
      inFlight++;
      send().then(
        () => { latencies[i] = performance.now() - due; ok++; inFlight--; settle(); },
        (err: unknown) => { latencies[i] = NaN; errors++; firstError ??= String((err as Error)?.message ?? err); inFlight--; settle(); },
      );
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        fire(next, start + next * intervalMs);
        next++;
      }
      if (next < total) {
        // Sleep until the next request is due. Timers fire up to ~1 ms late; that lateness is
        // charged to the request (measured from the due time), equally for every client.
        setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now() - 0.5));
      }
    };
    setTimeout(tick, 0);
    setTimeout(() => resolve(), deadline - performance.now()).unref();
  });
  const usage = process.cpuUsage(cpu0);
  const sorted = latencies.filter((x) => !Number.isNaN(x)).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
  // Requests still unanswered at the deadline count as errors.
  errors += total - ok - errors - shed;
  return { scheduled: total, ok, errors, shed, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN, cpu: (usage.user + usage.system) / 1e6, firstError };
}

export interface ClosedLoopResult {
  rps: number;
  /** The window the loop drove load in; `ok` counts the answers within it. */
  seconds: number;
  /** Every answer, the drain after the window included: what `cpu` was spent on. */
  answered: number;
  ok: number;
  errors: number;
  cpu: number;
  firstError: string | undefined;
}

export async function closedLoop(send: Send, concurrency: number, seconds: number): Promise<ClosedLoopResult> {
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const cpu0 = process.cpuUsage();
  let ok = 0;
  let okInWindow = 0;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      try {
        await send();
        ok++;
        if (performance.now() <= until) okInWindow++;
      } catch (err) {
        errors++;
        firstError ??= String((err as Error)?.message ?? err);
        if (errors > 1000) return; // a broken client: stop rather than spin
      }
    }
  }));
  const usage = process.cpuUsage(cpu0);
  // The rate counts the answers within the window only: the requests still in flight when it
  // closes drain with fewer and fewer workers, and that tail (one latency long, so longer for a
  // slower client) would otherwise weigh more the shorter the run.
  return { rps: okInWindow / seconds, seconds, answered: ok, ok: okInWindow, errors, cpu: (usage.user + usage.system) / 1e6, firstError };
}

export interface SequentialResult {
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** p50 of each tenth of the run, in order: how latency falls as the process warms. */
  p50ByTenth: number[];
}

/** Each request's latency (ms), one request at a time. */
export async function sequentialLatencies(send: Send, requests: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t = performance.now();
    await send();
    lat.push(performance.now() - t);
  }
  return lat;
}

/** Percentiles of a run of sequential latencies, in the order they were taken. */
export function summarizeSequential(latencies: readonly number[]): SequentialResult {
  const requests = latencies.length;
  const q = (xs: Float64Array, p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const lat = Float64Array.from(latencies);
  const tenth = Math.max(1, Math.floor(requests / 10));
  const p50ByTenth: number[] = [];
  for (let s = 0; s + tenth <= requests; s += tenth) p50ByTenth.push(q(lat.slice(s, s + tenth).sort(), 0.5));
  const sorted = lat.slice().sort();
  return { requests, p50: q(sorted, 0.5), p90: q(sorted, 0.9), p99: q(sorted, 0.99), mean: sorted.reduce((a, b) => a + b, 0) / requests, p50ByTenth };
}
