// Where a request to a host outside this client's registry goes — the outbound traffic policy
// istiod writes into a sidecar's catch-alls (virtualOutbound's filter chain, each port's `*`
// virtual host): ALLOW_ANY sends it to the address it names (PassthroughCluster), or to the
// Sidecar's egressProxy cluster (the `outbound|<port>|<subset>|<host>` istiod names,
// route.GetDestinationCluster); REGISTRY_ONLY fails it (BlackHoleCluster, 502). The proxyless
// resource set has no catch-all, so the decision travels beside the resources and the snapshot
// carries it to the router (snapshot/outbound-policy.ts), the same field the sidecar profile
// fills from istiod's virtualOutbound listener.

import type { OutboundMode } from '../../mesh-config.ts';
import type { CompileContext } from '../common/compile-context.ts';
import { clusterName } from '../clusters/compile-clusters.ts';
import type { ServiceRegistry } from '../clusters/compile-services.ts';
import { resolveShortName } from '../common/host-names.ts';
import type { OutboundChoice } from '../common/sidecar-scope.ts';

export interface CompiledOutbound {
  readonly mode: OutboundMode;
  /** What set it: `Sidecar ns/name`, `MeshConfig <file:line>`, or `default`. */
  readonly origin: string;
  /** ALLOW_ANY with an egressProxy: the cluster hosts outside the registry are sent to. */
  readonly egressCluster: string | undefined;
}

export function compileOutbound(ctx: CompileContext, choice: OutboundChoice, registry: ServiceRegistry): CompiledOutbound {
  const proxy = choice.egressProxy;
  if (choice.mode !== 'ALLOW_ANY' || !proxy) return { mode: choice.mode, origin: choice.origin, egressCluster: undefined };
  const sidecar = ctx.scope?.sidecar;
  const host = resolveShortName(proxy.host.toLowerCase(), sidecar?.metadata.namespace ?? ctx.client.namespace, ctx.client.clusterDomain);
  const port = proxy.port?.number ?? 0;
  const cluster = clusterName(port, proxy.subset ?? '', host);
  const svc = registry.byHost.get(host);
  if (sidecar && (!svc || !svc.ports.some((p) => p.number === port))) {
    ctx.problems.warn(sidecar, ['spec', 'outboundTrafficPolicy', 'egressProxy'], `egressProxy ${host}:${port} is not a service port this client sees (import it in the egress hosts, as Istio requires); requests to hosts outside the registry fail with ClusterNotFoundError (Envoy answers 503 NC)`);
  }
  return { mode: 'ALLOW_ANY', origin: choice.origin, egressCluster: cluster };
}
