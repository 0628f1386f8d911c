// How attempt endings read to the retry policy, and the grpc-timeout header, with no network.

import { describe, expect, it } from 'vitest';
import { constants as h2 } from 'node:http2';
import { Metadata, status } from '@grpc/grpc-js';
import { connectFailureOutcomes, isLocalFailure, statusOutcomes } from '../src/call-outcome.ts';
import { formatGrpcTimeout, parseGrpcTimeout } from '../src/call-deadline.ts';

const s = (code: number, details: string, rstCode?: number) => ({ code, details, metadata: new Metadata(), ...(rstCode === undefined ? {} : { rstCode }) });

describe('statusOutcomes', () => {
  it("reads a server's trailers-only status as a response with that gRPC status", () => {
    expect(statusOutcomes(s(status.UNAVAILABLE, 'down'))).toEqual([{ kind: 'response', status: 200, grpcStatus: status.UNAVAILABLE }]);
  });

  it('reads a non-gRPC HTTP answer as that HTTP status', () => {
    expect(statusOutcomes(s(status.UNAVAILABLE, 'Received HTTP status code 503'))).toEqual([{ kind: 'response', status: 503, grpcStatus: undefined }]);
  });

  it('reads a broken stream as a reset to Envoy and as its gRPC status to A44', () => {
    const dropped = statusOutcomes(s(status.UNAVAILABLE, 'Connection dropped'));
    expect(dropped.map((o) => o.kind)).toEqual(['reset', 'response']);
    expect(isLocalFailure(dropped)).toBe(true);
    const rst = statusOutcomes(s(status.INTERNAL, 'Received RST_STREAM with code 2', h2.NGHTTP2_INTERNAL_ERROR));
    expect(rst[0]!.kind).toBe('reset');
    expect(rst[1]).toEqual({ kind: 'response', status: 200, grpcStatus: status.INTERNAL });
  });

  it('reads REFUSED_STREAM as refused-stream', () => {
    expect(statusOutcomes(s(status.UNAVAILABLE, 'Stream refused by server', h2.NGHTTP2_REFUSED_STREAM))[0]!.kind).toBe('refused-stream');
  });

  it('reads a failed connect as connect-failure and UNAVAILABLE', () => {
    const o = connectFailureOutcomes(new Error('ECONNREFUSED'));
    expect(o.map((x) => x.kind)).toEqual(['connect-failure', 'response']);
    expect(o[1]).toEqual({ kind: 'response', status: 200, grpcStatus: status.UNAVAILABLE });
  });
});

describe('grpc-timeout', () => {
  it('parses every unit', () => {
    expect(parseGrpcTimeout('1500m')).toBe(1500);
    expect(parseGrpcTimeout('2S')).toBe(2000);
    expect(parseGrpcTimeout('1M')).toBe(60_000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('5000u')).toBe(5);
    expect(parseGrpcTimeout('123456789m')).toBeUndefined();
    expect(parseGrpcTimeout('soon')).toBeUndefined();
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
  });

  it('formats within 8 digits and never as zero', () => {
    expect(formatGrpcTimeout(0)).toBe('1m');
    expect(formatGrpcTimeout(1234.2)).toBe('1235m');
    expect(formatGrpcTimeout(200_000_000)).toBe('200000S');
    for (const ms of [1, 999, 99_999_999, 100_000_000, 1e12]) expect(formatGrpcTimeout(ms)).toMatch(/^\d{1,8}[mSH]$/);
  });
});
