// LastResponse, the in-place comparison of a SotW resend with the last response of its type:
// resource i's name is reused only when its bytes are the very bytes resource i had.

import { describe, expect, it } from 'vitest';
import { LastResponse } from '../src/config/xds/last-response.ts';

/** Slices of one buffer, as a response's resources are. */
function response(...parts: string[]): Uint8Array[] {
  const whole = Buffer.from(parts.join(''));
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of parts) {
    out.push(new Uint8Array(whole.buffer, whole.byteOffset + at, p.length));
    at += p.length;
  }
  return out;
}

describe('LastResponse', () => {
  const last = new LastResponse(['a', 'b', 'c'], response('alpha', 'bravo', 'charlie'));

  it('names resource i when its bytes equal resource i of the last response', () => {
    const next = response('alpha', 'BRAVO', 'charlie', 'delta');
    expect(last.nameIfSame(0, next[0]!)).toBe('a');
    expect(last.nameIfSame(2, next[2]!)).toBe('c');
  });

  it('names nothing for other bytes, another length, another position or a resource past the end', () => {
    const next = response('alpha', 'BRAVO', 'charlie', 'delta');
    expect(last.nameIfSame(1, next[1]!)).toBeUndefined();
    expect(last.nameIfSame(1, next[0]!)).toBeUndefined();
    expect(last.nameIfSame(0, next[2]!)).toBeUndefined();
    expect(last.nameIfSame(3, next[3]!)).toBeUndefined();
  });

  it('compares views of another buffer than the first resource’s, and keeps the bytes resource i came in', () => {
    const views = [...response('alpha'), ...response('bravo')];
    const mixed = new LastResponse(['a', 'b'], views);
    expect(mixed.nameIfSame(1, response('bravo')[0]!)).toBe('b');
    expect(mixed.nameIfSame(1, response('brave')[0]!)).toBeUndefined();
    expect(mixed.viewAt(1)).toBe(views[1]);
    expect(new LastResponse([], []).nameIfSame(0, response('x')[0]!)).toBeUndefined();
  });
});
