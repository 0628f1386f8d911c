// One endpoint's HTTP/2 traffic over more than one connection: undici's Pool puts every stream
// to an HTTP/2 endpoint on one connection, so an endpoint that should get two under load (core's
// endpoint-connections.ts says why and when) gets two pools, and core's http2ConnectionFor picks
// the one for each request.

import type { EventEmitter } from 'node:events';
import type { Client, Dispatcher, Pool } from 'undici';
import { http2ConnectionFor } from '@meshlet/core/adapter';
import { ClosingDispatcher } from './closing-dispatcher.ts';

/** What EndpointPools reads of an endpoint's pool to know whether it is still in use. */
export interface PoolStats {
  readonly connected: number | boolean;
  readonly pending: number;
  readonly running: number;
}

/**
 * Requests a pool holds: sent and unanswered, waiting for its connection, or queued in the pool
 * itself while ALPN is pending (undici's `size`; its `pending` counts the queued ones too).
 */
function inFlight(pool: Dispatcher): number {
  return (pool as Pool | Client).stats.size;
}

const FORWARDED = ['connect', 'disconnect', 'connectionError', 'drain'] as const;

export class SpreadPools extends ClosingDispatcher {
  // Plain fields, not #private ones, for what every request reads: request-lifecycle.ts says why.
  private readonly pools: readonly Dispatcher[];

  constructor(pools: readonly Dispatcher[]) {
    super();
    this.pools = pools;
    // A pool's own events, passed on: EndpointPools drops an endpoint's pool on disconnect and
    // connectionError (cluster-transports.ts), and a caller whose dispatch was refused waits for drain.
    const self = this as EventEmitter;
    for (const pool of pools as readonly EventEmitter[]) {
      for (const event of FORWARDED) pool.on(event, (...args: unknown[]) => self.emit(event, ...args));
    }
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.pools[http2ConnectionFor(this.pools, inFlight)]!.dispatch(opts, handler);
  }

  /** The pools' stats summed (undici's Pool and Client each report their own). */
  get stats(): PoolStats {
    let connected = 0;
    let pending = 0;
    let running = 0;
    for (const pool of this.pools) {
      const s = (pool as Pool | Client).stats;
      connected += Number(s.connected);
      pending += s.pending;
      running += s.running;
    }
    return { connected, pending, running };
  }

  protected override async shutdown(err: Error | null, force: boolean): Promise<void> {
    await Promise.all(this.pools.map((p) => (force ? p.destroy(err) : p.close())));
  }
}
