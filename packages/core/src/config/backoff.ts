// Reconnect back-off for the ADS stream: exponential with jitter (gRPC's connection back-off:
// 1 s, ×1.6, ±20 %, capped), reset once a stream has proved healthy by delivering a response,
// so a control plane that restarts once an hour is not waited on for minutes (the grpc-js-xds
// bug of a back-off that never resets).

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  multiplier?: number;
  /** Fraction of the delay added or removed at random. */
  jitter?: number;
}

export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #multiplier: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #next: number;

  constructor(opts: BackoffOptions = {}, random: () => number = Math.random) {
    this.#initial = opts.initialMs ?? 1000;
    this.#max = opts.maxMs ?? 30_000;
    this.#multiplier = opts.multiplier ?? 1.6;
    this.#jitter = opts.jitter ?? 0.2;
    this.#random = random;
    this.#next = this.#initial;
  }

  /** The delay before the next attempt; each call grows the one after. */
  nextDelayMs(): number {
    const base = this.#next;
    this.#next = Math.min(this.#max, base * this.#multiplier);
    const spread = base * this.#jitter;
    return Math.max(0, Math.round(base - spread + this.#random() * 2 * spread));
  }

  reset(): void {
    this.#next = this.#initial;
  }
}
