// OverlayMap: a shared base plus replaced values reads like the merged map, never writes the
// base, and flattens once replacements pile up.

import { describe, expect, it } from 'vitest';
import { OverlayMap } from '../src/snapshot/overlay-map.ts';

describe('OverlayMap', () => {
  const base = new Map(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i] as const));

  it('reads as the base with the replacements applied, in the base order', () => {
    const m = OverlayMap.replacing(base, new Map([['k5', -5], ['k7', -7]]));
    expect(m.get('k5')).toBe(-5);
    expect(m.get('k6')).toBe(6);
    expect(m.get('nope')).toBeUndefined();
    expect(m.has('k7')).toBe(true);
    expect(m.size).toBe(2000);
    expect([...m.keys()].slice(4, 8)).toEqual(['k4', 'k5', 'k6', 'k7']);
    expect([...m.values()].slice(4, 8)).toEqual([4, -5, 6, -7]);
    expect([...m].slice(5, 6)).toEqual([['k5', -5]]);
    const seen: number[] = [];
    m.forEach((v) => seen.push(v));
    expect(seen.slice(5, 8)).toEqual([-5, 6, -7]);
    expect(base.get('k5')).toBe(5); // the base is shared, never written
  });

  it('layers do not nest, and a later replacement wins', () => {
    const a = OverlayMap.replacing(base, new Map([['k1', -1]]));
    const b = OverlayMap.replacing(a, new Map([['k1', -11], ['k2', -2]]));
    expect(a.get('k1')).toBe(-1);
    expect(b.get('k1')).toBe(-11);
    expect(b.get('k2')).toBe(-2);
  });

  it('flattens into a plain Map when replacements pile up', () => {
    let m: ReadonlyMap<string, number> = base;
    let flattened = 0;
    for (let i = 0; i < 200; i++) {
      m = OverlayMap.replacing(m, new Map([[`k${i}`, -i]]));
      if (m instanceof Map) flattened++;
    }
    expect(flattened).toBe(1);
    expect(m.get('k199')).toBe(-199);
    expect(m.get('k1999')).toBe(1999);
  });

  it('knows which keys it replaced, from the map it was made from, a few steps back', () => {
    const a = OverlayMap.replacing(base, new Map([['k1', -1]]));
    const b = OverlayMap.replacing(a, new Map([['k2', -2], ['k1', -11]]));
    expect(OverlayMap.changedKeys(base, a)).toEqual(['k1']);
    expect(OverlayMap.changedKeys(a, b)).toEqual(['k2', 'k1']);
    expect([...OverlayMap.changedKeys(base, b)!].sort()).toEqual(['k1', 'k2']);
    expect(OverlayMap.changedKeys(a, a)).toEqual([]);
    // Not made from it: unknown, the caller compares.
    expect(OverlayMap.changedKeys(b, a)).toBeUndefined();
    expect(OverlayMap.changedKeys(new Map(base), a)).toBeUndefined();
    // A flattened result keeps its lineage too.
    let m: ReadonlyMap<string, number> = base;
    for (let i = 0; i < 200; i++) {
      const next = OverlayMap.replacing(m, new Map([[`k${i}`, -i]]));
      expect(OverlayMap.changedKeys(m, next)).toEqual([`k${i}`]);
      m = next;
    }
  });
});
