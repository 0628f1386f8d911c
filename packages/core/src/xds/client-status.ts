// configDump() as CSDS: an envoy.service.status.v3.ClientStatusResponse in the proto3 JSON
// mapping, the format `istioctl proxy-status` and other CSDS tools read. Every resource in
// force is listed with its version and status; in xDS mode also those requested, NACKed (with
// the error) or declared absent.

import type { ConfigDump } from '../config-dump.ts';
import { TYPE_URL } from './resources.ts';

type Kind = 'Listener' | 'RouteConfiguration' | 'Cluster' | 'ClusterLoadAssignment';

const KINDS: [Kind, keyof Pick<ConfigDump, 'listeners' | 'routeConfigs' | 'clusters' | 'endpoints'>][] = [
  ['Listener', 'listeners'], ['RouteConfiguration', 'routeConfigs'], ['Cluster', 'clusters'], ['ClusterLoadAssignment', 'endpoints'],
];

export interface GenericXdsConfig {
  typeUrl: string;
  name: string;
  versionInfo?: string;
  xdsConfig?: { '@type': string; [field: string]: unknown };
  lastUpdated?: string;
  configStatus: 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR' | 'UNKNOWN';
  clientStatus: 'ACKED' | 'NACKED' | 'DOES_NOT_EXIST' | 'REQUESTED' | 'UNKNOWN';
  errorState?: { lastUpdateAttempt?: string; details?: string; versionInfo?: string };
}

export interface ClientStatusResponse {
  config: { node: { id: string }; genericXdsConfigs: GenericXdsConfig[] }[];
}

function nameOf(resource: unknown): string {
  const r = resource as { name?: string; clusterName?: string };
  return r.name ?? r.clusterName ?? '';
}

export function clientStatus(dump: ConfigDump, nodeId: string): ClientStatusResponse {
  const inForce = new Map<string, unknown>();
  for (const [kind, key] of KINDS) for (const r of dump[key]) inForce.set(`${kind}/${nameOf(r)}`, r);
  const configs: GenericXdsConfig[] = [];
  const any = (kind: Kind, r: unknown) => ({ '@type': TYPE_URL[kind], ...(r as object) });
  if (dump.xds) {
    for (const s of dump.xds.resources) {
      const kind = s.type as Kind;
      const resource = inForce.get(`${kind}/${s.name}`);
      configs.push({
        typeUrl: TYPE_URL[kind],
        name: s.name,
        ...(s.version !== undefined && { versionInfo: s.version }),
        ...(resource !== undefined && { xdsConfig: any(kind, resource) }),
        ...(s.lastUpdated !== undefined && { lastUpdated: s.lastUpdated }),
        configStatus: s.status === 'NACKED' ? 'ERROR' : 'SYNCED',
        clientStatus: s.status,
        ...(s.errorState && { errorState: { lastUpdateAttempt: s.errorState.lastUpdateAttempt, details: s.errorState.details, versionInfo: s.errorState.version } }),
      });
    }
  } else {
    // Embedded mode: the compiled resources are the config, all accepted at this version.
    for (const [kind, key] of KINDS) {
      for (const r of dump[key]) {
        configs.push({ typeUrl: TYPE_URL[kind], name: nameOf(r), versionInfo: String(dump.version), xdsConfig: any(kind, r), configStatus: 'SYNCED', clientStatus: 'ACKED' });
      }
    }
  }
  return { config: [{ node: { id: nodeId }, genericXdsConfigs: configs }] };
}
