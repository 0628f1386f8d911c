// Who a connecting client is, read from its Node the way istiod reads a proxyless client's:
// metadata NAMESPACE and LABELS (istio-agent fills them from the pod), falling back to the
// namespace inside an Istio node id (`sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`).
// The compiler uses it for sourceLabels, sourceNamespace, exportTo and short-name resolution.

import type { ClientIdentity } from '../istio/compile/compile-mesh.ts';
import { namespaceFromNodeId } from '../xds/bootstrap.ts';

export interface NodeJson {
  id?: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
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
  return identity;
}
