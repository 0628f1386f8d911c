// A Kubernetes Service as istiod's registry converts it (serviceregistry/kube ConvertService):
//  - host `<name>.<namespace>.svc.<cluster domain>`; addresses the cluster IP(s);
//  - `clusterIP: None` (headless): no address, passthrough resolution — the caller's own
//    resolution of the host decides the pod, as a sidecar's ORIGINAL_DST cluster does;
//  - `type: ExternalName`: an alias of the service its externalName names (istiod's Alias
//    resolution): no service of its own, its host routed as the target's;
//  - ports by name and number, protocol inferred from appProtocol or the name (./kube-protocol.ts);
//  - `networking.istio.io/exportTo` and the alpha.istio.io service-account annotations read.

import type { MeshService } from '../istio/service-model.ts';
import type { ServicePort } from '../istio/types.ts';
import { spiffeId } from '../security/spiffe.ts';
import { inferPortProtocol } from './kube-protocol.ts';
import type { KubeService } from './kube-types.ts';

const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';
const CANONICAL_ACCOUNTS_ANNOTATION = 'alpha.istio.io/canonical-serviceaccounts';
const KUBERNETES_ACCOUNTS_ANNOTATION = 'alpha.istio.io/kubernetes-serviceaccounts';

export function serviceHostname(name: string, namespace: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

/** The service istiod makes of `svc`, without endpoints; undefined for an ExternalName alias. */
export function convertService(svc: KubeService, clusterDomain: string, trustDomain: string): MeshService | undefined {
  const spec = svc.spec;
  if (isAlias(svc)) return undefined;
  const ns = svc.metadata.namespace;
  const headless = spec.clusterIP === 'None';
  const addresses = headless || !spec.clusterIP ? [] : (spec.clusterIPs?.length ?? 0) > 1 ? [...(spec.clusterIPs as string[])] : [spec.clusterIP];
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => {
    const port: ServicePort = { number: p.port, name: p.name ?? '' };
    const protocol = inferPortProtocol(p.port, p.name, p.protocol, p.appProtocol);
    if (protocol) port.protocol = protocol;
    return port;
  });
  return {
    hostname: serviceHostname(svc.metadata.name, ns, clusterDomain),
    namespace: ns,
    ports,
    resolution: headless ? 'NONE' : 'STATIC',
    location: 'MESH_INTERNAL',
    address: addresses[0] ?? '0.0.0.0',
    addresses,
    endpoints: [],
    registry: 'Kubernetes',
    origin: svc,
    entries: [],
    subjectAltNames: serviceAccounts(svc, trustDomain),
    aliases: [],
  };
}

export function isAlias(svc: KubeService): boolean {
  return svc.spec.type === 'ExternalName' && !!svc.spec.externalName;
}

/** The `networking.istio.io/exportTo` annotation, or undefined (everyone). */
export function serviceExportTo(svc: KubeService): string[] | undefined {
  const v = svc.metadata.annotations?.[EXPORT_TO_ANNOTATION];
  if (!v) return undefined;
  return v.split(',').map((s) => s.trim());
}

function serviceAccounts(svc: KubeService, trustDomain: string): string[] {
  const a = svc.metadata.annotations ?? {};
  const out: string[] = [];
  if (a[CANONICAL_ACCOUNTS_ANNOTATION]) out.push(...a[CANONICAL_ACCOUNTS_ANNOTATION].split(','));
  if (a[KUBERNETES_ACCOUNTS_ANNOTATION]) {
    for (const sa of a[KUBERNETES_ACCOUNTS_ANNOTATION].split(',')) out.push(spiffeId(trustDomain, svc.metadata.namespace, sa));
  }
  return out;
}
