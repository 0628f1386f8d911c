// Envoy's HTTP fault filter, per route: first the delay, then the abort, each drawn
// independently against its percentage.

import type { FractionalPercent, HTTPFault } from '../xds/resources.ts';
import { durationToMs } from '../xds/duration.ts';

export interface FaultConfig {
  readonly delayMs: number | undefined;
  readonly delayPerMillion: number;
  readonly abortStatus: number | undefined;
  readonly abortGrpcStatus: number | undefined;
  readonly abortPerMillion: number;
}

export function perMillion(p: FractionalPercent | undefined): number {
  // An absent percentage is 0%: Envoy's fault filter reads a default FractionalPercent, and
  // Istio documents "if not specified, no request will be delayed/aborted".
  if (!p) return 0;
  const n = p.numerator ?? 0;
  switch (p.denominator ?? 'HUNDRED') {
    case 'HUNDRED': return Math.min(1_000_000, n * 10_000);
    case 'TEN_THOUSAND': return Math.min(1_000_000, n * 100);
    case 'MILLION': return Math.min(1_000_000, n);
  }
}

export function compileFault(f: HTTPFault | undefined): FaultConfig | undefined {
  if (!f || (!f.delay && !f.abort)) return undefined;
  return {
    delayMs: f.delay?.fixedDelay !== undefined ? durationToMs(f.delay.fixedDelay) : undefined,
    delayPerMillion: f.delay ? perMillion(f.delay.percentage) : 0,
    abortStatus: f.abort?.httpStatus,
    abortGrpcStatus: f.abort?.grpcStatus,
    abortPerMillion: f.abort ? perMillion(f.abort.percentage) : 0,
  };
}

export interface FaultDraw {
  delayMs: number;
  abortStatus: number | undefined;
  abortGrpcStatus: number | undefined;
}

const NO_FAULT: FaultDraw = Object.freeze({ delayMs: 0, abortStatus: undefined, abortGrpcStatus: undefined });

/** Decides, for one request, which faults apply. */
export function drawFault(f: FaultConfig | undefined, random: () => number = Math.random): FaultDraw {
  if (!f) return NO_FAULT;
  const delay = f.delayMs !== undefined && random() * 1_000_000 < f.delayPerMillion ? f.delayMs : 0;
  const aborted = (f.abortStatus !== undefined || f.abortGrpcStatus !== undefined) && random() * 1_000_000 < f.abortPerMillion;
  if (delay === 0 && !aborted) return NO_FAULT;
  return {
    delayMs: delay,
    abortStatus: aborted ? f.abortStatus : undefined,
    abortGrpcStatus: aborted ? f.abortGrpcStatus : undefined,
  };
}
