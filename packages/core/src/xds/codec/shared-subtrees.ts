// Decoded sub-messages shared between resources, by wire bytes. A mesh's resources repeat the
// same small messages thousands of times (every sidecar Cluster's TLS certificate config and
// load-balancing policy, every route's retry policy, every endpoint's metadata): decoded one by
// one they were ~60 objects and ~35 strings per resource, held for as long as the resource is,
// and each one was also work for every garbage collection while a 10k-service snapshot
// applied. A sub-message whose bytes (and type) equal one decoded recently is that same decoded
// object instead, and is not decoded again; likewise a short string equal to one seen recently
// (type URLs, "0s", the cluster names routes, clusters and endpoints all repeat).
//
// Only for decodes whose results nobody changes (the ADS client's resources, which are never
// changed once decoded): a shared object changed in one place would change in every resource
// holding it. The decoder itself never changes an object it may have shared (see its merge of a
// repeated singular message).

import type { MessageDesc } from './schema.ts';

/** Larger sub-messages are decoded as usual (their parts may still be shared). */
export const MAX_SHARED_BYTES = 1024;
/** Entries kept before the table starts over (it refills with what still repeats). */
const MAX_ENTRIES = 8192;
/** Longer strings are kept as decoded (type URLs and cluster names are shorter). */
const MAX_SHARED_STRING = 128;
const MAX_STRINGS = 16384;
/** Bytes of encoded sub-messages kept to compare with, likewise. */
const ARENA_BYTES = 1 << 20;

interface Entry {
  readonly desc: MessageDesc;
  readonly at: number;
  readonly length: number;
  /** The nesting depth it was decoded at: a hit deeper than that could break the depth bound. */
  readonly depth: number;
  readonly value: object;
  readonly next: Entry | undefined;
}

export class SharedSubtrees {
  readonly #byHash = new Map<number, Entry>();
  readonly #strings = new Map<string, string>();
  #arena = new Uint8Array(ARENA_BYTES);
  #used = 0;
  #entries = 0;

  /** The decoded value shared for buf[start, end) as `desc`, if one is known. */
  find(desc: MessageDesc, buf: Uint8Array, start: number, end: number, depth: number, hash: number): object | undefined {
    const arena = this.#arena;
    const length = end - start;
    for (let e = this.#byHash.get(hash); e !== undefined; e = e.next) {
      if (e.desc !== desc || e.length !== length || depth > e.depth) continue;
      let i = 0;
      while (i < length && arena[e.at + i] === buf[start + i]) i++;
      if (i === length) return e.value;
    }
    return undefined;
  }

  /** The copy of `s` kept earlier, else `s` (kept from now on). */
  intern(s: string): string {
    if (s.length > MAX_SHARED_STRING || s.length === 0) return s;
    const known = this.#strings.get(s);
    if (known !== undefined) return known;
    if (this.#strings.size >= MAX_STRINGS) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }

  remember(desc: MessageDesc, buf: Uint8Array, start: number, end: number, depth: number, hash: number, value: object): void {
    const length = end - start;
    if (this.#entries >= MAX_ENTRIES || this.#used + length > ARENA_BYTES) {
      // Start over rather than evict one by one: cheap, and what repeats is back within a few resources.
      this.#byHash.clear();
      this.#arena = new Uint8Array(ARENA_BYTES);
      this.#used = 0;
      this.#entries = 0;
    }
    this.#arena.set(buf.subarray(start, end), this.#used);
    this.#byHash.set(hash, { desc, at: this.#used, length, depth, value, next: this.#byHash.get(hash) });
    this.#used += length;
    this.#entries++;
  }
}

/** FNV-1a over buf[start, end). */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}
