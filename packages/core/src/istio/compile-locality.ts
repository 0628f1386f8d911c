// Istio's locality failover (pilot loadbalancer.applyLocalityFailover), applied to one cluster's
// endpoint groups against the client's own locality: same region/zone/subzone → priority 0,
// same region and zone → 1, same region → 2, another region → 3, or 4 when a `failover` rule
// for the client's region names a different target region. Priorities are then renumbered
// 0..N without gaps. istiod does this only when the DestinationRule has outlier detection (so
// unhealthy local endpoints can actually be ejected) and the client's locality is known.

import type { Locality, LocalityLbEndpoints } from '../xds/resources.ts';
import type { TrafficPolicy } from './types.ts';

export function parseLocality(label: string | undefined): Locality | undefined {
  if (!label) return undefined;
  const [region, zone, subZone] = label.split('/');
  return { ...(region && { region }), ...(zone && { zone }), ...(subZone && { subZone }) };
}

function priorityOf(client: Locality, ep: Locality | undefined): number {
  if (!ep || !client.region || ep.region !== client.region) return 3;
  if (ep.zone !== client.zone) return 2;
  if (ep.subZone !== client.subZone) return 1;
  return 0;
}

/** Sets `priority` on each group; returns true when it did anything. */
export function applyLocalityFailover(groups: LocalityLbEndpoints[], policy: TrafficPolicy | undefined, clientLocality: string | undefined): boolean {
  const client = parseLocality(clientLocality);
  const setting = policy?.loadBalancer?.localityLbSetting;
  if (!client || !policy?.outlierDetection || setting?.enabled === false) return false;
  if (setting?.distribute?.length || setting?.failoverPriority?.length) return false;
  const rule = (setting?.failover ?? []).find((f) => f.from === client.region);
  const raw = groups.map((g) => {
    let p = priorityOf(client, g.locality);
    if (p === 3 && rule && g.locality?.region !== rule.to) p = 4;
    return p;
  });
  const distinct = [...new Set(raw)].sort((a, b) => a - b);
  groups.forEach((g, i) => {
    const p = distinct.indexOf(raw[i]!);
    if (p > 0) g.priority = p;
    else delete g.priority;
  });
  return true;
}
