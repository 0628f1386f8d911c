// Istio CRDs spell durations the way Go does ("8ms", "1m30s", "0.5s"); xDS JSON wants
// google.protobuf.Duration strings ("0.008s", "90s", "0.500s"), and Istio percentages become
// Envoy FractionalPercents. Both conversions live here so every field converts the same way.

import type { Duration, FractionalPercent } from '../../../xds/resources.ts';

const UNIT_NANOS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const PART = /(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/y;

/** Nanoseconds in a Go/Istio duration string, or undefined when it is not one. */
export function parseDurationNanos(text: string): number | undefined {
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m || m[1] === '' || m[1] === '.') return undefined;
    total += Number(m[1]) * (UNIT_NANOS[m[2] as string] as number);
  }
  return sign * Math.round(total);
}

/** proto3 JSON form of a duration: whole seconds, or 3, 6 or 9 fractional digits. */
export function formatDuration(nanos: number): Duration {
  const negative = nanos < 0;
  const abs = Math.abs(Math.round(nanos));
  const secs = Math.floor(abs / 1e9);
  const frac = abs - secs * 1e9;
  let out = String(secs);
  if (frac !== 0) {
    const nine = String(frac).padStart(9, '0');
    out += '.' + (frac % 1e6 === 0 ? nine.slice(0, 3) : frac % 1e3 === 0 ? nine.slice(0, 6) : nine);
  }
  return `${negative ? '-' : ''}${out}s`;
}

/** Converts an Istio duration; undefined when it cannot be read (the caller reports it). */
export function toDuration(text: string | undefined): Duration | undefined {
  if (text === undefined) return undefined;
  const ns = parseDurationNanos(text);
  return ns === undefined ? undefined : formatDuration(ns);
}

/** Whole seconds of a duration, as istiod writes keepalive fields (uint32 seconds). */
export function durationSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ns = parseDurationNanos(text);
  return ns === undefined ? undefined : Math.trunc(ns / 1e9);
}

/**
 * An Istio `Percent` (0-100, double) as Envoy's per-million fraction, truncated the way Go's
 * uint32(value*10000) truncates it (route.translatePercentToFractionalPercent).
 */
export function percentToFraction(value: number | undefined): FractionalPercent {
  return { numerator: Math.trunc((value ?? 0) * 10000), denominator: 'MILLION' };
}

/** An integer percentage as a per-hundred fraction (route.translateIntegerToFractionalPercent). */
export function integerPercentToFraction(value: number): FractionalPercent {
  return { numerator: Math.trunc(value), denominator: 'HUNDRED' };
}
