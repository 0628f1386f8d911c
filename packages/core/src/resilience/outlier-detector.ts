// Envoy's outlier detection for one cluster: per-host consecutive-error counters, inline
// ejection when one trips, and a sweep every `interval` that returns hosts whose ejection time
// is over. Ejection time is base × the host's ejection count (capped at the max), and the count
// decays by one for every base period a returned host stays healthy. At most
// maxEjectionPercent of hosts are ejected at once, but one host may always be.

import type { EndpointState } from '../lb/endpoint-state.ts';
import type { OutlierConfig } from './outlier-config.ts';
import { effectiveStatus, isLocalOrigin, type Outcome } from './outcome.ts';

export interface OutlierEvents {
  /** The set of ejected hosts changed. */
  changed(): void;
  ejected(host: EndpointState, reason: 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure', until: number): void;
  returned(host: EndpointState): void;
}

export class OutlierDetector {
  config: OutlierConfig;
  #hosts: () => readonly EndpointState[];
  readonly #events: OutlierEvents;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  ejectionsActive = 0;
  ejectionsTotal = 0;
  /** Ejections refused by max_ejection_percent (Envoy's ejections_overflow). */
  ejectionsOverflow = 0;

  constructor(config: OutlierConfig, hosts: () => readonly EndpointState[], events: OutlierEvents, now: () => number = Date.now) {
    this.config = config;
    this.#hosts = hosts;
    this.#events = events;
    this.#now = now;
    this.#schedule();
  }

  /** Takes a new config (snapshot swap) without losing host state. */
  update(config: OutlierConfig): void {
    const reschedule = config.intervalMs !== this.config.intervalMs;
    this.config = config;
    if (reschedule) this.#schedule();
    this.recount();
  }

  /** Recounts ejected hosts after the host list changed (removed hosts no longer count). */
  recount(): void {
    this.ejectionsActive = this.#hosts().filter((h) => h.ejectedUntil > 0).length;
  }

  /** Feeds one attempt's outcome; may eject the host inline. */
  record(host: EndpointState, outcome: Outcome): void {
    const c = this.config;
    if (c.splitLocalOrigin && isLocalOrigin(outcome)) {
      host.consecutiveLocalOrigin++;
      if (c.consecutiveLocalOrigin > 0 && host.consecutiveLocalOrigin >= c.consecutiveLocalOrigin) this.#eject(host, 'consecutive_local_origin_failure');
      return;
    }
    if (c.splitLocalOrigin) host.consecutiveLocalOrigin = 0;
    const status = effectiveStatus(outcome);
    if (status < 500) {
      host.consecutive5xx = 0;
      host.consecutiveGateway = 0;
      return;
    }
    host.consecutive5xx++;
    if (status === 502 || status === 503 || status === 504) host.consecutiveGateway++;
    else host.consecutiveGateway = 0;
    if (c.consecutiveGateway > 0 && host.consecutiveGateway >= c.consecutiveGateway) this.#eject(host, 'consecutive_gateway_failure');
    else if (c.consecutive5xx > 0 && host.consecutive5xx >= c.consecutive5xx) this.#eject(host, 'consecutive_5xx');
  }

  #eject(host: EndpointState, reason: 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure'): void {
    host.consecutive5xx = host.consecutiveGateway = host.consecutiveLocalOrigin = 0;
    if (host.ejectedUntil > 0) return;
    const total = this.#hosts().length;
    const allowed = this.ejectionsActive === 0 || (100 * (this.ejectionsActive + 1)) / total <= this.config.maxEjectionPercent;
    if (!allowed || total === 0) {
      this.ejectionsOverflow++;
      return;
    }
    host.ejections++;
    const now = this.#now();
    const c = this.config;
    host.ejectedUntil = now + Math.min(c.baseEjectionMs * host.ejections, Math.max(c.baseEjectionMs, c.maxEjectionMs));
    this.ejectionsActive++;
    this.ejectionsTotal++;
    this.#events.ejected(host, reason, host.ejectedUntil);
    this.#events.changed();
  }

  /** The interval sweep: return hosts whose time is up; decay the counts of healthy ones. */
  sweep(): void {
    const now = this.#now();
    let changed = false;
    for (const host of this.#hosts()) {
      if (host.ejectedUntil > 0) {
        if (now >= host.ejectedUntil) {
          host.ejectedUntil = 0;
          host.lastUnejected = now;
          this.ejectionsActive--;
          changed = true;
          this.#events.returned(host);
        }
      } else if (host.ejections > 0 && now - host.lastUnejected >= this.config.baseEjectionMs) {
        host.ejections--;
        host.lastUnejected = now;
      }
    }
    if (changed) this.#events.changed();
  }

  #schedule(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = setInterval(() => this.sweep(), this.config.intervalMs);
    // The sweep must never keep a process alive on its own.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
