// The mesh attributes of a decision, shared by the HTTP and gRPC adapters so spans from both
// say the same things in the same words.

import type { Attributes } from './otel-types.ts';
import type { Decision } from '../router/decide.ts';

/** 'outbound|9080|v2|reviews.default.svc.cluster.local' → 'v2'. */
export function subsetOf(cluster: string): string | undefined {
  const parts = cluster.split('|');
  return parts.length === 4 && parts[2] ? parts[2] : undefined;
}

export function decisionAttributes(d: Decision): Attributes {
  switch (d.kind) {
    case 'passthrough':
      return { 'meshlet.decision': 'passthrough' };
    case 'error':
      return {
        'meshlet.decision': 'error',
        'meshlet.error': d.error.code,
        ...(d.route && { 'meshlet.route': d.route.name || `#${d.route.index}` }),
      };
    case 'redirect':
    case 'direct':
      return {
        'meshlet.decision': d.kind,
        'meshlet.route': d.route.name || `#${d.route.index}`,
        ...(d.route.origin && { 'meshlet.config': d.route.origin }),
      };
    case 'forward': {
      const subset = subsetOf(d.cluster.name);
      return {
        'meshlet.decision': 'forward',
        'meshlet.service': d.service.listener,
        'meshlet.route': d.route.name || `#${d.route.index}`,
        ...(d.route.origin && { 'meshlet.config': d.route.origin }),
        'meshlet.cluster': d.cluster.name,
        ...(subset && { 'meshlet.subset': subset }),
        ...(d.fault.delayMs > 0 && { 'meshlet.fault.delay_ms': d.fault.delayMs }),
        ...(d.fault.abortStatus !== undefined && { 'meshlet.fault.abort_status': d.fault.abortStatus }),
        ...(d.fault.abortGrpcStatus !== undefined && { 'meshlet.fault.abort_grpc_status': d.fault.abortGrpcStatus }),
      };
    }
  }
}
