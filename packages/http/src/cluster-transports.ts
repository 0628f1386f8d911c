// MeshAgent's transports: per mesh cluster transport (transport-table.ts keys them, and replaces
// one when the cluster's connection settings or certificates change) an EndpointPools, which
// holds one undici Pool (or Client, at one connection) per endpoint. An attempt dispatches
// straight to its endpoint's pool: no Agent in between to look the origin up again per request.
// Every endpoint's pool has its cluster's connection settings, and a share of its tcp.maxConnections
// (core's connectionsPerEndpoint). An HTTP/2 endpoint gets two pools, its streams spread over
// their connections under load (spread-pools.ts).

import { Client, Dispatcher, Pool, type Agent } from 'undici';
import type { ClusterConfig, EndpointState, TlsCredentials } from '@meshlet/core';
import { connectionsPerEndpoint, http2ConnectionsPerEndpoint } from '@meshlet/core/adapter';
import { speaksHttp2, TransportTable, type TransportConnect } from './transport-table.ts';
import { tlsConnector } from './tls-connector.ts';
import { ClosingDispatcher } from './closing-dispatcher.ts';
import { SpreadPools, type PoolStats } from './spread-pools.ts';

// Envoy's default http2_protocol_options.max_concurrent_streams (istiod writes none unless the
// DestinationRule sets maxConcurrentStreams); undici's own default would be 100.
const ENVOY_MAX_CONCURRENT_STREAMS = 2147483647;

/** How many pools an endpoint of the cluster gets: one per HTTP/2 connection, else one. */
function poolsPerEndpoint(cluster: ClusterConfig): number {
  return speaksHttp2(cluster) ? http2ConnectionsPerEndpoint(cluster) : 1;
}

function poolOptions(cluster: ClusterConfig): Pool.Options {
  const c = cluster.connections;
  const budget = connectionsPerEndpoint(cluster);
  // Each of an endpoint's pools gets its share of the endpoint's connections.
  const perPool = budget === undefined ? undefined : Math.max(1, Math.floor(budget / poolsPerEndpoint(cluster)));
  return {
    connectTimeout: cluster.connectTimeoutMs,
    ...(perPool !== undefined && { connections: perPool }),
    ...(c.maxRequestsPerConnection !== undefined && { maxRequestsPerClient: c.maxRequestsPerConnection }),
    ...(c.idleTimeoutMs !== undefined && { keepAliveTimeout: c.idleTimeoutMs, keepAliveMaxTimeout: c.idleTimeoutMs }),
    ...http2Options(cluster),
  };
}

// HTTP/2 to the endpoints (h2UpgradePolicy UPGRADE): over TLS by ALPN (the connector offers h2,
// transport-table.ts), in plaintext by prior knowledge (h2c) as Envoy does with an HTTP/2
// cluster — so a plaintext server that speaks only HTTP/1.1 fails those requests, as it does
// behind a sidecar. Every other cluster says allowH2: false: its connector offers no h2 anyway,
// and undici 8's Pool would otherwise hold a TLS origin's requests behind its first connection
// until ALPN shows whether HTTP/2 multiplexing is coming.
function http2Options(cluster: ClusterConfig): Pool.Options {
  if (!speaksHttp2(cluster)) return { allowH2: false };
  const streams = cluster.connections.maxConcurrentStreams ?? ENVOY_MAX_CONCURRENT_STREAMS;
  // undici 8's Pool builds the connector from a top-level `useH2c`; its types document only
  // h2Options.useH2c, which that connector never sees. Both, so either reading works.
  const options: Pool.Options & { useH2c: boolean } = { allowH2: true, useH2c: true, h2Options: { useH2c: true, maxConcurrentStreams: streams } };
  return options;
}

type PoolFactory = (origin: string, options: Pool.Options) => Dispatcher;

// undici's Agent makes a Client for an origin limited to one connection, else a Pool.
const defaultFactory: PoolFactory = (origin, options) => (options.connections === 1 ? new Client(origin, options) : new Pool(origin, options));

/**
 * One cluster transport's connection pools, one per endpoint origin, each opened on first use.
 * A pool closes (gracefully: requests in flight finish) when its endpoint leaves the cluster
 * (retain), when its last connection goes and nothing waits on it (as undici's Agent drops an
 * unused origin's pool: ORIGINAL_DST clusters reach any address their callers name), and with
 * the transport. Also a Dispatcher that picks the pool by `opts.origin`, for a caller holding
 * the whole transport (ClusterTransports.for); requests and mirrors go through target().
 */
export class EndpointPools extends ClosingDispatcher {
  // Plain fields, not #private ones, for what every request reads: request-lifecycle.ts says why.
  private readonly pools = new Map<string, Dispatcher>();
  private readonly options: Pool.Options;
  private readonly factory: PoolFactory;
  private readonly spread: number;
  private closed = false;
  /** Counts pools dropped or closed: a pool remembered under an older count may be gone (ClusterTransports.target). */
  generation = 0;

  /** `spread`: pools per endpoint, sharing its requests under load (SpreadPools). */
  constructor(options: Pool.Options, factory: PoolFactory = defaultFactory, spread = 1) {
    super();
    this.options = options;
    this.factory = factory;
    this.spread = spread;
  }

  /** The pool of the endpoint at `origin` (as EndpointState.origin() spells it). */
  pool(origin: string): Dispatcher {
    return this.pools.get(origin) ?? this.open(origin);
  }

  private open(origin: string): Dispatcher {
    if (this.closed) throw new Error(`the connection pools for ${origin} are closed`);
    const pool = this.spread > 1
      ? new SpreadPools(Array.from({ length: this.spread }, () => this.factory(origin, this.options)))
      : this.factory(origin, this.options);
    const dropIfUnused = () => queueMicrotask(() => this.dropIfUnused(origin, pool));
    pool.on('disconnect', dropIfUnused).on('connectionError', dropIfUnused);
    this.pools.set(origin, pool);
    return pool;
  }

  private dropIfUnused(origin: string, pool: Dispatcher): void {
    if (this.pools.get(origin) !== pool) return;
    const stats: PoolStats = (pool as Pool | Client | SpreadPools).stats;
    if (stats.connected || stats.pending > 0 || stats.running > 0) return;
    this.pools.delete(origin);
    this.generation++;
    void pool.close();
  }

  /** Closes the pools of origins not in `keep` (endpoints that left the cluster). */
  retain(keep: ReadonlySet<string>): void {
    for (const [origin, pool] of this.pools) {
      if (keep.has(origin)) continue;
      this.pools.delete(origin);
      this.generation++;
      void pool.close();
    }
  }

  /** How many endpoint pools are open (for tests and diagnostics). */
  get size(): number {
    return this.pools.size;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.pool(String(opts.origin)).dispatch(opts, handler);
  }

  protected override async shutdown(err: Error | null, force: boolean): Promise<void> {
    this.closed = true;
    this.generation++;
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => (force ? p.destroy(err) : p.close())));
  }
}

export class ClusterTransports extends TransportTable<EndpointPools> {
  constructor(options: Agent.Options = {}, credentials?: TlsCredentials) {
    // An Agent's own options: `factory` makes a whole origin's dispatcher (as here), maxOrigins
    // does not apply to a mesh's endpoints. The rest is every pool's.
    const { factory, maxOrigins: _maxOrigins, ...shared } = options;
    super({
      create: (cluster: ClusterConfig, { tls, socketPath }: TransportConnect) => {
        const connect = tls
          ? tlsConnector({ cluster: cluster.name, tls: tls.options, alpn: tls.alpn, timeoutMs: cluster.connectTimeoutMs, socketPath })
          : socketPath !== undefined ? { socketPath } : undefined;
        return new EndpointPools({ ...shared, ...poolOptions(cluster), ...(connect && { connect }) }, factory as PoolFactory | undefined, poolsPerEndpoint(cluster));
      },
      close: (pools) => pools.close(),
      destroy: (pools, err) => pools.destroy(err ?? null),
      retain: (pools, cluster) => {
        // ORIGINAL_DST endpoints are the callers' own addresses, never in the snapshot: their
        // pools go when unused.
        if (cluster.originalDst) return;
        const keep = new Set<string>();
        for (const e of cluster.endpoints) keep.add(e.origin(false)).add(e.origin(true));
        pools.retain(keep);
      },
    }, credentials, true);
  }

  // What an attempt dispatches to, remembered per endpoint: the transport look-up, the origin and
  // the pool are the same for every request to an endpoint until its cluster config, the
  // certificates or the transport's pools change, and asking them anew was a tenth of Meshlet's
  // work on a young process's request.
  private readonly targets = new WeakMap<EndpointState, EndpointTarget>();

  /** The endpoint's pool and the origin to dispatch with (https:// exactly when it gets TLS): an attempt's one look-up. */
  target(cluster: ClusterConfig, endpoint: EndpointState): EndpointTarget {
    const epoch = this.credentials?.epoch ?? 0;
    let t = this.targets.get(endpoint);
    if (t !== undefined && t.cluster === cluster && t.epoch === epoch && t.pools.generation === t.generation) return t;
    const route = this.route(cluster, endpoint);
    const origin = endpoint.origin(route.tls);
    const pools = route.transport;
    t = { cluster, epoch, pools, generation: pools.generation, origin, pool: pools.pool(origin) };
    this.targets.set(endpoint, t);
    return t;
  }
}

/** ClusterTransports.target(): an endpoint's pool, and what it was found under. */
export interface EndpointTarget {
  readonly cluster: ClusterConfig;
  readonly epoch: number;
  readonly pools: EndpointPools;
  readonly generation: number;
  readonly origin: string;
  readonly pool: Dispatcher;
}
