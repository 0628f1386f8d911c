import type { EndpointState } from '../snapshot/endpoint-state.ts';
import type { LbKind } from '../snapshot/mesh-snapshot.ts';
import type { LoadBalancer } from './load-balancer.ts';
import { LeastRequestLoadBalancer } from './load-balancer-least-request.ts';
import { RandomLoadBalancer } from './load-balancer-random.ts';
import { RoundRobinLoadBalancer } from './load-balancer-round-robin.ts';

export function createLoadBalancer(kind: LbKind, endpoints: readonly EndpointState[]): LoadBalancer {
  switch (kind) {
    case 'ROUND_ROBIN': return new RoundRobinLoadBalancer(endpoints);
    case 'RANDOM': return new RandomLoadBalancer(endpoints);
    case 'LEAST_REQUEST': return new LeastRequestLoadBalancer(endpoints);
  }
}
