// Istio's MeshConfig as istiod applies it (pkg/config/mesh/mesh.go DefaultMeshConfig, then the
// `mesh` document on top, field by field): the settings in force for this client, with
// istiod's defaults where the document says nothing. Only the fields that shape a client or a
// server helper are resolved here; validate/validate-mesh-config.ts names the others.
//
// One MeshConfig is in force, as istiod has one: createMesh({ meshConfig }) when given, else the
// first found in the config files; any other is reported and ignored.

import type { ConfigProblem } from '../config-error.ts';
import type { HTTPRetry, LocalityLoadBalancerSetting, MeshConfigObject, MeshConfigSpec, MeshObject } from './types.ts';

export type OutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';
/** MeshConfig.ProxyPathNormalization, DEFAULT read as BASE (istiod's listener builder does): what security/request-target.ts applies. */
export type PathNormalizationMode = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export interface MeshSettings {
  readonly outboundTrafficPolicy: OutboundMode;
  /** The retry policy of routes whose VirtualService sets none; undefined: Istio's built-in default. */
  readonly defaultHttpRetryPolicy: HTTPRetry | undefined;
  readonly connectTimeout: string;
  /** The mesh-wide locality setting a DestinationRule without one inherits (default: enabled). */
  readonly localityLbSetting: LocalityLoadBalancerSetting | undefined;
  readonly trustDomain: string;
  readonly trustDomainAliases: readonly string[];
  readonly pathNormalization: PathNormalizationMode;
  readonly enableAutoMtls: boolean;
  readonly defaultServiceExportTo: readonly string[];
  readonly defaultVirtualServiceExportTo: readonly string[];
  readonly defaultDestinationRuleExportTo: readonly string[];
  readonly rootNamespace: string;
  /** How often DNS ServiceEntries are re-resolved at most (the records' TTL otherwise). */
  readonly dnsRefreshRate: string;
  /** The HTTP/2 upgrade of HTTP ports whose DestinationRule leaves h2UpgradePolicy at DEFAULT (compile-cluster-policy.ts). */
  readonly h2UpgradePolicy: 'DO_NOT_UPGRADE' | 'UPGRADE';
  /** defaultConfig.holdApplicationUntilProxyStarts: createMesh resolves only once config is complete. */
  readonly holdApplicationUntilProxyStarts: boolean;
  /** Where the settings came from: `file:line`, 'createMesh({ meshConfig })', or 'defaults'. */
  readonly origin: string;
}

export const DEFAULT_ROOT_NAMESPACE = 'istio-system';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/**
 * The settings in force for a MeshConfig document (undefined: istiod's defaults). `rootNamespace`
 * stands in for an unset `rootNamespace` (createMesh's option of that name).
 */
export function meshSettings(spec: MeshConfigSpec | undefined, opts: { rootNamespace?: string | undefined; origin?: string } = {}): MeshSettings {
  const s = spec ?? {};
  const mode = s.outboundTrafficPolicy?.mode;
  const normalization = s.pathNormalization?.normalization;
  return {
    // ALLOW_ANY_DYNAMIC_DNS sends unknown hosts through a dynamic forward proxy that resolves
    // them: a client in the process resolves them itself, which is what ALLOW_ANY does here.
    outboundTrafficPolicy: mode === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : 'ALLOW_ANY',
    defaultHttpRetryPolicy: s.defaultHttpRetryPolicy,
    connectTimeout: s.connectTimeout ?? '10s',
    // The default mesh config enables locality load balancing with no rules, which is what a
    // DestinationRule without a setting gets anyway.
    localityLbSetting: s.localityLbSetting,
    trustDomain: s.trustDomain || DEFAULT_TRUST_DOMAIN,
    trustDomainAliases: [...new Set(s.trustDomainAliases ?? [])].sort(),
    pathNormalization: normalization === undefined || normalization === 'DEFAULT' ? 'BASE' : normalization,
    enableAutoMtls: s.enableAutoMtls ?? true,
    defaultServiceExportTo: nonEmpty(s.defaultServiceExportTo) ?? ['*'],
    defaultVirtualServiceExportTo: nonEmpty(s.defaultVirtualServiceExportTo) ?? ['*'],
    defaultDestinationRuleExportTo: nonEmpty(s.defaultDestinationRuleExportTo) ?? ['*'],
    rootNamespace: s.rootNamespace || opts.rootNamespace || DEFAULT_ROOT_NAMESPACE,
    dnsRefreshRate: s.dnsRefreshRate ?? '60s',
    h2UpgradePolicy: s.h2UpgradePolicy === 'UPGRADE' ? 'UPGRADE' : 'DO_NOT_UPGRADE',
    holdApplicationUntilProxyStarts: s.defaultConfig?.holdApplicationUntilProxyStarts === true,
    origin: opts.origin ?? (spec ? 'MeshConfig' : 'defaults'),
  };
}

function nonEmpty(list: readonly string[] | undefined): readonly string[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

/** `file:line`, the way settings and problems name a MeshConfig document. */
export function meshConfigOrigin(o: MeshConfigObject): string {
  // An object from the Kubernetes API has no file: the ConfigMap it came from, and its version.
  if (o.source.file === '') return `ConfigMap ${o.metadata.namespace}/${o.metadata.name}${o.source.resourceVersion === undefined ? '' : ` (resourceVersion ${o.source.resourceVersion})`}`;
  return o.source.line > 0 ? `${o.source.file}:${o.source.line}` : o.source.file;
}

/**
 * The MeshConfig in force among `objects` (`preferred`, from createMesh, wins over every one found
 * in files; else the first in file order), and a warning for each one that is ignored.
 */
export function selectMeshConfig(objects: readonly MeshObject[], preferred?: MeshConfigObject): { inForce: MeshConfigObject | undefined; problems: ConfigProblem[] } {
  const found = objects.filter((o): o is MeshConfigObject => o.kind === 'MeshConfig');
  const inForce = preferred ?? found[0];
  const problems: ConfigProblem[] = [];
  for (const o of found) {
    if (o === inForce) continue;
    const by = preferred ? 'createMesh({ meshConfig })' : `the MeshConfig at ${meshConfigOrigin(inForce!)}`;
    problems.push({
      severity: 'warning', file: o.source.file, line: o.source.line, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, field: '',
      message: `a mesh has one MeshConfig and ${by} is in force; this one is ignored`,
    });
  }
  return { inForce, problems };
}
