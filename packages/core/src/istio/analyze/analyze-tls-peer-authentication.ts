// MSH0003: a DestinationRule TLS mode the endpoints' PeerAuthentication will refuse — plaintext
// (DISABLE) or TLS without the mesh's client certificate (SIMPLE) to a workload that is STRICT,
// or Istio mTLS (ISTIO_MUTUAL) to one that is DISABLE. Every request to those endpoints fails at
// the connection. istioctl once had this as IST0113 (MTLSPolicyConflict); Meshlet checks it
// offline against the endpoints the config declares that take Istio mTLS (security.istio.io/tlsMode
// istio, or a service account), with PeerAuthentication composed as the server helpers compose
// it (mesh, namespace, workload, port).

import { labelsMatch } from '../object-conventions.ts';
import { endpointPort, type MeshEndpoint } from '../service-model.ts';
import { mtlsModeForPort, peerAuthenticationFor } from '../../security/peer-authentication.ts';
import type { ClientTLSSettings, ServicePort, TrafficPolicy } from '../types.ts';
import type { AnalysisContext, Analyzer, Path } from './analysis-context.ts';
import type { DeclaredService } from './analysis-services.ts';

interface TlsScope {
  tls: ClientTLSSettings;
  path: Path;
  /** Only this port; else every port not given a port-level setting of its own. */
  port?: number;
  overridden: ReadonlySet<number>;
  subsetLabels?: Record<string, string> | undefined;
}

function scopes(policy: TrafficPolicy | undefined, path: Path, subsetLabels?: Record<string, string>): TlsScope[] {
  if (!policy) return [];
  const out: TlsScope[] = [];
  const levels = policy.portLevelSettings ?? [];
  const overridden = new Set(levels.filter((l) => l.tls && l.port?.number !== undefined).map((l) => l.port?.number as number));
  if (policy.tls) out.push({ tls: policy.tls, path: [...path, 'tls', 'mode'], overridden, subsetLabels });
  levels.forEach((l, i) => {
    if (l.tls && l.port?.number !== undefined) out.push({ tls: l.tls, path: [...path, 'portLevelSettings', i, 'tls', 'mode'], port: l.port.number, overridden: new Set(), subsetLabels });
  });
  return out;
}

function refused(client: ClientTLSSettings['mode'], server: string): string | undefined {
  if (server === 'STRICT' && client === 'DISABLE') return 'sends plaintext, which a STRICT workload refuses';
  if (server === 'STRICT' && client === 'SIMPLE') return 'sends TLS without the mesh client certificate, which a STRICT workload refuses';
  if (server === 'DISABLE' && client === 'ISTIO_MUTUAL') return 'sends Istio mTLS, which a workload with mTLS DISABLE does not accept';
  return undefined;
}

function firstConflict(ctx: AnalysisContext, scope: TlsScope, services: readonly DeclaredService[]): string | undefined {
  for (const svc of services) {
    const ports: ServicePort[] = svc.ports.filter((p) => (scope.port !== undefined ? p.number === scope.port : !scope.overridden.has(p.number)));
    for (const ep of svc.endpoints) {
      if (!meshWorkload(ep) || !labelsMatch(scope.subsetLabels, ep.labels)) continue;
      const policy = peerAuthenticationFor(ctx.peerAuthentications, { namespace: ep.namespace, labels: ep.labels }, ctx.rootNamespace);
      for (const port of ports) {
        const target = endpointPort(ep, port);
        const mode = mtlsModeForPort(policy, target);
        const why = refused(scope.tls.mode, mode);
        if (why) return `tls mode ${scope.tls.mode} ${why}: PeerAuthentication ${policy.from.join(', ')} makes endpoint ${ep.address}:${target} of ${svc.host} ${mode}, so requests to it fail`;
      }
    }
  }
  return undefined;
}

function meshWorkload(ep: MeshEndpoint): boolean {
  return ep.tlsMode === 'istio';
}

export const tlsPeerAuthentication: Analyzer = {
  name: 'destinationrule.TlsMatchesPeerAuthentication',
  description: "a DestinationRule's TLS mode is one the PeerAuthentication of its endpoints accepts",
  messages: ['TlsConflictsWithPeerAuthentication'],
  run(ctx) {
    if (ctx.peerAuthentications.length === 0) return; // no policy: PERMISSIVE takes anything
    for (const dr of ctx.destinationRules) {
      const ns = dr.metadata.namespace;
      const found = ctx.services.lookup(ctx.fqdn(dr.spec.host, ns), ns);
      if (found.kind !== 'found') continue;
      const all = [
        ...scopes(dr.spec.trafficPolicy, ['spec', 'trafficPolicy']),
        ...(dr.spec.subsets ?? []).flatMap((s, i) => scopes(s.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy'], s.labels)),
      ];
      for (const scope of all) {
        const conflict = firstConflict(ctx, scope, found.services);
        if (conflict) ctx.report('TlsConflictsWithPeerAuthentication', dr, scope.path, conflict);
      }
    }
  },
};
