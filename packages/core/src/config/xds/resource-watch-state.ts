// What the ADS client knows about each resource it subscribed to: the last good value and its
// version (which stays in force when a newer version is NACKed), the status CSDS reports, and
// the does-not-exist timer. One ResourceWatch per (type, name); a wildcard subscription adds
// watches for whatever the server sends.

import type { ResourceStatus } from '../../config-dump.ts';

export interface NackInfo {
  readonly version: string;
  readonly error: string;
  readonly at: number;
}

export class ResourceWatch {
  readonly typeUrl: string;
  readonly name: string;
  status: ResourceStatus = 'REQUESTED';
  /** The last good value, in the proto3 JSON mapping; kept through NACKs. */
  value: unknown = undefined;
  /** Version of `value` (SotW: the response's version_info; delta: the resource's version). */
  version: string | undefined = undefined;
  /** Names of the next type in the chain `value` needs (worked out once, on accept). */
  references: readonly string[] = [];
  /** `value` as the server encoded it, to recognise an unchanged resend without decoding. */
  bytes: Uint8Array | undefined = undefined;
  /** When `value` was accepted (ms since epoch). */
  updatedAt: number | undefined = undefined;
  /** The last rejected version, while the server has not sent a good one since. */
  nack: NackInfo | undefined = undefined;
  /** Subscribed by name (false: known only through a wildcard subscription). */
  named = false;
  /** Why the server is no longer sending it (delta removal, absent from a complete SotW response). */
  removedAt: number | undefined = undefined;
  /** The does-not-exist timer this watch waits on, while it is pending. */
  timer: RequestTimer | undefined = undefined;

  constructor(typeUrl: string, name: string) {
    this.typeUrl = typeUrl;
    this.name = name;
  }

  /**
   * Settled: the client has an answer for this resource — a value, or word that it does not
   * exist, or only a rejected version. A snapshot waits for pending resources, never for
   * settled ones.
   */
  get settled(): boolean {
    return this.status !== 'REQUESTED' || this.value !== undefined;
  }

  accept(value: unknown, version: string, now: number, bytes?: Uint8Array): void {
    this.value = value;
    this.bytes = bytes;
    this.version = version;
    this.updatedAt = now;
    this.status = 'ACKED';
    this.nack = undefined;
    this.removedAt = undefined;
    this.clearTimer();
  }

  reject(version: string, error: string, now: number): void {
    this.nack = { version, error, at: now };
    this.status = 'NACKED';
    this.clearTimer();
  }

  /** Drops the last good value too (gRFC A88 fail_on_data_errors): the resource is unusable. */
  dropValue(now: number): void {
    this.value = undefined;
    this.version = undefined;
    this.bytes = undefined;
    this.references = [];
    this.updatedAt = now;
  }

  markDoesNotExist(now: number): void {
    this.value = undefined;
    this.references = [];
    this.bytes = undefined;
    this.version = undefined;
    this.updatedAt = now;
    this.status = 'DOES_NOT_EXIST';
    this.removedAt = now;
    this.clearTimer();
  }

  clearTimer(): void {
    this.timer?.release();
    this.timer = undefined;
  }
}

/**
 * One does-not-exist timer for all the watches one request started: they expire together, and
 * a timer each was 10k setTimeout calls in one turn when CDS brought a 10k-name EDS
 * subscription. A watch that settles leaves it (clearTimer); the last one out stops it.
 */
export class RequestTimer {
  readonly #watches: ResourceWatch[] = [];
  #handle: NodeJS.Timeout | undefined;
  #waiting = 0;

  constructor(ms: number, expired: (w: ResourceWatch) => void) {
    this.#handle = setTimeout(() => {
      this.#handle = undefined;
      for (const w of this.#watches) if (w.timer === this) expired(w);
    }, ms);
    this.#handle.unref();
  }

  /** `w` now waits on this timer. */
  add(w: ResourceWatch): void {
    w.timer = this;
    this.#watches.push(w);
    this.#waiting++;
  }

  release(): void {
    if (--this.#waiting > 0 || !this.#handle) return;
    clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}

/** Every watch, by type URL then name. */
export class ResourceWatchState {
  readonly #byType = new Map<string, Map<string, ResourceWatch>>();
  /** Types subscribed as wildcard (every resource the server has). */
  readonly #wildcard = new Set<string>();

  of(typeUrl: string): Map<string, ResourceWatch> {
    let m = this.#byType.get(typeUrl);
    if (!m) this.#byType.set(typeUrl, (m = new Map()));
    return m;
  }

  get(typeUrl: string, name: string): ResourceWatch | undefined {
    return this.#byType.get(typeUrl)?.get(name);
  }

  /** The watch for `name`, created if new. */
  ensure(typeUrl: string, name: string): ResourceWatch {
    const m = this.of(typeUrl);
    let w = m.get(name);
    if (!w) m.set(name, (w = new ResourceWatch(typeUrl, name)));
    return w;
  }

  delete(typeUrl: string, name: string): void {
    const w = this.#byType.get(typeUrl)?.get(name);
    w?.clearTimer();
    // A dropped watch holds nothing: a resend recorded as held by it (last-response.ts) is not.
    if (w) w.bytes = undefined;
    this.#byType.get(typeUrl)?.delete(name);
  }

  setWildcard(typeUrl: string, on: boolean): void {
    if (on) this.#wildcard.add(typeUrl);
    else this.#wildcard.delete(typeUrl);
  }

  isWildcard(typeUrl: string): boolean {
    return this.#wildcard.has(typeUrl);
  }

  /** Names subscribed by name for `typeUrl`. */
  namedSubscriptions(typeUrl: string): string[] {
    return [...this.of(typeUrl).values()].filter((w) => w.named).map((w) => w.name);
  }

  /** Types with any subscription. */
  subscribedTypes(): string[] {
    const out = new Set(this.#wildcard);
    for (const [t, m] of this.#byType) if ([...m.values()].some((w) => w.named)) out.add(t);
    return [...out];
  }

  /** Versions of the resources held, for a delta stream's initial_resource_versions. */
  versionsOf(typeUrl: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const w of this.of(typeUrl).values()) if (w.value !== undefined && w.version !== undefined) out[w.name] = w.version;
    return out;
  }

  *all(): IterableIterator<ResourceWatch> {
    for (const m of this.#byType.values()) yield* m.values();
  }

  clearTimers(): void {
    for (const w of this.all()) w.clearTimer();
  }
}
