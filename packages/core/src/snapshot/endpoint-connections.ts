// How many connections an adapter opens to one endpoint of a cluster. Envoy's max_connections
// is per cluster, while the adapters pool per endpoint, so the cluster's budget is shared out
// evenly (at least one connection each).
//
// HTTP/2 multiplexes a cluster's streams, and Envoy's pool puts them on one connection per
// worker thread. Under load one connection makes the two ends take turns — the server works
// through a batch of frames while the client waits for it, then the other way round (the
// bench's HTTP/2 and gRPC rows left the machine idle 35% of the time, against 15–18% over
// HTTP/1.1's many connections). A sidecar has two workers by Istio's long-standing default, so a
// busy endpoint sees two connections from it, and the server's own sidecar can put them on two
// workers. The adapters do the same, but only under load: with few requests in flight, one
// connection batches them better (calls handed to two connections in turn at 250–1,000 calls/s
// took 0.09–0.17 ms longer at p50 than on one). So an endpoint's first connection takes every
// request until HTTP2_STREAMS_BEFORE_SPREAD are in flight on it; past that, each goes to the
// connection with the fewest in flight.

import { UNLIMITED } from '../resilience/cluster-limits.ts';
import type { ClusterConfig } from './mesh-snapshot.ts';

/** A sidecar's worker threads by Istio's default, each with its own HTTP/2 connection to an endpoint. */
const HTTP2_CONNECTIONS_PER_ENDPOINT = 2;

/**
 * Requests in flight on an endpoint's first HTTP/2 connection before the next request may go to
 * another. Closed loops of grpc-js calls on one connection and on two (small messages, 4
 * rounds each): two were 1.08× as fast with 2 in flight, 1.23× with 4, 1.10× with 8, 1.14× with
 * 16 and 1.16× with 32, so spreading pays from a few in flight; at 8 an open loop of up to
 * ~1,000 calls/s (about one in flight, bursts of a few) stays on one connection.
 */
export const HTTP2_STREAMS_BEFORE_SPREAD = 8;

/** The cluster's tcp.maxConnections shared out per endpoint; undefined: no limit. */
export function connectionsPerEndpoint(cluster: ClusterConfig): number | undefined {
  const max = cluster.limits.maxConnections;
  if (max >= UNLIMITED) return undefined;
  return Math.max(1, Math.floor(max / Math.max(1, cluster.endpoints.length)));
}

/** How many HTTP/2 connections to open to one endpoint of the cluster: two, within its share of tcp.maxConnections. */
export function http2ConnectionsPerEndpoint(cluster: ClusterConfig): number {
  return Math.min(HTTP2_CONNECTIONS_PER_ENDPOINT, connectionsPerEndpoint(cluster) ?? HTTP2_CONNECTIONS_PER_ENDPOINT);
}

/**
 * Which of an endpoint's HTTP/2 connections (or the pools holding them) takes the next request:
 * the first while fewer than HTTP2_STREAMS_BEFORE_SPREAD are in flight on it, else the one with
 * the fewest (the earlier on a tie). `inFlight` is the adapter's count; a module-level function,
 * so that picking allocates nothing per request.
 */
export function http2ConnectionFor<T>(connections: readonly T[], inFlight: (c: T) => number): number {
  let best = 0;
  let least = inFlight(connections[0]!);
  if (least < HTTP2_STREAMS_BEFORE_SPREAD) return 0;
  for (let i = 1; i < connections.length; i++) {
    const n = inFlight(connections[i]!);
    if (n < least) {
      best = i;
      least = n;
    }
  }
  return best;
}
