// Istio's locality load balancing (pilot loadbalancer.ApplyLocalityLoadBalancer and the cluster
// side in cluster_traffic_policy.go), applied to one cluster's endpoint groups against the
// client's own locality and labels. istiod compiles per proxy, and so does this. One of:
//
//  - `distribute`: for the first rule whose `from` matches the client's locality (`*` matches
//    any one level; missing zone/subzone match anything), each group a `to` pattern matches gets
//    the pattern's percentage shared among the groups it matched, in proportion to their
//    current weights (rounded up); groups no pattern matches lose their endpoints. No outlier
//    detection is needed: nothing fails over, traffic is only split.
//  - failover, only with outlier detection (else unhealthy local hosts are never ejected and
//    traffic would never move):
//    - `failoverPriority`: within each group, endpoints whose values of the listed labels match
//      the client's in order get priority 0; the first mismatching label at index j gives
//      priority n − j (n labels). `label=value` compares against that value instead of the
//      client's. Labels are augmented with the topology labels istiod adds to proxies and
//      endpoints (region, zone, subzone from the locality; cluster; network). Groups split by
//      priority; then, if `failover` is also given, region failover refines it (priority × 5 + p).
//    - otherwise by region/zone/subzone: same region/zone/subzone → 0, same region and zone → 1,
//      same region → 2, another region → 3, or 4 when a `failover` rule for the client's region
//      names a different target region. Needs the client's locality.
//    Priorities are then renumbered 0..N without gaps.
//
// The cluster gets commonLbConfig.localityWeightedLbConfig for `distribute`, and for explicit
// `failover`/`failoverPriority` with outlier detection, exactly when istiod sets it.

import type { LbEndpoint, Locality, LocalityLbEndpoints } from '../../../xds/resources.ts';
import { DEFAULT_CLUSTER_ID } from './compile-endpoints.ts';
import type { LocalityLoadBalancerSetting, TrafficPolicy } from '../../types.ts';

const REGION_LABEL = 'topology.kubernetes.io/region';
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const SUBZONE_LABEL = 'topology.istio.io/subzone';
const CLUSTER_LABEL = 'topology.istio.io/cluster';
const NETWORK_LABEL = 'topology.istio.io/network';

export interface LocalityClient {
  /** 'region/zone/subzone', or undefined when unknown. */
  readonly locality?: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

export interface LocalityResult {
  /** The groups to send: `distribute` empties some, failoverPriority splits some. */
  readonly groups: LocalityLbEndpoints[];
  /** Set Cluster.commonLbConfig.localityWeightedLbConfig. */
  readonly localityWeighted: boolean;
}

export function parseLocality(label: string | undefined): Locality | undefined {
  if (!label) return undefined;
  const [region, zone, subZone] = label.split('/');
  return { ...(region && { region }), ...(zone && { zone }), ...(subZone && { subZone }) };
}

/** util.LocalityMatch: does `locality` fall under the rule pattern `rule` ('region/zone/subzone', '*' wildcards)? */
export function localityMatches(locality: Locality | undefined, rule: string): boolean {
  const [region = '', zone = '', subZone = ''] = rule.split('/');
  return (region === '*' || (locality?.region ?? '') === region)
    && (zone === '*' || zone === '' || (locality?.zone ?? '') === zone)
    && (subZone === '*' || subZone === '' || (locality?.subZone ?? '') === subZone);
}

/**
 * `meshSetting` is MeshConfig.localityLbSetting: a DestinationRule without a setting of its own
 * inherits it whole (loadbalancer.GetEffectiveLbSetting).
 */
export function applyLocalityLoadBalancing(groups: LocalityLbEndpoints[], policy: TrafficPolicy | undefined, client: LocalityClient, meshSetting?: LocalityLoadBalancerSetting): LocalityResult {
  const setting = policy?.loadBalancer?.localityLbSetting ?? meshSetting;
  if (setting?.enabled === false) return { groups, localityWeighted: false };
  const clientLocality = parseLocality(client.locality);
  if (setting?.distribute?.length) {
    applyLocalityWeights(groups, clientLocality, setting.distribute);
    return { groups, localityWeighted: true };
  }
  const enableFailover = policy?.outlierDetection !== undefined;
  if (!enableFailover) return { groups, localityWeighted: false };
  const explicit = (setting?.failover?.length ?? 0) > 0 || (setting?.failoverPriority?.length ?? 0) > 0;
  let out = groups;
  if (setting?.failoverPriority?.length) {
    out = applyFailoverPriorities(groups, augmentedClientLabels(client), setting.failoverPriority);
    if (setting.failover?.length && clientLocality) applyLocalityFailover(out, clientLocality, setting.failover);
  } else if (clientLocality) {
    applyLocalityFailover(out, clientLocality, setting?.failover ?? []);
  }
  return { groups: out, localityWeighted: explicit };
}

function applyLocalityWeights(groups: LocalityLbEndpoints[], client: Locality | undefined, distribute: readonly { from?: string; to?: Record<string, number> }[]): void {
  const rule = distribute.find((d) => d.from !== undefined && localityMatches(client, d.from));
  if (!rule) return;
  const unmatched = new Set(groups.map((_, i) => i));
  for (const [pattern, percent] of Object.entries(rule.to ?? {})) {
    const matched: number[] = [];
    let total = 0;
    for (const i of unmatched) {
      if (!localityMatches(groups[i]!.locality, pattern)) continue;
      matched.push(i);
      total += groups[i]!.loadBalancingWeight ?? 1;
    }
    for (const i of matched) {
      unmatched.delete(i);
      // A pattern matching several groups shares its percentage among them by their weights.
      const share = ((groups[i]!.loadBalancingWeight ?? 1) * percent) / total;
      if (share > 0) groups[i]!.loadBalancingWeight = Math.ceil(share);
    }
  }
  // Localities the rule does not name get no traffic: istiod sends them without endpoints.
  for (const i of unmatched) groups[i]!.lbEndpoints = [];
}

/** The client's labels as istiod augments a proxy's: topology labels from its locality, cluster, network. */
function augmentedClientLabels(client: LocalityClient): Record<string, string> {
  return augment(client.labels, parseLocality(client.locality), undefined);
}

function augment(labels: Readonly<Record<string, string>>, locality: Locality | undefined, network: string | undefined): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  if (locality?.region) out[REGION_LABEL] = locality.region;
  if (locality?.zone) out[ZONE_LABEL] = locality.zone;
  if (locality?.subZone) out[SUBZONE_LABEL] = locality.subZone;
  out[CLUSTER_LABEL] = DEFAULT_CLUSTER_ID;
  if (network && !out[NETWORK_LABEL]) out[NETWORK_LABEL] = network;
  return out;
}

function endpointLabels(ep: LbEndpoint, locality: Locality | undefined): Record<string, string> {
  const md = ep.metadata?.filterMetadata?.['meshlet'] as { labels?: Record<string, string>; network?: string } | undefined;
  return augment(md?.labels ?? {}, locality, md?.network);
}

function applyFailoverPriorities(groups: LocalityLbEndpoints[], clientLabels: Record<string, string>, failoverPriority: readonly string[]): LocalityLbEndpoints[] {
  const names: string[] = [];
  const overrides = new Map<string, string>();
  for (const entry of failoverPriority) {
    const parts = entry.split('=');
    names.push(parts[0]!);
    if (parts.length === 2) overrides.set(parts[0]!, parts[1]!);
  }
  const out: LocalityLbEndpoints[] = [];
  for (const g of groups) {
    const byPriority = new Map<number, LbEndpoint[]>();
    for (const ep of g.lbEndpoints ?? []) {
      const labels = endpointLabels(ep, g.locality);
      let priority = 0;
      for (let j = 0; j < names.length; j++) {
        const name = names[j]!;
        const want = overrides.get(name) ?? clientLabels[name] ?? '';
        if (want !== (labels[name] ?? '')) {
          priority = names.length - j;
          break;
        }
      }
      const list = byPriority.get(priority);
      if (list) list.push(ep);
      else byPriority.set(priority, [ep]);
    }
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      const eps = byPriority.get(p)!;
      const part: LocalityLbEndpoints = { ...g, lbEndpoints: eps, loadBalancingWeight: eps.reduce((s, e) => s + (e.loadBalancingWeight ?? 0), 0) };
      setPriority(part, p);
      out.push(part);
    }
  }
  renumber(out);
  return out;
}

function priorityOf(client: Locality, ep: Locality | undefined): number {
  if ((ep?.region ?? '') !== (client.region ?? '')) return 3;
  if ((ep?.zone ?? '') !== (client.zone ?? '')) return 2;
  if ((ep?.subZone ?? '') !== (client.subZone ?? '')) return 1;
  return 0;
}

function applyLocalityFailover(groups: LocalityLbEndpoints[], client: Locality, failover: readonly { from?: string; to?: string }[]): void {
  const rule = failover.find((f) => f.from === client.region);
  for (const g of groups) {
    let p = priorityOf(client, g.locality);
    if (p === 3 && rule && g.locality?.region !== rule.to) p = 4;
    // Keeps what failoverPriority decided: at most five locality levels fit under each.
    setPriority(g, (g.priority ?? 0) * 5 + p);
  }
  renumber(groups);
}

function setPriority(g: LocalityLbEndpoints, p: number): void {
  if (p > 0) g.priority = p;
  else delete g.priority;
}

/** Envoy wants priorities 0..N without gaps. */
function renumber(groups: LocalityLbEndpoints[]): void {
  const distinct = [...new Set(groups.map((g) => g.priority ?? 0))].sort((a, b) => a - b);
  for (const g of groups) setPriority(g, distinct.indexOf(g.priority ?? 0));
}
