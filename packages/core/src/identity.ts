// The client's own identity, which config is compiled against (sourceLabels, sourceNamespace,
// short-name resolution). Defaults in one place: what a pod in `default` would have.

import type { ClientIdentity } from './mesh.ts';

export interface IdentityOptions {
  namespace?: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
  clusterDomain?: string;
  rootNamespace?: string;
  /** This workload's locality, 'region/zone/subzone' (Istio's istio-locality label), for locality failover. */
  locality?: string;
}

export function resolveIdentity(opts: IdentityOptions = {}): ClientIdentity {
  return {
    namespace: opts.namespace ?? process.env['POD_NAMESPACE'] ?? 'default',
    labels: opts.labels ?? {},
    serviceAccount: opts.serviceAccount ?? process.env['SERVICE_ACCOUNT'],
    clusterDomain: opts.clusterDomain ?? 'cluster.local',
    rootNamespace: opts.rootNamespace ?? 'istio-system',
    locality: opts.locality ?? process.env['ISTIO_LOCALITY'],
  };
}
