// How a sidecar-profile mesh introduces itself: as istio-agent introduces an Envoy sidecar
// (istio/istio pkg/bootstrap/config.go GetNodeMetaData; the fields of pkg/model NodeMetadata),
// so istiod picks its sidecar generator — the default when the metadata has no GENERATOR — and
// builds the config for this workload.
//
//  - id `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`: istiod takes the IP (unless
//    INSTANCE_IPS says), the `<pod>.<namespace>` proxy ID and the DNS domain from it. The
//    bootstrap's id is kept when it already has that form (istio-agent writes the same one into
//    the proxyless bootstrap).
//  - metadata: the bootstrap's, without GENERATOR, with what istio-agent always writes for a pod
//    — NAMESPACE, LABELS, NAME (the pod), INSTANCE_IPS, SERVICE_ACCOUNT when known, CLUSTER_ID
//    (Kubernetes) — so sidecar scoping, sourceLabels and locality resolve as for the pod's Envoy.
//    ISTIO_VERSION is left out: istiod then assumes the newest proxy.

import type { Bootstrap } from './bootstrap.ts';
import { CLIENT_FEATURES, MESHLET_USER_AGENT, USER_AGENT_VERSION } from './ads-client.ts';

export interface SidecarNodeIdentity {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string | undefined;
  readonly clusterDomain: string;
}

const ISTIO_NODE_ID = /^sidecar~[^~]+~[^~]+\.[^~]+~[^~]+$/;

export function sidecarNode(bootstrap: Bootstrap, identity: SidecarNodeIdentity, env: NodeJS.ProcessEnv = process.env): object {
  const n = bootstrap.node;
  const md: Record<string, unknown> = { ...n.metadata };
  delete md['GENERATOR'];
  const idParts = n.id.split('~');
  const fromId = ISTIO_NODE_ID.test(n.id) ? { ip: idParts[1]!, pod: idParts[2]!.slice(0, idParts[2]!.lastIndexOf('.')) } : undefined;
  const ips = typeof md['INSTANCE_IPS'] === 'string' && md['INSTANCE_IPS'] !== '' ? md['INSTANCE_IPS'] : fromId?.ip ?? env['INSTANCE_IP'] ?? env['POD_IP'] ?? '127.0.0.1';
  const ip = ips.split(',')[0]!;
  const pod = typeof md['NAME'] === 'string' && md['NAME'] !== '' ? md['NAME'] : fromId?.pod ?? env['POD_NAME'] ?? env['HOSTNAME'] ?? 'meshlet';
  const id = fromId ? n.id : `sidecar~${ip}~${pod}.${identity.namespace}~${identity.namespace}.svc.${identity.clusterDomain}`;
  md['NAMESPACE'] = identity.namespace;
  md['LABELS'] = { ...identity.labels };
  md['NAME'] = pod;
  md['INSTANCE_IPS'] = ips;
  if (identity.serviceAccount !== undefined) md['SERVICE_ACCOUNT'] = identity.serviceAccount;
  md['CLUSTER_ID'] ??= 'Kubernetes';
  return {
    id,
    cluster: n.cluster || `${identity.labels['app'] ?? pod}.${identity.namespace}`,
    metadata: md,
    locality: n.locality,
    userAgentName: MESHLET_USER_AGENT,
    userAgentVersion: USER_AGENT_VERSION,
    clientFeatures: [...CLIENT_FEATURES],
  };
}
