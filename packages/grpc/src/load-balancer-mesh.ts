// The `meshlet_mesh` load-balancing policy: the concrete → endpoint half of a mesh:/// channel.
// grpc-js gives a policy a ChannelControlHelper and expects pickers back; this one publishes a
// MeshPicker as soon as the resolver hands it the channel's MeshTarget, and owns the grpc-js
// subchannels (one HTTP/2 connection each) to every cluster's endpoints: under load two per
// endpoint, as a sidecar's two workers each keep a connection (fewer within tcp.maxConnections;
// core's endpoint-connections.ts says why and when), each created the first time an attempt goes
// there. Which endpoint an attempt uses is core's decision (the cluster's balancer); this policy
// only turns an EndpointState into a connection.
//
// The channel reports READY as long as it has a mesh: like a sidecar, the mesh is always there to
// take a call, and each call waits for (or fails over from) its own endpoint's connection.

import { connectivityState as ConnectivityState, experimental, type ChannelOptions, type CallCredentials } from '@grpc/grpc-js';
import { endpointTransport, EndpointState, http2ConnectionFor, http2ConnectionsPerEndpoint, type ClusterConfig, type MeshSnapshot } from '@meshlet/core';
import { CLUSTER_ARG, TLS_ARG } from './credentials.ts';
import { clusterTlsCredentials, tlsSignature, type ClusterTlsCredentials } from './credentials-tls.ts';
import { DIRECT_CLUSTER, MeshTarget } from './mesh-target.ts';
import { MeshPicker } from './picker-mesh.ts';

export const MESH_LB_POLICY = 'meshlet_mesh';

/**
 * Resolver attribute carrying the channel's MeshTarget to this policy. grpc-js merges resolver
 * attributes into the options a policy sees; the prefix keeps them out of subchannel arguments.
 */
export const TARGET_ATTRIBUTE = `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.meshlet.target`;

/**
 * Subchannel argument numbering an endpoint's second and later connections: grpc-js shares one
 * subchannel among requests for the same address and arguments, so without it they would be one.
 */
const CONNECTION_ARG = 'meshlet.connection';

/** grpc-js's own default per-call retry buffer (internal-channel.ts), used when the channel sets none. */
const DEFAULT_RETRY_BUFFER_BYTES = 1 << 20;

// Envoy connects on demand for each request; grpc-js subchannels back off up to 120 s after a
// failed connect. A short back-off keeps an endpoint that came back usable within a second,
// unless the channel chose its own.
const RECONNECT_DEFAULTS: ChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };

export interface Connection {
  readonly cluster: string;
  readonly endpoint: string;
  readonly subchannel: experimental.SubchannelInterface;
  /** The cluster's TLS, when its config asks for it. */
  readonly tls: ClusterTlsCredentials | undefined;
  /** Why the last connect to this endpoint failed, for attempts that find it backing off. */
  lastError: string | undefined;
  /** Attempts running on it (call-attempt.ts counts them), for spreading calls under load. */
  active: number;
}

/** One endpoint's connections, each opened the first time a call is given to it. */
type EndpointConnections = (Connection | undefined)[];

/** Attempts running on a connection; one not opened yet has none. */
const activeOn = (c: Connection | undefined): number => c?.active ?? 0;

export class MeshLoadBalancingConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return MESH_LB_POLICY;
  }
  toJsonObject(): object {
    return { [MESH_LB_POLICY]: {} };
  }
  static createFromJson(_obj: unknown): MeshLoadBalancingConfig {
    return new MeshLoadBalancingConfig();
  }
}

export class MeshLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  #target: MeshTarget | undefined;
  #subchannelOptions: ChannelOptions = {};
  /** cluster name → endpoint key → its connections: both keys are strings the config already holds, so a lookup hashes nothing new. */
  #connections = new Map<string, Map<string, EndpointConnections>>();
  #callCredentials = new Map<string, CallCredentials>();
  #tls = new Map<string, ClusterTlsCredentials>();
  #direct: EndpointState | undefined;
  #retryBufferBytes = DEFAULT_RETRY_BUFFER_BYTES;
  #destroyed = false;

  constructor(helper: experimental.ChannelControlHelper) {
    this.#helper = helper;
  }

  updateAddressList(
    _endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    _config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    _note: string,
  ): boolean {
    const target = options[TARGET_ATTRIBUTE];
    if (!(target instanceof MeshTarget)) {
      const details = `the ${MESH_LB_POLICY} load-balancing policy only works behind the mesh:/// resolver of @meshlet/grpc`;
      this.#helper.updateState(ConnectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ details }), details);
      return false;
    }
    this.#destroyed = false;
    if (this.#target !== target) {
      this.#target = target;
      this.#direct = new EndpointState(target.host, target.port);
    }
    const sub: ChannelOptions = { ...RECONNECT_DEFAULTS };
    for (const [k, v] of Object.entries(options)) {
      if (k.startsWith(experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX) || k === experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY) continue;
      sub[k] = v;
    }
    this.#subchannelOptions = sub;
    const limit = options['grpc.per_rpc_retry_buffer_size'];
    this.#retryBufferBytes = typeof limit === 'number' && limit >= 0 ? limit : DEFAULT_RETRY_BUFFER_BYTES;
    this.#prune(target.mesh.snapshot);
    this.#helper.updateState(ConnectivityState.READY, new MeshPicker(this), null);
    return true;
  }

  /** Bytes of a call's outgoing messages kept for replay before the call commits to its attempt (gRFC A6). */
  get retryBufferBytes(): number {
    return this.#retryBufferBytes;
  }

  /** The endpoint for calls that go where the caller pointed (a host outside the mesh, or ORIGINAL_DST). */
  get directEndpoint(): EndpointState {
    return this.#direct!;
  }

  /**
   * A connection to one endpoint of a cluster (undefined: the address the caller named, one
   * connection), picked by core's http2ConnectionFor; each is created idle on first use and
   * kept while the endpoint is in the mesh. For a TLS cluster it carries the cluster's current
   * certificates; after a rotation the next call gets a new
   * connection while calls in flight finish on the old one. Throws CertificateError when the
   * certificates the cluster needs are missing.
   */
  connection(cluster: ClusterConfig | undefined, endpoint: EndpointState): Connection {
    const name = cluster?.name ?? DIRECT_CLUSTER;
    const transport = cluster ? endpointTransport(cluster, endpoint, this.#target!.mesh.credentials) : undefined;
    const tls = transport?.tls ? this.#clusterTls(cluster!, transport.tls, transport.slot) : undefined;
    let byEndpoint = this.#connections.get(name);
    let slots = byEndpoint?.get(endpoint.key);
    const count = cluster ? http2ConnectionsPerEndpoint(cluster) : 1;
    if (slots?.length !== count) {
      // First use, or the cluster's connection budget changed: start the endpoint's set afresh.
      if (slots) for (const c of slots) c?.subchannel.unref();
      slots = new Array<Connection | undefined>(count).fill(undefined);
      if (!byEndpoint) this.#connections.set(name, byEndpoint = new Map());
      byEndpoint.set(endpoint.key, slots);
    }
    const turn = http2ConnectionFor(slots, activeOn);
    const existing = slots[turn];
    if (existing && existing.tls === tls) return existing;
    existing?.subchannel.unref();
    const address = endpoint.socketPath !== undefined ? { path: endpoint.socketPath } : { host: endpoint.address, port: endpoint.port };
    const args: ChannelOptions = { ...this.#subchannelOptions, [CLUSTER_ARG]: name };
    if (turn > 0) args[CONNECTION_ARG] = turn;
    if (tls) {
      args[TLS_ARG] = tls;
      if (tls.sni !== undefined) args['grpc.ssl_target_name_override'] = tls.sni;
    }
    const subchannel = this.#helper.createSubchannel(address, args);
    subchannel.ref();
    const c: Connection = { cluster: name, endpoint: endpoint.key, subchannel, tls, lastError: undefined, active: 0 };
    slots[turn] = c;
    return c;
  }

  #clusterTls(cluster: ClusterConfig, tls: NonNullable<ClusterConfig['tls']>, slot: string): ClusterTlsCredentials {
    const material = this.#target!.mesh.credentials.resolve(tls);
    // One entry per transport socket of the cluster: its own, or one of its matches.
    const key = cluster.name + slot;
    const cached = this.#tls.get(key);
    if (cached && cached.signature === tlsSignature(tls, material)) return cached;
    const fresh = clusterTlsCredentials(cluster, tls, material);
    this.#tls.set(key, fresh);
    return fresh;
  }

  /**
   * The call credentials the channel's credentials attach for a cluster (the same for every
   * endpoint of it). grpc-js generates them once per call, from the picked subchannel.
   */
  callCredentials(cluster: ClusterConfig): CallCredentials | undefined {
    const cached = this.#callCredentials.get(cluster.name);
    if (cached) return cached;
    const first = cluster.endpoints[0];
    if (!first) return undefined;
    let creds: CallCredentials;
    try {
      creds = this.connection(cluster, first).subchannel.getCallCredentials();
    } catch {
      // Missing certificates: the call's attempt reports it.
      return undefined;
    }
    this.#callCredentials.set(cluster.name, creds);
    return creds;
  }

  // A new snapshot: connections to endpoints that left their cluster (or clusters that left the
  // mesh) are released. Calls still running on them finish; grpc-js closes an unused connection.
  #prune(snapshot: MeshSnapshot): void {
    for (const [cluster, byEndpoint] of this.#connections) {
      if (cluster === DIRECT_CLUSTER) continue;
      const live = new Set(snapshot.clusters.get(cluster)?.endpoints.map((e) => e.key));
      for (const [endpoint, slots] of byEndpoint) {
        if (live.has(endpoint)) continue;
        for (const c of slots) c?.subchannel.unref();
        byEndpoint.delete(endpoint);
      }
      if (byEndpoint.size === 0) this.#connections.delete(cluster);
    }
    for (const cluster of this.#callCredentials.keys()) if (!snapshot.clusters.has(cluster)) this.#callCredentials.delete(cluster);
    for (const key of this.#tls.keys()) if (!snapshot.clusters.has(key.split(' ')[0]!)) this.#tls.delete(key);
  }

  exitIdle(): void {
    // Connections open per attempt, not ahead of calls.
  }

  resetBackoff(): void {
    // Attempts fail over instead of waiting out a back-off; nothing to reset.
  }

  destroy(): void {
    this.#destroyed = true;
    for (const byEndpoint of this.#connections.values()) for (const slots of byEndpoint.values()) for (const c of slots) c?.subchannel.unref();
    this.#connections.clear();
    this.#callCredentials.clear();
    this.#tls.clear();
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  getTypeName(): string {
    return MESH_LB_POLICY;
  }
}

let registered = false;

export function registerMeshBalancer(): void {
  if (registered) return;
  registered = true;
  experimental.registerLoadBalancerType(MESH_LB_POLICY, MeshLoadBalancer, MeshLoadBalancingConfig);
}
