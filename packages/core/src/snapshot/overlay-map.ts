// A read-only map that is an older map plus a few replaced values, so a snapshot that changes
// a handful of clusters out of 12,000 shares the rest instead of copying them (a 12k-entry
// Map copy costs ~2 ms here; one EDS push must cost far less). The base is never written
// after it is built, so every snapshot sharing it stays immutable. Layers do not nest: a new
// overlay copies the small replacement map, and once that grows past a fraction of the base
// the whole thing is flattened into a plain Map, so a long run of changes costs amortised
// O(changes) and a read is at most two look-ups.
//
// A map made by replacing() also remembers what it was made from and which keys it replaced
// (its lineage), so whoever holds both the old and the new map learns what changed without
// walking either: a source that hands the mesh `OverlayMap.replacing(last.endpoints, pushed)`
// makes an EDS push cost O(changed assignments), flat in mesh size (build-snapshot.ts).

const FLATTEN_AT = 64;
/** How many replacing() steps changedKeys() follows back (sets a source built but never handed over). */
const LINEAGE_DEPTH = 16;

/**
 * Map → the map it was made from and the keys replaced. The older map is held weakly: a chain
 * of flattened 12k-entry maps must not stay alive because the newest one remembers its origin.
 */
const lineage = new WeakMap<object, { from: WeakRef<object>; keys: readonly unknown[] }>();

export class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  /** Replacements for keys the base has; never a new key. */
  readonly #over: ReadonlyMap<K, V>;

  private constructor(base: ReadonlyMap<K, V>, over: ReadonlyMap<K, V>) {
    this.#base = base;
    this.#over = over;
  }

  /**
   * `from` with `replace` applied. Every key of `replace` must already be in `from` (the key
   * set is unchanged); the result is a plain Map when flattening is cheaper to read.
   */
  static replacing<K, V>(from: ReadonlyMap<K, V>, replace: ReadonlyMap<K, V>): ReadonlyMap<K, V> {
    const base = from instanceof OverlayMap ? (from.#base as ReadonlyMap<K, V>) : from;
    const over = new Map<K, V>(from instanceof OverlayMap ? (from.#over as ReadonlyMap<K, V>) : undefined);
    for (const [k, v] of replace) over.set(k, v);
    let out: ReadonlyMap<K, V>;
    if (over.size > FLATTEN_AT && over.size * 16 > base.size) {
      const flat = new Map(base);
      for (const [k, v] of over) flat.set(k, v);
      out = flat;
    } else {
      out = new OverlayMap(base, over);
    }
    lineage.set(out, { from: new WeakRef(from), keys: [...replace.keys()] });
    return out;
  }

  /**
   * The keys whose values may differ between `before` and `after` when `after` was made from
   * `before` by replacing() (directly or in a few steps); undefined when that is not known,
   * and the caller must compare the maps itself. The key sets are the same.
   */
  static changedKeys<K>(before: ReadonlyMap<K, unknown>, after: ReadonlyMap<K, unknown>): readonly K[] | undefined {
    let keys: readonly K[] = [];
    let m: object = after;
    for (let depth = 0; depth <= LINEAGE_DEPTH; depth++) {
      if (m === before) return depth > 1 ? [...new Set(keys)] : keys;
      const l = lineage.get(m);
      const from = l?.from.deref();
      if (!from) return undefined;
      keys = depth === 0 ? (l!.keys as readonly K[]) : [...keys, ...(l!.keys as readonly K[])];
      m = from;
    }
    return undefined;
  }

  get size(): number {
    return this.#base.size;
  }

  get(key: K): V | undefined {
    const v = this.#over.get(key);
    return v !== undefined ? v : this.#base.get(key);
  }

  has(key: K): boolean {
    return this.#base.has(key);
  }

  // Iteration walks the base with forEach and looks each key up in the (small) overlay: a
  // generator per entry cost ~1 µs each here, which made comparing a 12k-entry overlay with a
  // copy of it take tens of milliseconds.
  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    const over = this.#over;
    this.#base.forEach((v, k) => {
      const o = over.get(k);
      fn.call(thisArg, o !== undefined ? o : v, k, this);
    });
  }

  entries(): MapIterator<[K, V]> {
    const out: [K, V][] = [];
    this.forEach((v, k) => out.push([k, v]));
    return out[Symbol.iterator]() as unknown as MapIterator<[K, V]>;
  }

  keys(): MapIterator<K> {
    return this.#base.keys();
  }

  values(): MapIterator<V> {
    const out: V[] = [];
    this.forEach((v) => out.push(v));
    return out[Symbol.iterator]() as unknown as MapIterator<V>;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}
