import type { EndpointState } from './endpoint-state.ts';
import type { LbKind, LoadBalancer } from './load-balancer.ts';
import { LeastRequestLoadBalancer } from './load-balancer-least-request.ts';
import { MaglevLoadBalancer } from './load-balancer-maglev.ts';
import { RandomLoadBalancer } from './load-balancer-random.ts';
import { RingHashLoadBalancer } from './load-balancer-ring-hash.ts';
import { RoundRobinLoadBalancer } from './load-balancer-round-robin.ts';
import { SlowStart, type SlowStartSettings } from './slow-start.ts';

/** Sizes of the hashing balancers (Cluster.ringHashLbConfig / maglevLbConfig); Envoy's defaults when absent. */
export interface HashLbOptions {
  readonly minimumRingSize?: number;
  readonly maximumRingSize?: number;
  readonly tableSize?: number;
}

/** Slow start for ROUND_ROBIN / LEAST_REQUEST (the only policies Envoy applies it to), with its clock. */
export interface SlowStartOptions extends SlowStartSettings {
  readonly now?: () => number;
}

export function createLoadBalancer(kind: LbKind, endpoints: readonly EndpointState[], hashLb: HashLbOptions = {}, slowStart?: SlowStartOptions): LoadBalancer {
  const ss = slowStart ? new SlowStart(slowStart, endpoints, slowStart.now) : undefined;
  switch (kind) {
    case 'ROUND_ROBIN': return new RoundRobinLoadBalancer(endpoints, Math.random, ss);
    case 'RANDOM': return new RandomLoadBalancer(endpoints);
    case 'LEAST_REQUEST': return new LeastRequestLoadBalancer(endpoints, Math.random, 2, ss);
    case 'RING_HASH': return new RingHashLoadBalancer(endpoints, hashLb);
    case 'MAGLEV': return new MaglevLoadBalancer(endpoints, hashLb);
  }
}
