// Which mTLS mode a workload's inbound port is in, from PeerAuthentication policies, as istiod
// composes them (pilot/pkg/model/authentication.go GetPeerAuthenticationsForWorkload and
// pilot/pkg/security/authn ComposePeerAuthentication):
//   - candidates: the root namespace's policy without a selector (mesh), the workload
//     namespace's policy without a selector (namespace), and policies of the workload's
//     namespace whose selector matches its labels (workload);
//   - within each scope the oldest wins (creation time, then name);
//   - start from PERMISSIVE (no policy = PERMISSIVE), then mesh → namespace → workload, each
//     overriding unless its mode is UNSET (inherit);
//   - port-level modes come only from the workload policy; UNSET there inherits.

import type { PeerAuthentication, PeerMtlsMode } from '../istio/types.ts';
import { compareByCreation, labelsMatch } from '../istio/object-conventions.ts';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface Workload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface MtlsPolicy {
  readonly mode: MtlsMode;
  readonly portModes: ReadonlyMap<number, MtlsMode>;
  /** The policies that decided it, 'ns/name', mesh first. */
  readonly from: readonly string[];
}

export function peerAuthenticationFor(policies: readonly PeerAuthentication[], workload: Workload, rootNamespace: string): MtlsPolicy {
  const sorted = [...policies].sort(compareByCreation);
  const hasSelector = (p: PeerAuthentication) => Object.keys(p.spec.selector?.matchLabels ?? {}).length > 0;
  const mesh = sorted.find((p) => p.metadata.namespace === rootNamespace && !hasSelector(p));
  const ns = workload.namespace === rootNamespace ? undefined : sorted.find((p) => p.metadata.namespace === workload.namespace && !hasSelector(p));
  const wl = sorted.find((p) => p.metadata.namespace === workload.namespace && hasSelector(p) && labelsMatch(p.spec.selector?.matchLabels, workload.labels as Record<string, string>));
  let mode: MtlsMode = 'PERMISSIVE';
  const from: string[] = [];
  for (const p of [mesh, ns, wl]) {
    if (!p) continue;
    const m = concrete(p.spec.mtls?.mode);
    if (m) { mode = m; from.push(`${p.metadata.namespace}/${p.metadata.name}`); }
  }
  const portModes = new Map<number, MtlsMode>();
  for (const [port, setting] of Object.entries(wl?.spec.portLevelMtls ?? {})) {
    portModes.set(Number(port), concrete(setting.mode) ?? mode);
  }
  if (portModes.size > 0 && wl && !from.includes(`${wl.metadata.namespace}/${wl.metadata.name}`)) from.push(`${wl.metadata.namespace}/${wl.metadata.name}`);
  return { mode, portModes, from };
}

export function mtlsModeForPort(policy: MtlsPolicy, port: number): MtlsMode {
  return policy.portModes.get(port) ?? policy.mode;
}

function concrete(mode: PeerMtlsMode | undefined): MtlsMode | undefined {
  return mode === undefined || mode === 'UNSET' ? undefined : mode;
}
