import { describe, expect, it } from 'vitest';
import { xxHash64, xxHash64Chain } from '../src/lb/xxhash64.ts';

// Reference values from the xxHash reference implementation (XXH64), checked against an
// independent build of it; they cover each code path: < 4, < 8, < 32, exactly 32 and > 32
// bytes, multi-byte UTF-8, and non-zero seeds.
describe('xxHash64', () => {
  const vectors: [string, bigint, bigint][] = [
    ['', 0n, 0xef46db3751d8e999n],
    ['a', 0n, 0xd24ec4f1a98c6e5bn],
    ['abc', 0n, 0x44bc2cf5ad770999n],
    ['abc', 1n, 0xbea9ca8199328908n],
    ['hello', 0n, 0x26c7827d889f6da3n],
    ['10.0.0.1:8080_0', 0n, 0x23a29ae775dfd4a3n],
    ['Nobody inspects the spammish repetition', 0n, 0xfbcea83c8a378bf1n],
    ['x'.repeat(31), 0n, 0x60dd0d01083b99f0n],
    ['y'.repeat(32), 0n, 0x64da1f1d3495ce66n],
    ['z'.repeat(100), 0n, 0xd30e21c99c2a766dn],
    ['z'.repeat(100), 0x9e3779b97f4a7c15n, 0x0f773d6577aed318n],
    ['héllo wörld ✓', 0n, 0x34d9919c86f55ac4n],
  ];
  for (const [input, seed, want] of vectors) {
    it(`${JSON.stringify(input.length > 20 ? `${input.slice(0, 3)}…(${input.length})` : input)} seed ${seed}`, () => {
      expect(xxHash64(input, seed)).toBe(want);
    });
  }

  it('hashes bytes and strings alike', () => {
    expect(xxHash64(new TextEncoder().encode('abc'))).toBe(0x44bc2cf5ad770999n);
  });

  it('chains several values through the seed, as Envoy hashes a header with several values', () => {
    expect(xxHash64Chain(['abc'])).toBe(xxHash64('abc'));
    expect(xxHash64Chain(['a', 'b'])).toBe(xxHash64('b', xxHash64('a')));
    expect(xxHash64Chain(['a', 'b'])).not.toBe(xxHash64Chain(['b', 'a']));
  });
});
