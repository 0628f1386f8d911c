// Who a connecting client is, read from its Node the way istiod reads a proxyless client's:
// metadata NAMESPACE and LABELS (istio-agent fills them from the pod), falling back to the
// namespace inside an Istio node id (`sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`), and
// the node's locality. The compiler uses it for sourceLabels, sourceNamespace, exportTo,
// short-name resolution and locality load balancing.
//
// Also what the client can take: a gRPC library's xDS client (GENERATOR grpc, not Meshlet) has
// no ORIGINAL_DST clusters, so it is served what istiod's grpc generator serves it there.

import type { ClientIdentity } from '../istio/compile/compile-mesh.ts';
import { namespaceFromNodeId } from '../config/xds/bootstrap.ts';
import { MESHLET_USER_AGENT } from '../config/xds/ads-client.ts';

export interface NodeJson {
  id?: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
  locality?: { region?: string; zone?: string; subZone?: string };
  userAgentName?: string;
}


export function identityOfNode(node: NodeJson | undefined): ClientIdentity {
  const md = node?.metadata ?? {};
  const labels: Record<string, string> = {};
  const raw = md['LABELS'];
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') labels[k] = v;
  }
  const ns = typeof md['NAMESPACE'] === 'string' && md['NAMESPACE'] !== '' ? md['NAMESPACE'] : namespaceFromNodeId(node?.id ?? '');
  const identity: ClientIdentity = {
    namespace: ns ?? 'default',
    labels,
    clusterDomain: 'cluster.local',
    rootNamespace: 'istio-system',
  };
  if (typeof md['SERVICE_ACCOUNT'] === 'string') identity.serviceAccount = md['SERVICE_ACCOUNT'];
  const l = node?.locality;
  if (l?.region) identity.locality = [l.region, l.zone ?? '', l.subZone ?? ''].join('/').replace(/\/+$/, '');
  if (md['GENERATOR'] === 'grpc' && node?.userAgentName !== MESHLET_USER_AGENT) identity.grpcOnly = true;
  // istiod's rule: no GENERATOR is an Envoy sidecar, served by its default generator.
  identity.generator = md['GENERATOR'] === undefined || md['GENERATOR'] === '' ? 'sidecar' : 'grpc';
  return identity;
}
