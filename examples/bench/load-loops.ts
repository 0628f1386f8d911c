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
//
// Neither loop leaves requests behind: a request still unanswered well after its run is aborted
// through the signal and counted as unanswered. Left running, it would be answered during the
// next row's run or the next slice (an overloaded HAProxy pair once still held thousands of
// them when its closed loop began, which then crawled at 0–300 req/s), or hang a slice for good.

/** Sends one request; rejects (soon) once `signal` aborts. */
export type Send = (signal: AbortSignal) => Promise<void>;

/** How long after its run a loop waits for stragglers before aborting them. */
export const STRAGGLER_MS = 10_000;
/** How long aborted requests get to settle (connections torn down) before the loop returns anyway. */
const ABORT_SETTLE_MS = 2_000;
/** A closed-loop answer slower than this is a stall: 32 in flight on loopback answer in tens of ms. */
export const STALL_MS = 1_000;

/** Resolves when `inFlight()` reaches 0, or after `ms`. */
async function settle(inFlight: () => number, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (inFlight() > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
}

export interface OpenLoopResult {
  /** Requests that were due within the run. */
  scheduled: number;
  ok: number;
  /** Failed requests, the unanswered ones included. */
  errors: number;
  /** Requests still unanswered STRAGGLER_MS after the run, then aborted. */
  unanswered: number;
  /** Requests not sent because MAX_IN_FLIGHT were already waiting (the client is saturated). */
  shed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Client CPU seconds (user + system) over the run. */
  cpu: number;
  firstError: string | undefined;
  /** Every answered request's latency (ms), ascending: runs of one row pool them. */
  latencies: number[];
}

/** The p-th quantile of ascending `sorted` (NaN when empty), as every loop here takes it. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN;
}

const MAX_IN_FLIGHT = 4096;

export async function openLoop(send: Send, rate: number, seconds: number, stragglerMs = STRAGGLER_MS): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const latencies = new Float64Array(total);
  let ok = 0;
  let errors = 0;
  let shed = 0;
  let inFlight = 0;
  let firstError: string | undefined;
  let next = 0;
  let over = false;
  const abort = new AbortController();
  const cpu0 = process.cpuUsage();
  const start = performance.now() + 2;
  const deadline = start + seconds * 1000 + stragglerMs;
  await new Promise<void>((resolve) => {
    let finished = 0;
    const settle = () => {
      finished++;
      if (finished === total) resolve();
    };
    const fire = (i: number, due: number) => {
      latencies[i] = NaN; // until answered: an unanswered request has no latency
      if (inFlight >= MAX_IN_FLIGHT) { shed++; settle(); return; }
      inFlight++;
      send(abort.signal).then(
        () => { inFlight--; if (over) return; latencies[i] = performance.now() - due; ok++; settle(); },
        (err: unknown) => { inFlight--; if (over) return; errors++; firstError ??= String((err as Error)?.message ?? err); settle(); },
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
  over = true;
  // Requests still unanswered at the deadline count as errors, and are aborted so that they do
  // not load the next run.
  const unanswered = total - ok - errors - shed;
  if (unanswered > 0) {
    abort.abort();
    await settle(() => inFlight, ABORT_SETTLE_MS);
    errors += unanswered;
    firstError ??= `${unanswered} unanswered ${stragglerMs / 1000} s after the run (aborted)`;
  }
  const usage = process.cpuUsage(cpu0);
  const sorted = Array.from(latencies.filter((x) => !Number.isNaN(x)).sort());
  return { scheduled: total, ok, errors, unanswered, shed, p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN, cpu: (usage.user + usage.system) / 1e6, firstError, latencies: sorted };
}

export interface ClosedLoopResult {
  rps: number;
  /** The window the loop drove load in; `ok` counts the answers within it. */
  seconds: number;
  /** Every answer, the drain after the window included: what `cpu` was spent on. */
  answered: number;
  ok: number;
  /** Failed requests, the unanswered ones included. */
  errors: number;
  /** Requests still unanswered STRAGGLER_MS after the window, then aborted. */
  unanswered: number;
  /** Answers that took longer than STALL_MS. */
  slow: number;
  /** The slowest answer (ms). */
  maxMs: number;
  cpu: number;
  firstError: string | undefined;
}

export async function closedLoop(send: Send, concurrency: number, seconds: number, stragglerMs = STRAGGLER_MS): Promise<ClosedLoopResult> {
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const abort = new AbortController();
  let ok = 0;
  let okInWindow = 0;
  let errors = 0;
  let slow = 0;
  let maxMs = 0;
  let inFlight = 0;
  let firstError: string | undefined;
  const workers = Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until && !abort.signal.aborted) {
      const t = performance.now();
      inFlight++;
      try {
        await send(abort.signal);
        if (abort.signal.aborted) return;
        const now = performance.now();
        ok++;
        if (now <= until) okInWindow++;
        if (now - t > STALL_MS) slow++;
        maxMs = Math.max(maxMs, now - t);
      } catch (err) {
        if (abort.signal.aborted) return;
        errors++;
        firstError ??= String((err as Error)?.message ?? err);
        if (errors > 1000) return; // a broken client: stop rather than spin
      } finally {
        inFlight--;
      }
    }
  }));
  // Requests still unanswered long after the window are aborted and counted, rather than
  // holding the loop (and the slice) until the harness gives up on the whole row.
  let timer: NodeJS.Timeout | undefined;
  const hung = await Promise.race([
    workers.then(() => 0),
    new Promise<number>((resolve) => { timer = setTimeout(() => resolve(inFlight), Math.max(0, until + stragglerMs - performance.now())); }),
  ]);
  clearTimeout(timer);
  if (hung > 0) {
    abort.abort();
    await settle(() => inFlight, ABORT_SETTLE_MS);
    errors += hung;
    firstError ??= `${hung} unanswered ${stragglerMs / 1000} s after the window (aborted)`;
  }
  const usage = process.cpuUsage(cpu0);
  // The rate counts the answers within the window only: the requests still in flight when it
  // closes drain with fewer and fewer workers, and that tail (one latency long, so longer for a
  // slower client) would otherwise weigh more the shorter the run.
  return { rps: okInWindow / seconds, seconds, answered: ok, ok: okInWindow, errors, unanswered: hung, slow, maxMs, cpu: (usage.user + usage.system) / 1e6, firstError };
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
export async function sequentialLatencies(send: () => Promise<void>, requests: number): Promise<number[]> {
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
  const lat = Float64Array.from(latencies);
  const tenth = Math.max(1, Math.floor(requests / 10));
  const p50ByTenth: number[] = [];
  for (let s = 0; s + tenth <= requests; s += tenth) p50ByTenth.push(quantile(lat.slice(s, s + tenth).sort(), 0.5));
  const sorted = lat.slice().sort();
  return { requests, p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), mean: sorted.reduce((a, b) => a + b, 0) / requests, p50ByTenth };
}
