// MAGLEV: Envoy's Maglev lookup table (maglev_lb.cc, after Google's Maglev paper, listing 1).
// Every host walks its own permutation of the table slots — offset xxHash64(address) % M,
// step xxHash64(address, seed 1) % (M − 1) + 1 — and hosts take turns claiming their next free
// slot until the table is full; a host of half the heaviest weight takes a turn every second
// round. A request's hash picks slot hash % M. Lookups are O(1) and, because each host's
// permutation does not depend on the others, removing a host moves few keys off the rest.
//
// Hosts are visited in address order, as Envoy sorts them, so the table does not depend on the
// order endpoints arrived in. M must be prime (each permutation then covers every slot);
// translate-cluster.ts rejects other sizes. Retries avoiding a host flip the hash with
// 2^64 − attempt, as Envoy's chooseHost does, to land far from the first choice.

import type { EndpointState } from './endpoint-state.ts';
import type { LoadBalancer } from './load-balancer.ts';
import { randomHash64, xxHash64 } from './xxhash64.ts';

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
/** Envoy's validation bound for MaglevLbConfig.table_size. */
export const MAX_MAGLEV_TABLE_SIZE = 5000011;

const U64 = 1n << 64n;

export interface MaglevOptions {
  readonly tableSize?: number;
}

export class MaglevLoadBalancer implements LoadBalancer {
  readonly #size: number;
  readonly #sizeBig: bigint;
  /** Host index per slot; empty when there are no hosts. */
  readonly #table: Int32Array;
  readonly #hosts: EndpointState[];
  readonly #random: () => number;

  constructor(endpoints: readonly EndpointState[], options: MaglevOptions = {}, random: () => number = Math.random) {
    const size = options.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
    if (!isPrime(size)) throw new RangeError(`Maglev table size ${size} is not a prime number`);
    this.#size = size;
    this.#sizeBig = BigInt(size);
    this.#random = random;
    this.#hosts = [...endpoints].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.#table = this.#hosts.length === 0 ? new Int32Array(0) : buildTable(this.#hosts, size);
  }

  /** How many slots each host owns, by endpoint key (Envoy reports min/max entries per host). */
  slotCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const i of this.#table) {
      const key = this.#hosts[i]!.key;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  pick(exclude?: ReadonlySet<EndpointState>, attempts = 5, hash?: bigint): EndpointState | undefined {
    if (this.#table.length === 0) return undefined;
    const h = hash ?? randomHash64(this.#random);
    for (let attempt = 0; ; attempt++) {
      const key = attempt === 0 ? h : h ^ (U64 - BigInt(attempt));
      const host = this.#hosts[this.#table[Number(key % this.#sizeBig)]!]!;
      if (!exclude || !exclude.has(host) || attempt >= attempts) return host;
    }
  }
}

function buildTable(hosts: readonly EndpointState[], size: number): Int32Array {
  const total = hosts.reduce((s, h) => s + h.weight, 0);
  const entries = hosts.map((h) => ({
    offset: Number(xxHash64(h.key) % BigInt(size)),
    skip: Number(xxHash64(h.key, 1n) % BigInt(size - 1)) + 1,
    weight: h.weight / total,
    target: 0,
    next: 0,
  }));
  // reduce, not Math.max(...spread): a cluster of 100k hosts would overflow the stack.
  const maxWeight = entries.reduce((m, e) => Math.max(m, e.weight), 0);
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < size; iteration++) {
    for (let i = 0; i < entries.length && filled < size; i++) {
      const e = entries[i]!;
      // A host of weight maxWeight / k claims a slot every k-th round.
      if (iteration * e.weight < e.target) continue;
      e.target += maxWeight;
      let slot = (e.offset + e.skip * e.next) % size;
      while (table[slot] !== -1) {
        e.next++;
        slot = (e.offset + e.skip * e.next) % size;
      }
      table[slot] = i;
      e.next++;
      filled++;
    }
  }
  return table;
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
