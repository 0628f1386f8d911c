// The optional error-rate breaker, built on opossum: closed → open when the failure rate in a
// rolling window passes a threshold (once the window has `volumeThreshold` requests) → half-open
// after `resetTimeoutMs`, letting one trial request through. It is not Envoy's circuit breaker
// (those are the concurrency limits in cluster-limits.ts) nor outlier detection (per host); it
// is a coarse "stop calling this cluster" gate some teams want on top of Istio's rules.
//
// opossum wraps a function; here the "function" is the request's own outcome: admit() fires the
// breaker with a promise the request settles when it ends. opossum's own timeout stays off (the
// mesh's real timeouts cancel requests), snapshots are off, and every breaker's buckets rotate
// on one shared timer, so a thousand clusters cost one interval, not two thousand. opossum is
// required when the first breaker is made (it is CommonJS, so synchronously): a mesh without
// `breaker` never loads it. Its types stay out of the published declarations, which must compile
// for an application without @types/opossum.

import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type CircuitBreaker from 'opossum';

export interface BreakerOptions {
  /** Failure percentage in the window that opens the breaker (default 50). */
  errorThresholdPercentage?: number;
  /** Requests the window must hold before the rate counts (default 20; opossum's own 0 opens on the first failure). */
  volumeThreshold?: number;
  /** How long the breaker stays open before one trial request (default 30 s). */
  resetTimeoutMs?: number;
  /** The rolling window (default 10 s, in 10 buckets). */
  rollingWindowMs?: number;
}

export interface BreakerTicket {
  /** Settles the request's outcome: true for success (a response below 500). */
  done(success: boolean): void;
}

const BUCKETS = 10;

let opossum: typeof CircuitBreaker | undefined;
const loadOpossum = (): typeof CircuitBreaker => (opossum ??= createRequire(import.meta.url)('opossum') as typeof CircuitBreaker);

export class BreakerGroup {
  readonly #rotate = new EventEmitter();
  readonly #timer: NodeJS.Timeout;
  readonly options: Required<BreakerOptions>;

  constructor(options: BreakerOptions = {}) {
    this.options = {
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      volumeThreshold: options.volumeThreshold ?? 20,
      resetTimeoutMs: options.resetTimeoutMs ?? 30_000,
      rollingWindowMs: options.rollingWindowMs ?? 10_000,
    };
    this.#rotate.setMaxListeners(0);
    this.#timer = setInterval(() => this.#rotate.emit('rotate'), Math.floor(this.options.rollingWindowMs / BUCKETS));
    this.#timer.unref();
  }

  create(name: string): ErrorRateBreaker {
    return new ErrorRateBreaker(name, this.options, this.#rotate);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

export class ErrorRateBreaker {
  readonly #breaker: CircuitBreaker<[Promise<void>], void>;

  constructor(name: string, o: Required<BreakerOptions>, rotate: EventEmitter) {
    this.#breaker = new (loadOpossum())((outcome: Promise<void>) => outcome, {
      name,
      timeout: false,
      errorThresholdPercentage: o.errorThresholdPercentage,
      volumeThreshold: o.volumeThreshold,
      resetTimeout: o.resetTimeoutMs,
      rollingCountTimeout: o.rollingWindowMs,
      rollingCountBuckets: BUCKETS,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: rotate,
    });
  }

  /** Lets a request through, or returns undefined when the breaker is open. */
  admit(): BreakerTicket | undefined {
    const b = this.#breaker;
    // Open, or half-open with its one trial already out: fail fast without firing.
    if (!b.closed && !b.pendingClose) return undefined;
    let settle!: (success: boolean) => void;
    const outcome = new Promise<void>((resolve, reject) => {
      settle = (success) => (success ? resolve() : reject(new Error('upstream failure')));
    });
    b.fire(outcome).catch(() => {});
    return { done: settle };
  }

  isOpen(): boolean {
    return this.#breaker.opened;
  }

  describe(): string {
    const s = this.#breaker.stats;
    return `${this.#breaker.opened ? 'open' : 'half-open'} after ${s.failures} failures of ${s.fires} requests in the window`;
  }

  close(): void {
    this.#breaker.shutdown();
  }
}
