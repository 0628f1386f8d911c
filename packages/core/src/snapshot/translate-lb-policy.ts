// How a Cluster says to balance, read the way Envoy and gRPC read it: the typed
// `load_balancing_policy` list first — each entry an extension config, the first one this
// client implements wins (gRFC A52; Envoy does the same) — else the `lb_policy` enum with its
// `*_lb_config` side fields. A control plane can so serve one list that every client takes:
// least request for those that have it, then round robin for those that do not.
//
// An entry of a known type whose settings cannot be honoured (MURMUR_HASH_2, a ring size out of
// range) rejects the cluster, as Envoy and gRPC reject it; an unknown type is skipped.

import type { Any, Cluster, LoadBalancingPolicy, SlowStartConfig } from '../xds/resources.ts';
import { LB_POLICY_TYPE_URL } from '../xds/resources.ts';
import { durationToMs } from '../xds/duration.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';
import type { LbKind } from '../lb/load-balancer.ts';
import type { HashLbOptions } from '../lb/create-load-balancer.ts';
import type { SlowStartSettings } from '../lb/slow-start.ts';
import { DEFAULT_MIN_RING_SIZE, MAX_RING_SIZE } from '../lb/load-balancer-ring-hash.ts';
import { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, MAX_MAGLEV_TABLE_SIZE } from '../lb/load-balancer-maglev.ts';

export interface LbSettings {
  readonly lbPolicy: LbKind;
  /** Ring / table sizes for RING_HASH and MAGLEV (undefined for other policies). */
  readonly hashLb: HashLbOptions | undefined;
  /** Slow start of ROUND_ROBIN / LEAST_REQUEST; undefined when absent or for other policies. */
  readonly slowStart: SlowStartSettings | undefined;
  /** Balance across localities by their weights first. */
  readonly localityWeighted: boolean;
}

/** WrrLocality nests a list of its own; deeper than this is a loop or a mistake (gRPC's limit is 16). */
const MAX_DEPTH = 16;

export function translateLbPolicy(c: Cluster, originalDst: boolean): Result<LbSettings> {
  const localityWeighted = c.commonLbConfig?.localityWeightedLbConfig !== undefined;
  if (c.loadBalancingPolicy) return fromPolicyList(c, c.loadBalancingPolicy, 'loadBalancingPolicy', localityWeighted, 0);
  return fromEnum(c, originalDst, localityWeighted);
}

function fromEnum(c: Cluster, originalDst: boolean, localityWeighted: boolean): Result<LbSettings> {
  let lbPolicy: LbKind;
  switch (c.lbPolicy ?? 'ROUND_ROBIN') {
    case 'CLUSTER_PROVIDED':
      if (!originalDst) return fail(`Cluster ${c.name}: lbPolicy: CLUSTER_PROVIDED needs type ORIGINAL_DST`);
      lbPolicy = 'ROUND_ROBIN';
      break;
    case 'ROUND_ROBIN': lbPolicy = 'ROUND_ROBIN'; break;
    case 'LEAST_REQUEST': lbPolicy = 'LEAST_REQUEST'; break;
    case 'RANDOM': lbPolicy = 'RANDOM'; break;
    case 'RING_HASH': lbPolicy = 'RING_HASH'; break;
    case 'MAGLEV': lbPolicy = 'MAGLEV'; break;
    default: return fail(`Cluster ${c.name}: lbPolicy: ${c.lbPolicy} is not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV)`);
  }
  const field = `Cluster ${c.name}`;
  const hashLb = lbPolicy === 'RING_HASH'
    ? ringHashOptions(`${field}: ringHashLbConfig`, c.ringHashLbConfig?.hashFunction, c.ringHashLbConfig?.minimumRingSize, c.ringHashLbConfig?.maximumRingSize)
    : lbPolicy === 'MAGLEV' ? maglevOptions(`${field}: maglevLbConfig`, c.maglevLbConfig?.tableSize) : ok(undefined);
  if (!hashLb.ok) return hashLb;
  const ss = lbPolicy === 'ROUND_ROBIN' ? slowStartSettings(`${field}: roundRobinLbConfig.slowStartConfig`, c.roundRobinLbConfig?.slowStartConfig)
    : lbPolicy === 'LEAST_REQUEST' ? slowStartSettings(`${field}: leastRequestLbConfig.slowStartConfig`, c.leastRequestLbConfig?.slowStartConfig) : ok(undefined);
  if (!ss.ok) return ss;
  return ok({ lbPolicy, hashLb: hashLb.value, slowStart: ss.value, localityWeighted });
}

interface TypedPolicy {
  slowStartConfig?: SlowStartConfig;
  localityLbConfig?: { localityWeightedLbConfig?: Record<string, never> };
  localityWeightedLbConfig?: Record<string, never>;
  hashFunction?: 'DEFAULT_HASH' | 'XX_HASH' | 'MURMUR_HASH_2';
  minimumRingSize?: string | number;
  maximumRingSize?: string | number;
  tableSize?: string | number;
  endpointPickingPolicy?: LoadBalancingPolicy;
}

function fromPolicyList(c: Cluster, list: LoadBalancingPolicy, field: string, localityWeighted: boolean, depth: number): Result<LbSettings> {
  if (depth > MAX_DEPTH) return fail(`Cluster ${c.name}: ${field}: nested more than ${MAX_DEPTH} deep`);
  const policies = list.policies ?? [];
  const seen: string[] = [];
  for (let i = 0; i < policies.length; i++) {
    const at = `Cluster ${c.name}: ${field}.policies[${i}].typedExtensionConfig.typedConfig`;
    const any = policies[i]?.typedExtensionConfig?.typedConfig as (Any & TypedPolicy) | undefined;
    const url = any?.['@type'];
    if (!any || !url) continue;
    seen.push(url.slice(url.lastIndexOf('/') + 1));
    const weighted = localityWeighted || any.localityLbConfig?.localityWeightedLbConfig !== undefined || any.localityWeightedLbConfig !== undefined;
    switch (url) {
      case LB_POLICY_TYPE_URL.LeastRequest: case LB_POLICY_TYPE_URL.RoundRobin: {
        const ss = slowStartSettings(`${at}.slowStartConfig`, any.slowStartConfig);
        if (!ss.ok) return ss;
        return ok({ lbPolicy: url === LB_POLICY_TYPE_URL.RoundRobin ? 'ROUND_ROBIN' : 'LEAST_REQUEST', hashLb: undefined, slowStart: ss.value, localityWeighted: weighted });
      }
      case LB_POLICY_TYPE_URL.Random:
        return ok({ lbPolicy: 'RANDOM', hashLb: undefined, slowStart: undefined, localityWeighted: weighted });
      case LB_POLICY_TYPE_URL.RingHash: {
        const h = ringHashOptions(at, any.hashFunction, any.minimumRingSize, any.maximumRingSize);
        return h.ok ? ok({ lbPolicy: 'RING_HASH', hashLb: h.value, slowStart: undefined, localityWeighted: weighted }) : h;
      }
      case LB_POLICY_TYPE_URL.Maglev: {
        const h = maglevOptions(at, any.tableSize);
        return h.ok ? ok({ lbPolicy: 'MAGLEV', hashLb: h.value, slowStart: undefined, localityWeighted: weighted }) : h;
      }
      case LB_POLICY_TYPE_URL.WrrLocality: {
        // gRPC's way to ask for locality weights: the endpoint picking policy inside, by weight across localities.
        if (!any.endpointPickingPolicy) return fail(`${at}.endpointPickingPolicy: required`);
        return fromPolicyList(c, any.endpointPickingPolicy, `${field}.policies[${i}].typedExtensionConfig.typedConfig.endpointPickingPolicy`, true, depth + 1);
      }
      default:
        break; // a policy this client does not implement: try the next one
    }
  }
  return fail(`Cluster ${c.name}: ${field}: none of the policies is supported (${seen.join(', ') || 'the list is empty'}; Meshlet implements LeastRequest, RoundRobin, Random, RingHash, Maglev, WrrLocality)`);
}

// Envoy's bounds: ring sizes at most 8M (and minimum <= maximum), a Maglev table a prime of at
// most 5000011. A bad size is a NACK: Envoy refuses the cluster rather than guess.
function ringHashOptions(field: string, fn: string | undefined, minRaw: string | number | undefined, maxRaw: string | number | undefined): Result<HashLbOptions> {
  if (fn === 'MURMUR_HASH_2') return fail(`${field}.hashFunction: MURMUR_HASH_2 is not supported (XX_HASH)`);
  const min = uint64Field(minRaw, DEFAULT_MIN_RING_SIZE);
  const max = uint64Field(maxRaw, MAX_RING_SIZE);
  if (min === undefined || min < 1 || min > MAX_RING_SIZE) return fail(`${field}.minimumRingSize: ${JSON.stringify(minRaw)} must be in [1, ${MAX_RING_SIZE}]`);
  if (max === undefined || max < 1 || max > MAX_RING_SIZE) return fail(`${field}.maximumRingSize: ${JSON.stringify(maxRaw)} must be in [1, ${MAX_RING_SIZE}]`);
  if (min > max) return fail(`${field}: minimumRingSize (${min}) > maximumRingSize (${max})`);
  return ok({ minimumRingSize: min, maximumRingSize: max });
}

function maglevOptions(field: string, raw: string | number | undefined): Result<HashLbOptions> {
  const size = uint64Field(raw, DEFAULT_MAGLEV_TABLE_SIZE);
  if (size === undefined || size > MAX_MAGLEV_TABLE_SIZE || !isPrime(size)) {
    return fail(`${field}.tableSize: ${JSON.stringify(raw)} must be a prime number no larger than ${MAX_MAGLEV_TABLE_SIZE}`);
  }
  return ok({ tableSize: size });
}

/** A UInt64Value in JSON (a decimal string, or a number from hand-written resources). */
function uint64Field(v: string | number | undefined, dflt: number): number | undefined {
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

// Envoy applies slow start to ROUND_ROBIN and LEAST_REQUEST only, with aggression 1.0 and
// min_weight_percent 10% when unset. A window of 0 turns it off.
function slowStartSettings(field: string, cfg: SlowStartConfig | undefined): Result<SlowStartSettings | undefined> {
  if (!cfg || cfg.slowStartWindow === undefined) return ok(undefined);
  const windowMs = durationToMs(cfg.slowStartWindow);
  if (windowMs === undefined || windowMs < 0) return fail(`${field}.slowStartWindow: ${JSON.stringify(cfg.slowStartWindow)} is not a duration`);
  if (windowMs === 0) return ok(undefined);
  // Present-but-empty messages are zeros on the wire (see healthyPanicThreshold); an aggression
  // of 0 is then treated as 1 by the balancer, as Envoy does at run time.
  const aggression = cfg.aggression ? cfg.aggression.defaultValue ?? 0 : 1;
  if (!Number.isFinite(aggression)) return fail(`${field}.aggression.defaultValue: ${aggression} is not a number`);
  const min = cfg.minWeightPercent ? cfg.minWeightPercent.value ?? 0 : 10;
  if (!(min >= 0 && min <= 100)) return fail(`${field}.minWeightPercent.value: ${min} is not in [0, 100]`);
  return ok({ windowMs, aggression, minWeightPercent: min });
}
