// Envoy's slow start (Cluster.{RoundRobin,LeastRequest}LbConfig.slow_start_config), which Istio
// writes from a DestinationRule's `warmup` (or the deprecated `warmupDurationSecs`). A host that
// newly became usable takes a reduced share of traffic that grows over the window:
//
//   weight × max(minWeightPercent, timeFactor^(1 / aggression)),
//   timeFactor = max(1 ms, time since it became usable) / window
//
// Envoy starts a host's window when it joins a cluster that already had hosts (the first host
// set of a cluster is not ramped: every host would be equally new) or when it passes a health
// check again. A proxyless client runs no active health checks; its nearest equivalent is a host
// returning from outlier ejection, so that restarts the window too (cluster-runtime.ts).
//
// Balancers consult `active(now)` first, as Envoy checks noHostsAreInSlowStart(): once every
// window has passed, they go back to their plain (equal-weight) fast paths.

import type { EndpointState } from './endpoint-state.ts';

export interface SlowStartSettings {
  readonly windowMs: number;
  /** Ramp-up shape: 1 is linear, larger ramps faster early on. Envoy treats <= 0 as 1. */
  readonly aggression: number;
  /** Floor of the ramp, as a percentage of the host's weight (Envoy's default 10). */
  readonly minWeightPercent: number;
}

export class SlowStart {
  readonly settings: SlowStartSettings;
  readonly #now: () => number;
  /** The newest usableSince among the hosts: none is ramping once its window has passed. */
  readonly #latest: number;

  constructor(settings: SlowStartSettings, endpoints: readonly EndpointState[], now: () => number = Date.now) {
    this.settings = settings;
    this.#now = now;
    let latest = 0;
    for (const e of endpoints) latest = Math.max(latest, e.usableSince);
    this.#latest = latest;
  }

  now(): number {
    return this.#now();
  }

  /** Is any host still inside its window? */
  active(now: number): boolean {
    return this.#latest > 0 && now - this.#latest < this.settings.windowMs;
  }

  /** The host's weight as slow start scales it at `now`. */
  weight(e: EndpointState, now: number): number {
    return e.weight * slowStartFactor(this.settings, e.usableSince, now);
  }
}

/** The factor applied to a host's weight `now`, for a host usable since `since` (0 = long ago). */
export function slowStartFactor(s: SlowStartSettings, since: number, now: number): number {
  if (since === 0 || s.windowMs <= 0) return 1;
  const elapsed = now - since;
  if (elapsed >= s.windowMs) return 1;
  const aggression = s.aggression > 0 && !Number.isNaN(s.aggression) ? s.aggression : 1;
  const time = Math.max(1, elapsed) / s.windowMs;
  const ramp = aggression === 1 ? time : Math.pow(time, 1 / aggression);
  return Math.max(ramp, s.minWeightPercent / 100);
}
