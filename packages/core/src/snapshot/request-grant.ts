// What ClusterRuntime.admitRequest() hands an admitted request, in a file of its own: the
// adapters import it (to tell a grant from a refusal with instanceof) without loading the load
// balancers, outlier detection and DNS refresh the runtime brings (see adapter.ts).

import type { BreakerTicket } from '../resilience/error-rate-breaker.ts';
import type { ClusterRuntime } from './cluster-runtime.ts';

/** A request admitted to a cluster; end() releases its slot and settles the breaker's trial. */
export class RequestGrant {
  // Plain fields, not #private ones: one grant per request (cluster-runtime.ts says why).
  declare private readonly runtime: ClusterRuntime;
  declare private readonly ticket: BreakerTicket | undefined;
  private ended = false;

  constructor(runtime: ClusterRuntime, ticket: BreakerTicket | undefined) {
    this.runtime = runtime;
    this.ticket = ticket;
  }

  end(success: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.runtime.activeRequests--;
    if (this.ticket !== undefined) this.ticket.done(success);
  }
}
