// The traffic policy in force for one cluster, from a (merged) DestinationRule, as istiod
// resolves it (networking/util.GetPortLevelTrafficPolicy, MergeSubsetTrafficPolicy,
// model.MergeTrafficPolicy) — and the consistent-hash key a route must carry for it
// (route.HashForHTTPDestination, hashForService).

import type { Destination, LoadBalancerSettings, TrafficPolicy } from '../../types.ts';
import type { ConsolidatedRule } from './destination-rule-index.ts';

export type ConsistentHash = NonNullable<LoadBalancerSettings['consistentHash']>;

/**
 * The policy for `port`: a matching portLevelSettings entry replaces the top-level policy whole
 * (fields it omits fall back to defaults, they are not inherited); `hasPortLevel` says so.
 */
export function portLevelPolicy(policy: TrafficPolicy | undefined, port: number): { policy: TrafficPolicy | undefined; hasPortLevel: boolean } {
  if (!policy) return { policy: undefined, hasPortLevel: false };
  const pls = policy.portLevelSettings?.find((p) => p.port?.number === port);
  if (!pls) return { policy, hasPortLevel: false };
  const out: TrafficPolicy = {};
  if (pls.connectionPool) out.connectionPool = pls.connectionPool;
  if (pls.loadBalancer) out.loadBalancer = pls.loadBalancer;
  if (pls.outlierDetection) out.outlierDetection = pls.outlierDetection;
  if (pls.tls) out.tls = pls.tls;
  return { policy: out, hasPortLevel: true };
}

/**
 * A subset cluster's policy: the rule's policy for the port, with each block the subset sets
 * (for the port, or at its top level) replacing the rule's block whole. When the subset has a
 * port-level entry for the port, every block comes from it, set or not.
 */
export function subsetPolicy(rulePolicy: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): TrafficPolicy | undefined {
  const original = portLevelPolicy(rulePolicy, port).policy;
  if (!subset) return original;
  const { policy: sub, hasPortLevel } = portLevelPolicy(subset, port);
  if (!original) return sub;
  const merged: TrafficPolicy = shallowCopy(original);
  const s = sub as TrafficPolicy;
  if (s.connectionPool !== undefined || hasPortLevel) assign(merged, 'connectionPool', s.connectionPool);
  if (s.outlierDetection !== undefined || hasPortLevel) assign(merged, 'outlierDetection', s.outlierDetection);
  if (s.loadBalancer !== undefined || hasPortLevel) assign(merged, 'loadBalancer', s.loadBalancer);
  if (s.tls !== undefined || hasPortLevel) assign(merged, 'tls', s.tls);
  if (s.tunnel !== undefined) merged.tunnel = s.tunnel;
  if (s.proxyProtocol !== undefined) merged.proxyProtocol = s.proxyProtocol;
  if (s.retryBudget !== undefined) merged.retryBudget = s.retryBudget;
  return merged;
}

function assign<K extends 'connectionPool' | 'outlierDetection' | 'loadBalancer' | 'tls'>(p: TrafficPolicy, key: K, value: TrafficPolicy[K]): void {
  if (value === undefined) delete p[key];
  else p[key] = value;
}

function shallowCopy(p: TrafficPolicy): TrafficPolicy {
  const out: TrafficPolicy = {};
  if (p.connectionPool) out.connectionPool = p.connectionPool;
  if (p.loadBalancer) out.loadBalancer = p.loadBalancer;
  if (p.outlierDetection) out.outlierDetection = p.outlierDetection;
  if (p.tls) out.tls = p.tls;
  if (p.tunnel !== undefined) out.tunnel = p.tunnel;
  if (p.proxyProtocol !== undefined) out.proxyProtocol = p.proxyProtocol;
  if (p.retryBudget !== undefined) out.retryBudget = p.retryBudget;
  return out;
}

/**
 * The consistent-hash settings a route to `dest` uses: the subset's port-level setting, else the
 * subset's, else the rule's port-level (only when the destination names a port), else the rule's.
 */
export function hashForDestination(rule: ConsolidatedRule | undefined, dest: Destination): ConsistentHash | undefined {
  if (!rule) return undefined;
  const top = rule.spec.trafficPolicy;
  let hash = top?.loadBalancer?.consistentHash;
  const pls = portSettingHash(top, dest);
  let subsetHash: ConsistentHash | undefined;
  let subsetPls: ConsistentHash | undefined;
  const subset = rule.spec.subsets?.find((s) => s.name === (dest.subset ?? ''));
  if (subset) {
    subsetHash = subset.trafficPolicy?.loadBalancer?.consistentHash;
    subsetPls = portSettingHash(subset.trafficPolicy, dest);
  }
  if (subsetPls) hash = subsetPls;
  else if (subsetHash) hash = subsetHash;
  else if (pls) hash = pls;
  return hash;
}

function portSettingHash(policy: TrafficPolicy | undefined, dest: Destination): ConsistentHash | undefined {
  if (dest.port?.number === undefined) return undefined;
  return policy?.portLevelSettings?.find((p) => p.port?.number === dest.port?.number)?.loadBalancer?.consistentHash;
}

/** The hash key for a service's default route: the rule's, or its port-level one for the port. */
export function hashForService(rule: ConsolidatedRule | undefined, port: number): ConsistentHash | undefined {
  if (!rule) return undefined;
  const top = rule.spec.trafficPolicy;
  const pls = top?.portLevelSettings?.find((p) => p.port?.number === port);
  return pls?.loadBalancer?.consistentHash ?? top?.loadBalancer?.consistentHash;
}
