// ClusterLoadAssignments (and the inline load assignments of DNS clusters) from a service's
// endpoints, as istiod's EndpointBuilder writes them: endpoints grouped by locality label
// (localities sorted), each locality weighted by the sum of its endpoints' weights, every
// endpoint HEALTHY with weight 1 unless it says otherwise. A not-ready pod is sent UNHEALTHY (so
// the balancer counts it but never picks it) unless the cluster's outlier detection sets
// minHealthPercent, whose panic mode would then send it traffic: there it is left out
// (istiod's supportsUnhealthyEndpoints).
//
// Metadata: istiod puts `envoy.transport_socket_match: {tlsMode: 'istio'}` on endpoints that
// take Istio mTLS (labelled so, or with a service account; not when the workload's
// PeerAuthentication disables mTLS on that port) — auto-mTLS picks mTLS by it — and a compressed telemetry string under `istio.workload`. It does not send
// endpoint labels; Meshlet adds them under `meshlet.labels` so subset and locality decisions can
// be explained from a config dump.

import type { Address, ClusterLoadAssignment, LbEndpoint, Locality, LocalityLbEndpoints } from '../../../xds/resources.ts';
import { labelsMatch } from '../../object-conventions.ts';
import type { MeshEndpoint, MeshService } from '../../service-model.ts';
import { endpointPort, servesPort } from '../../service-model.ts';
import type { ServicePort } from '../../types.ts';

/** istiod's default cluster ID, the last field of the `istio.workload` telemetry string. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
const UINT32_MAX = 4294967295;

/**
 * Endpoints of `service` on `port`, restricted to `subsetLabels` when given. `mtlsDisabled`
 * says whether an endpoint's own PeerAuthentication turns mTLS off on the port it serves.
 */
export function localityEndpoints(
  service: MeshService,
  port: ServicePort,
  subsetLabels?: Record<string, string>,
  mtlsDisabled?: (ep: MeshEndpoint, port: number) => boolean,
  sendUnhealthy = true,
): LocalityLbEndpoints[] {
  const byLocality = new Map<string, LbEndpoint[]>();
  for (const ep of service.endpoints) {
    if (!servesPort(ep, port) || !labelsMatch(subsetLabels, ep.labels)) continue;
    if (ep.healthStatus === 'UNHEALTHY' && !sendUnhealthy) continue;
    const list = byLocality.get(ep.locality) ?? [];
    list.push(lbEndpoint(ep, port, mtlsDisabled));
    byLocality.set(ep.locality, list);
  }
  const localities = [...byLocality.keys()];
  if (localities.length >= 2) localities.sort();
  return localities.map((label) => {
    const lbEndpoints = byLocality.get(label) as LbEndpoint[];
    let weight = 0;
    for (const e of lbEndpoints) weight = Math.min(UINT32_MAX, weight + (e.loadBalancingWeight ?? 1));
    return { locality: toLocality(label), lbEndpoints, loadBalancingWeight: weight };
  });
}

export function loadAssignment(clusterName: string, endpoints: LocalityLbEndpoints[]): ClusterLoadAssignment {
  return { clusterName, endpoints };
}

function lbEndpoint(ep: MeshEndpoint, port: ServicePort, mtlsDisabled?: (ep: MeshEndpoint, port: number) => boolean): LbEndpoint {
  const filterMetadata: Record<string, Record<string, unknown>> = {};
  if (ep.tlsMode !== '' && ep.tlsMode !== 'disabled' && !mtlsDisabled?.(ep, endpointPort(ep, port))) {
    filterMetadata['envoy.transport_socket_match'] = { tlsMode: ep.tlsMode };
  }
  filterMetadata['istio'] = { workload: telemetryWorkload(ep) };
  filterMetadata['meshlet'] = ep.network ? { labels: { ...ep.labels }, network: ep.network } : { labels: { ...ep.labels } };
  return {
    endpoint: { address: endpointAddress(ep, port) },
    healthStatus: ep.healthStatus ?? 'HEALTHY',
    loadBalancingWeight: ep.weight !== undefined && ep.weight > 0 ? ep.weight : 1,
    metadata: { filterMetadata },
  };
}

function endpointAddress(ep: MeshEndpoint, port: ServicePort): Address {
  if (ep.address.startsWith('unix://')) return { pipe: { path: ep.address.slice('unix://'.length) } };
  return { socketAddress: { address: ep.address, portValue: endpointPort(ep, port) } };
}

/** `region/zone/subzone` → Locality, as util.ConvertLocality splits it. */
export function toLocality(label: string): Locality {
  if (label === '') return {};
  const [region, zone, subZone] = label.split('/');
  const out: Locality = {};
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subZone) out.subZone = subZone;
  return out;
}

// workload;namespace;canonical-name;canonical-revision;cluster — istiod's compressed telemetry
// label (util.AppendLbEndpointMetadata), with the revision left empty when it is "latest".
function telemetryWorkload(ep: MeshEndpoint): string {
  const l = ep.labels;
  const name = l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l['app'] ?? ep.workloadName;
  const revision = l['service.istio.io/canonical-revision'] ?? l['app.kubernetes.io/version'] ?? l['version'] ?? 'latest';
  return [ep.workloadName, ep.namespace, name, revision === 'latest' ? '' : revision, DEFAULT_CLUSTER_ID].join(';');
}
