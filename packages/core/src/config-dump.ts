// The shape of Mesh#configDump(): the resources in force, the problems, and each config
// source's own status (the xDS client's subscriptions, the Kubernetes watches). Plain types and
// nothing else, so the mesh, the config sources that fill their part (Mesh#extendConfigDump)
// and the CSDS view of a dump (xds/client-status.ts) all read the one shape without importing
// each other.

export interface ConfigDump {
  version: number;
  source: string;
  /** The MeshConfig in force: where it came from and the settings that differ from istiod's defaults. */
  meshConfig?: { origin: string; settings: Record<string, unknown> };
  /** Where hosts outside the mesh go, and what set it (embedded mode). */
  outboundTrafficPolicy?: { mode: string; origin: string; egressCluster?: string };
  /** The Sidecar that limits the services this client sees, and the hosts it leaves out (host → namespace). */
  sidecarScope?: { sidecar: string; egressHosts: string[]; servicesInScope: number; outOfScope: Record<string, string> };
  listeners: unknown[];
  routeConfigs: unknown[];
  clusters: unknown[];
  endpoints: unknown[];
  problems: string[];
  /** Resources held but not acted on (the sidecar profile's TCP listeners and filter chains), one line each. */
  notes?: string[];
  /** xDS mode: every subscribed resource with its version, status (ACKED, NACKED with the error, DOES_NOT_EXIST, REQUESTED) and age. */
  xds?: XdsStatusDump;
  /** Kubernetes-native mode: the API server, every watch (synced, resourceVersion, relists, last error) and the kinds not served. */
  kubernetes?: KubernetesStatus;
}

// xDS mode: the CSDS view of this client (envoy.service.status.v3's per-resource status, in plain
// JSON), filled by config/xds/xds-status.ts.

export type ResourceStatus = 'REQUESTED' | 'ACKED' | 'NACKED' | 'DOES_NOT_EXIST';

export interface XdsResourceStatus {
  type: string;
  name: string;
  status: ResourceStatus;
  /** Version in force (last accepted); absent when none was ever accepted. */
  version?: string;
  /** Milliseconds since the value in force was accepted (or was declared absent). */
  ageMs?: number;
  lastUpdated?: string;
  /** For NACKED: the rejected version, the error sent to the server, when. */
  errorState?: { version: string; details: string; lastUpdateAttempt: string };
}

export interface XdsStatusDump {
  server: string;
  node: string;
  protocol: 'sotw' | 'delta';
  connected: boolean;
  /** The last stream error while disconnected. */
  lastError?: string;
  resources: XdsResourceStatus[];
}

// Kubernetes-native mode: the API server, every watch and the kinds it does not serve, filled by
// config/kubernetes/kubernetes-config-source.ts.

export interface KubernetesStatus {
  server: string;
  credentials: string;
  objects: number;
  /** How long the last compile and snapshot build took (ms): it grows with what is watched. */
  lastCompileMs: number;
  watches: WatchStatus[];
  /** Kinds the loader reads that this cluster does not serve (CRD not installed). */
  missing: MissingResource[];
}

export interface WatchStatus {
  resource: string;
  namespace?: string;
  synced: boolean;
  resourceVersion: string;
  /** Full lists made: the first, and one per relist (410 Gone, or a restart that could not resume). */
  lists: number;
  /** Watches the server ended with 410 Gone (resourceVersion compacted away). */
  expired: number;
  lastError?: string;
}

/** A kind the loader reads that this server does not serve (its CRD is not installed). */
export interface MissingResource {
  kind: string;
  group: string;
  reason: string;
}
