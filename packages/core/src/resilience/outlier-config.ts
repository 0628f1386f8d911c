// Envoy's OutlierDetection, as the detector reads it. Defaults are Envoy's; Istio sets the
// fields a DestinationRule gives (and enforcing percentages of 100 for the consecutive
// detectors it enables).

import { durationToMs } from '../xds/duration.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';

export interface OutlierConfig {
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  /** 0 disables the detector. */
  readonly consecutive5xx: number;
  readonly consecutiveGateway: number;
  readonly consecutiveLocalOrigin: number;
  readonly splitLocalOrigin: boolean;
}

type Raw = Record<string, unknown>;

function num(raw: Raw, key: string, dflt: number): number {
  const v = raw[key];
  return typeof v === 'number' ? v : dflt;
}

function dur(raw: Raw, key: string, dflt: number, field: string): Result<number> {
  const v = raw[key];
  if (v === undefined) return ok(dflt);
  const ms = typeof v === 'string' ? durationToMs(v) : undefined;
  if (ms === undefined || ms <= 0) return fail(`${field}.${key}: ${JSON.stringify(v)} must be a positive duration`);
  return ok(ms);
}

/** Parses Cluster.outlierDetection; undefined when the cluster has none. */
export function outlierConfig(raw: Raw | undefined, field: string): Result<OutlierConfig | undefined> {
  if (!raw) return ok(undefined);
  const interval = dur(raw, 'interval', 10_000, field);
  if (!interval.ok) return interval;
  const base = dur(raw, 'baseEjectionTime', 30_000, field);
  if (!base.ok) return base;
  const max = dur(raw, 'maxEjectionTime', Math.max(300_000, base.value), field);
  if (!max.ok) return max;
  const pct = num(raw, 'maxEjectionPercent', 10);
  if (pct < 0 || pct > 100) return fail(`${field}.maxEjectionPercent: ${pct} is not in [0, 100]`);
  // A detector runs when its threshold is set and its enforcing percentage is above 0
  // (Envoy's defaults: consecutive_5xx 5 enforced 100%, gateway 5 enforced 0%, local origin 5 enforced 100%).
  const enforced = (key: string, dflt: number) => num(raw, key, dflt) > 0;
  const split = raw['splitExternalLocalOriginErrors'] === true;
  return ok({
    intervalMs: interval.value,
    baseEjectionMs: base.value,
    maxEjectionMs: max.value,
    maxEjectionPercent: pct,
    consecutive5xx: enforced('enforcingConsecutive5xx', 100) ? num(raw, 'consecutive5xx', 5) : 0,
    consecutiveGateway: enforced('enforcingConsecutiveGatewayFailure', 0) ? num(raw, 'consecutiveGatewayFailure', 5) : 0,
    consecutiveLocalOrigin: split && enforced('enforcingConsecutiveLocalOriginFailure', 100) ? num(raw, 'consecutiveLocalOriginFailure', 5) : 0,
    splitLocalOrigin: split,
  });
}
