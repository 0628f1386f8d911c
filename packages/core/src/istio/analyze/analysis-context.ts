// What every analyzer reads: the loaded objects by kind, the services they declare, and where
// findings go. Built once per analysis; analyzers never change the objects.

import type { ConfigProblem } from '../../config-error.ts';
import { fieldPath, formatProblem } from '../../config-error.ts';
import { resolveShortName } from '../compile/common/host-names.ts';
import type { GatewayRoute } from '../gateway-api-types.ts';
import type { DestinationRule, MeshObject, PeerAuthentication, ServiceEntry, Sidecar, Telemetry, VirtualService, WorkloadEntry } from '../types.ts';
import { MESSAGES, type MessageName } from './analysis-messages.ts';
import { ServiceIndex } from './analysis-services.ts';
import { buildKubeRegistry } from '../../kube/kube-registry.ts';
import { meshSettings, selectMeshConfig, type MeshSettings } from '../mesh-config.ts';

export interface AnalysisOptions {
  /** DNS suffix of Kubernetes services (default 'cluster.local'). */
  clusterDomain?: string;
  /** Istio's config root namespace when the objects hold no MeshConfig naming one (default 'istio-system'). */
  rootNamespace?: string;
}

export type Path = readonly (string | number)[];

export class AnalysisContext {
  readonly clusterDomain: string;
  readonly rootNamespace: string;
  /** The MeshConfig among the objects (istiod's defaults when none). */
  readonly mesh: MeshSettings;
  readonly sidecars: Sidecar[] = [];
  readonly virtualServices: VirtualService[] = [];
  readonly destinationRules: DestinationRule[] = [];
  readonly serviceEntries: ServiceEntry[] = [];
  readonly workloadEntries: WorkloadEntry[] = [];
  readonly peerAuthentications: PeerAuthentication[] = [];
  readonly gatewayRoutes: GatewayRoute[] = [];
  readonly telemetries: Telemetry[] = [];
  readonly services: ServiceIndex;
  readonly findings: ConfigProblem[] = [];
  readonly #seen = new Set<string>();

  constructor(objects: readonly MeshObject[], options: AnalysisOptions = {}) {
    this.clusterDomain = options.clusterDomain ?? 'cluster.local';
    this.mesh = meshSettings(selectMeshConfig(objects).inForce?.spec, { rootNamespace: options.rootNamespace });
    this.rootNamespace = this.mesh.rootNamespace;
    for (const o of objects) {
      switch (o.kind) {
        case 'VirtualService': this.virtualServices.push(o); break;
        case 'DestinationRule': this.destinationRules.push(o); break;
        case 'ServiceEntry': this.serviceEntries.push(o); break;
        case 'WorkloadEntry': this.workloadEntries.push(o); break;
        case 'PeerAuthentication': this.peerAuthentications.push(o); break;
        case 'HTTPRoute': case 'GRPCRoute': this.gatewayRoutes.push(o); break;
        case 'Telemetry': this.telemetries.push(o); break;
        case 'Sidecar': this.sidecars.push(o); break;
        default: break;
      }
    }
    // Problems with the Kubernetes objects themselves are the compiler's to report.
    const kube = buildKubeRegistry(objects, { clusterDomain: this.clusterDomain, trustDomain: this.mesh.trustDomain, rootNamespace: this.rootNamespace }, { warn() {} });
    this.services = new ServiceIndex(this.serviceEntries, this.workloadEntries, kube, this.clusterDomain);
  }

  /** The FQDN `host` means in an object of `namespace` (short names are Kubernetes services). */
  fqdn(host: string, namespace: string): string {
    return resolveShortName(host.toLowerCase(), namespace, this.clusterDomain);
  }

  /** Records a finding at `path` of `obj`, with the message's code and level; once each. */
  report(message: MessageName, obj: MeshObject, path: Path, text: string): void {
    const { code, level } = MESSAGES[message];
    const p: ConfigProblem = {
      severity: level,
      file: obj.source.file,
      line: obj.source.lineOf(path),
      kind: obj.kind,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      field: fieldPath(path),
      message: text,
      code,
    };
    const key = formatProblem(p);
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.findings.push(p);
  }
}

/** One cross-object check, in its own file under this folder. */
export interface Analyzer {
  /** A short name for `--help`, docs and tests, e.g. 'virtualservice.DestinationHosts'. */
  name: string;
  /** What it checks, in one sentence. */
  description: string;
  /** The messages it may report. */
  messages: readonly MessageName[];
  run(ctx: AnalysisContext): void;
}
