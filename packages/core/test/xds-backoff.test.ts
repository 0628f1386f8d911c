// The ADS reconnect back-off: exponential, jittered within ±20 %, capped, and back to the
// initial delay after a healthy stream (grpc-js-xds's never did).

import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/config/backoff.ts';

describe('ADS reconnect back-off', () => {
  it('grows ×1.6 from 1 s to the 30 s cap, jittered within ±20 %', () => {
    for (const r of [0, 0.5, 0.999]) {
      const b = new Backoff({}, () => r);
      let base = 1000;
      for (let i = 0; i < 15; i++) {
        const d = b.nextDelayMs();
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(d).toBeLessThanOrEqual(Math.ceil(base * 1.2));
        base = Math.min(30_000, base * 1.6);
      }
    }
  });

  it('starts over after reset()', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.5);
    for (let i = 0; i < 10; i++) b.nextDelayMs();
    expect(b.nextDelayMs()).toBe(1000);
    b.reset();
    expect(b.nextDelayMs()).toBe(100);
  });
});
