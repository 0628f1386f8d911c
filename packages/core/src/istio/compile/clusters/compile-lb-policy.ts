// Cluster.load_balancing_policy: the DestinationRule's load balancer as a list of typed policies,
// best first, so every client takes one it implements (gRFC A52: a gRPC client walks the list
// and uses the first policy it knows; Envoy does the same). The lb_policy enum and its side
// configs stay, as istiod writes them, for clients that read only those — but a client that
// reads the list ignores them.
//
// Why: @grpc/grpc-js-xds 1.14 NACKs a cluster whose lb_policy is LEAST_REQUEST (Istio's
// default), RANDOM or MAGLEV, so every call through such a cluster would fail. Only those get
// a list, with the fallback gRPC has:
//   LEAST_REQUEST → LeastRequest, then RoundRobin      RANDOM → Random, then RoundRobin
//   MAGLEV        → Maglev, then RingHash (still a consistent hash on the route's hash policy)
// ROUND_ROBIN and RING_HASH keep the enum alone: every client reads it, and grpc-js-xds 1.14
// reads a typed RingHash's ring sizes wrongly (it rejects the UInt64 strings it decodes).
// A locality-weighted cluster (DestinationRule `distribute`) carries the weighting in the Envoy
// policy, and its gRPC fallback is wrapped in WrrLocality, gRPC's way to weight localities
// (what grpc-js-xds makes of a ROUND_ROBIN enum by itself).

import type { Any, Cluster, LoadBalancingPolicy } from '../../../xds/resources.ts';
import { LB_POLICY_TYPE_URL } from '../../../xds/resources.ts';

type PolicyName = keyof typeof LB_POLICY_TYPE_URL;

const EXTENSION_NAME: Record<PolicyName, string> = {
  LeastRequest: 'envoy.load_balancing_policies.least_request',
  RoundRobin: 'envoy.load_balancing_policies.round_robin',
  Random: 'envoy.load_balancing_policies.random',
  RingHash: 'envoy.load_balancing_policies.ring_hash',
  Maglev: 'envoy.load_balancing_policies.maglev',
  WrrLocality: 'envoy.load_balancing_policies.wrr_locality',
};

function entry(name: PolicyName, fields: Record<string, unknown> = {}): NonNullable<LoadBalancingPolicy['policies']>[number] {
  const typedConfig: Any = { '@type': LB_POLICY_TYPE_URL[name], ...fields };
  return { typedExtensionConfig: { name: EXTENSION_NAME[name], typedConfig } };
}

type PolicyEntry = NonNullable<LoadBalancingPolicy['policies']>[number];

/** Sets c.loadBalancingPolicy from the lb_policy and side configs the traffic policy wrote. */
export function applyLoadBalancingPolicy(c: Cluster): void {
  // ORIGINAL_DST clusters pick no host: the caller's address is the endpoint.
  if (c.type === 'ORIGINAL_DST') return;
  const weighted = c.commonLbConfig?.localityWeightedLbConfig !== undefined;
  const locality = weighted ? { localityLbConfig: { localityWeightedLbConfig: {} } } : {};
  const hashLocality = weighted ? { localityWeightedLbConfig: {} } : {};
  const slowStart = (cfg: unknown) => (cfg !== undefined ? { slowStartConfig: cfg } : {});
  // What gRPC falls back to: round robin, across localities by weight when the rule says so.
  const grpcRoundRobin = (fields: Record<string, unknown> = {}): PolicyEntry => (weighted ? entry('WrrLocality', { endpointPickingPolicy: { policies: [entry('RoundRobin', fields)] } }) : entry('RoundRobin', fields));
  let policies: PolicyEntry[];
  switch (c.lbPolicy) {
    case 'LEAST_REQUEST': {
      const slow = slowStart(c.leastRequestLbConfig?.slowStartConfig);
      policies = [entry('LeastRequest', { ...slow, ...locality }), grpcRoundRobin(slow)];
      break;
    }
    case 'RANDOM':
      policies = [entry('Random', locality), grpcRoundRobin()];
      break;
    case 'MAGLEV': {
      const size = c.maglevLbConfig?.tableSize;
      policies = [entry('Maglev', { ...(size && { tableSize: size }), ...hashLocality }), entry('RingHash', { hashFunction: 'XX_HASH', ...hashLocality })];
      break;
    }
    default:
      return;
  }
  c.loadBalancingPolicy = { policies };
}
