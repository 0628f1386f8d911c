// What every stage of the CRD → xDS compiler shares: who the client is, where problems go, and
// the small Istio conventions (visibility by exportTo, creation-time order, config metadata
// paths) that several stages apply the same way.

import type { ConfigProblem, Severity } from '../../../config-error.ts';
import { fieldPath, formatProblem, locate } from '../../../config-error.ts';
import type { MeshObject, PeerAuthentication } from '../../types.ts';
import type { MeshSettings } from '../../mesh-config.ts';
import type { SidecarScope } from './sidecar-scope.ts';

/** The workload the compiled config is for: istiod compiles per proxy, and so do we. */
export interface ClientIdentity {
  namespace: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  /** DNS suffix of Kubernetes services, normally 'cluster.local'. */
  clusterDomain: string;
  /** Istio's config root namespace, normally 'istio-system'. */
  rootNamespace: string;
  /** The client's own locality, 'region/zone/subzone', for locality failover. */
  locality?: string | undefined;
  /**
   * A gRPC library's xDS client (gRFC A27 and later): it has no ORIGINAL_DST clusters, so a
   * PASSTHROUGH load balancer is compiled as istiod's grpc generator leaves it, round robin
   * over the service's endpoints. Meshlet's own client and the embedded mode leave it unset.
   */
  grpcOnly?: boolean | undefined;
  /**
   * Which of istiod's generators the client asked for (node metadata GENERATOR): 'grpc', or
   * 'sidecar' when absent (istiod's default: an Envoy sidecar's config). `meshlet xds` serves
   * the sidecar form from the same compile (xds-server/sidecar-form.ts).
   */
  generator?: 'grpc' | 'sidecar' | undefined;
}

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

/**
 * Istio's tie-break for configs that compete (configCompareByCreationTime): oldest first, then
 * name, then namespace. A missing timestamp sorts first, as Go's zero time does.
 */
export function compareByCreation(a: MeshObject, b: MeshObject): number {
  const ta = creationMillis(a);
  const tb = creationMillis(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  if (a.metadata.namespace !== b.metadata.namespace) return a.metadata.namespace < b.metadata.namespace ? -1 : 1;
  return 0;
}

function creationMillis(o: MeshObject): number {
  const t = o.metadata.creationTimestamp;
  if (!t) return Number.NEGATIVE_INFINITY;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
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

/** `ns/name`, the way problems and Meshlet metadata name an object. */
export function objectKey(obj: MeshObject): string {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}

/** Every key/value of `selector` is in `labels` (labels.Instance.SubsetOf). */
export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) {
    if (labels?.[k] !== v) return false;
  }
  return true;
}
