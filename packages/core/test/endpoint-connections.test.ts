// The rule both adapters use to pick one of an endpoint's HTTP/2 connections (MeshAgent's pools,
// gRPC's subchannels): the first while fewer than HTTP2_STREAMS_BEFORE_SPREAD run on it, then the
// least busy, the earlier on a tie. The adapters' own tests show it on real connections.

import { describe, expect, it } from 'vitest';
import { http2ConnectionFor, HTTP2_STREAMS_BEFORE_SPREAD } from '../src/snapshot/endpoint-connections.ts';

const count = (n: number) => n;

describe('http2ConnectionFor', () => {
  it('keeps to the first connection below the threshold, however idle the others are', () => {
    expect(HTTP2_STREAMS_BEFORE_SPREAD).toBe(8);
    for (let n = 0; n < 8; n++) expect(http2ConnectionFor([n, 0], count)).toBe(0);
  });

  it('from 8 in flight on the first, picks the connection with the fewest', () => {
    expect(http2ConnectionFor([8, 0], count)).toBe(1);
    expect(http2ConnectionFor([8, 7], count)).toBe(1);
    expect(http2ConnectionFor([12, 9, 3], count)).toBe(2);
    expect(http2ConnectionFor([9, 10], count)).toBe(0);
  });

  it('gives a tie to the earlier connection', () => {
    expect(http2ConnectionFor([8, 8], count)).toBe(0);
    expect(http2ConnectionFor([10, 9, 9], count)).toBe(1);
  });

  it('reads each connection through the adapter\'s count (an unopened one has none)', () => {
    const active = (c: { active: number } | undefined) => c?.active ?? 0;
    expect(http2ConnectionFor([{ active: 8 }, undefined], active)).toBe(1);
    expect(http2ConnectionFor([undefined, undefined], active)).toBe(0);
  });
});
