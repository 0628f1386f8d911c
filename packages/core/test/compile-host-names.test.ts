import { describe, expect, it } from 'vitest';
import { formatDuration, parseDurationNanos, percentToFraction, toDuration } from '../src/istio/compile/common/compile-duration.ts';
import {
  hostCovers,
  hostPort,
  hostsOverlap,
  isIpAddress,
  moreSpecificHost,
  mostSpecificHostMatch,
  requestHostCandidates,
  resolveShortName,
} from '../src/istio/compile/common/host-names.ts';

describe('host names', () => {
  it('resolves short names in the object namespace; dotted names, IPs and * are FQDNs', () => {
    expect(resolveShortName('reviews', 'prod', 'cluster.local')).toBe('reviews.prod.svc.cluster.local');
    expect(resolveShortName('reviews.prod', 'x', 'cluster.local')).toBe('reviews.prod');
    expect(resolveShortName('api.example.com', 'x', 'cluster.local')).toBe('api.example.com');
    expect(resolveShortName('*', 'x', 'cluster.local')).toBe('*');
    expect(resolveShortName('10.0.0.1', 'x', 'cluster.local')).toBe('10.0.0.1');
    expect(resolveShortName('::1', 'x', 'cluster.local')).toBe('::1');
  });

  it('*.foo.com covers bar.foo.com and deeper names, not foo.com; * covers all', () => {
    expect(hostCovers('*.foo.com', 'bar.foo.com')).toBe(true);
    expect(hostCovers('*.foo.com', 'a.bar.foo.com')).toBe(true);
    expect(hostCovers('*.foo.com', 'foo.com')).toBe(false);
    expect(hostCovers('*.foo.com', 'barfoo.com')).toBe(false);
    expect(hostCovers('*', 'anything.example')).toBe(true);
    expect(hostCovers('*.foo.com', '*.bar.foo.com')).toBe(true);
    expect(hostCovers('a.foo.com', 'a.foo.com')).toBe(true);
    expect(hostsOverlap('*.bar.foo.com', '*.foo.com')).toBe(true);
    expect(hostsOverlap('a.foo.com', '*.foo.com')).toBe(true);
  });

  it('orders hosts as Istio does and finds the most specific match', () => {
    expect(moreSpecificHost('a.foo.com', '*.foo.com')).toBe(true);
    expect(moreSpecificHost('*.bar.foo.com', '*.foo.com')).toBe(true);
    const specific = new Map([['a.foo.com', 'exact']]);
    const wildcard = new Map([
      ['*.foo.com', 'wide'],
      ['*.bar.foo.com', 'narrow'],
      ['*', 'all'],
    ]);
    expect(mostSpecificHostMatch('a.foo.com', specific, wildcard)?.value).toBe('exact');
    expect(mostSpecificHostMatch('x.bar.foo.com', specific, wildcard)?.value).toBe('narrow');
    expect(mostSpecificHostMatch('b.foo.com', specific, wildcard)?.value).toBe('wide');
    expect(mostSpecificHostMatch('other.org', specific, wildcard)?.value).toBe('all');
  });

  it('lists the names a client resolver tries, search domains first', () => {
    const ctx = { namespace: 'shop', clusterDomain: 'cluster.local' };
    expect(requestHostCandidates('reviews', ctx)).toEqual([
      'reviews.shop.svc.cluster.local',
      'reviews.svc.cluster.local',
      'reviews.cluster.local',
      'reviews',
    ]);
    expect(requestHostCandidates('reviews.prod', ctx)).toContain('reviews.prod.svc.cluster.local');
    expect(requestHostCandidates('reviews.prod.svc', ctx)).toContain('reviews.prod.svc.cluster.local');
    expect(requestHostCandidates('Reviews.Prod.svc.cluster.local', ctx)).toEqual(['reviews.prod.svc.cluster.local']);
    expect(requestHostCandidates('api.example.com.', ctx)).toEqual(['api.example.com']);
    expect(requestHostCandidates('10.1.2.3', ctx)).toEqual(['10.1.2.3']);
    expect(requestHostCandidates('a.b.c.d.e.f', ctx)[0]).toBe('a.b.c.d.e.f');
  });

  it('formats host:port with IPv6 brackets', () => {
    expect(hostPort('a.example.com', 80)).toBe('a.example.com:80');
    expect(hostPort('fd00::1', 80)).toBe('[fd00::1]:80');
    expect(isIpAddress('256.1.1.1')).toBe(false);
  });
});

describe('durations and percentages', () => {
  it('reads Go durations and writes proto3 JSON durations with 0, 3, 6 or 9 digits', () => {
    expect(toDuration('8ms')).toBe('0.008s');
    expect(toDuration('1m')).toBe('60s');
    expect(toDuration('1h1m1.5s')).toBe('3661.500s');
    expect(toDuration('0.025s')).toBe('0.025s');
    expect(toDuration('1.5us')).toBe('0.000001500s');
    expect(toDuration('10s')).toBe('10s');
    expect(toDuration('0')).toBe('0s');
    expect(toDuration('ten seconds')).toBeUndefined();
    expect(parseDurationNanos('1.2.3s')).toBeUndefined();
    expect(formatDuration(1_000_001)).toBe('0.001000001s');
  });

  it('truncates percentages to per-million as Go does', () => {
    expect(percentToFraction(100)).toEqual({ numerator: 1000000, denominator: 'MILLION' });
    expect(percentToFraction(0.1)).toEqual({ numerator: 1000, denominator: 'MILLION' });
    expect(percentToFraction(0.57)).toEqual({ numerator: 5699, denominator: 'MILLION' }); // 0.57 * 10000 = 5699.999…
  });
});
