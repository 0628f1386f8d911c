// What every stage of the CRD → xDS compiler shares: who the client is (./client-identity.ts),
// where problems go, and the small Istio conventions (visibility by exportTo, config metadata
// paths) that several stages apply the same way. Creation-time order, object keys and label
// selection are ../../object-conventions.ts (security/ uses them too).

import type { ConfigProblem, Severity } from '../../../config-error.ts';
import { fieldPath, formatProblem, locate } from '../../../config-error.ts';
import type { MeshObject, PeerAuthentication } from '../../types.ts';
import type { MeshSettings } from '../../mesh-config.ts';
import type { SidecarScope } from './sidecar-scope.ts';
import type { ClientIdentity } from './client-identity.ts';

export type { ClientIdentity } from './client-identity.ts';

export type Path = readonly (string | number)[];

/** Collects semantic problems, once each: a rule compiled for several ports reports once. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  private readonly seen = new Set<string>();

  add(severity: Severity, obj: MeshObject, path: Path, message: string): void {
    const p: ConfigProblem = {
      severity,
      ...locate(obj.source, path),
      kind: obj.kind,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      field: fieldPath(path),
      message,
    };
    const key = formatProblem(p);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(p);
  }

  warn(obj: MeshObject, path: Path, message: string): void {
    this.add('warning', obj, path, message);
  }

  error(obj: MeshObject, path: Path, message: string): void {
    this.add('error', obj, path, message);
  }
}

export interface CompileContext {
  client: ClientIdentity;
  problems: Problems;
  /** The MeshConfig in force (istiod's defaults when none): retries, timeouts, exportTo defaults, ... */
  mesh: MeshSettings;
  /** The Sidecar that limits what this client sees; undefined when none applies. */
  scope?: SidecarScope | undefined;
  /** The mesh's PeerAuthentication policies: they decide where auto-mTLS applies. */
  peerAuthentications?: readonly PeerAuthentication[];
}

/**
 * exportTo as Istio reads it for services and VirtualServices: absent or empty means the mesh
 * default (`defaults`, MeshConfig's default*ExportTo, '*' unless set); '.' is the owner's
 * namespace; '~' hides the object from everyone.
 */
export function visibleTo(exportTo: readonly string[] | undefined, ownerNamespace: string, clientNamespace: string, defaults: readonly string[] = ['*']): boolean {
  if (exportTo === undefined || exportTo.length === 0) exportTo = defaults;
  if (exportTo.includes('*')) return true;
  if (exportTo.includes('~')) return false;
  return exportTo.some((e) => (e === '.' ? ownerNamespace : e) === clientNamespace);
}

/** The `istio.config` metadata istiod attaches to routes and clusters (util.BuildConfigInfoMetadata). */
export function configPath(obj: MeshObject): string {
  const group =
    obj.kind === 'PeerAuthentication' || obj.kind === 'AuthorizationPolicy' || obj.kind === 'RequestAuthentication' ? 'security.istio.io'
    : obj.kind === 'Telemetry' ? 'telemetry.istio.io'
    : obj.kind === 'HTTPRoute' || obj.kind === 'GRPCRoute' ? 'gateway.networking.k8s.io'
    : obj.kind === 'MeshConfig' ? 'mesh.istio.io'
    : 'networking.istio.io';
  const kebab = obj.kind.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  return `/apis/${group}/v1/namespaces/${obj.metadata.namespace}/${kebab}/${obj.metadata.name}`;
}
