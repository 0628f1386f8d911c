// How many connections an adapter opens to one endpoint of a cluster. Envoy's max_connections
// is per cluster, while the adapters pool per endpoint, so the cluster's budget is shared out
// evenly (at least one connection each).
//
// HTTP/2 multiplexes a cluster's streams, and Envoy's pool puts them on one connection per
// worker thread. One connection makes the two ends take turns — the server works through a
// batch of frames while the client waits for it, then the other way round (the bench's HTTP/2
// and gRPC rows left the machine idle 35% of the time, against 15–18% over HTTP/1.1's many
// connections). A sidecar has two workers by Istio's long-standing default, so a busy endpoint
// sees two connections from it, and the server's own sidecar can put them on two workers. The
// adapters do the same: two HTTP/2 connections to an endpoint, requests handed to them in turn.

import { UNLIMITED } from '../resilience/cluster-limits.ts';
import type { ClusterConfig } from './mesh-snapshot.ts';

/** A sidecar's worker threads by Istio's default, each with its own HTTP/2 connection to an endpoint. */
const HTTP2_CONNECTIONS_PER_ENDPOINT = 2;

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
