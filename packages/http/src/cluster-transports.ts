// MeshAgent's transports: one undici Agent per mesh cluster transport (transport-table.ts keys
// them, and replaces one when the cluster's connection settings or certificates change). undici
// pools per origin, so each endpoint gets its own connection pool inside its cluster's Agent.

import { Agent } from 'undici';
import type { ClusterConfig, EndpointState, TlsCredentials } from '@meshlet/core';
import { connectionsPerEndpoint, speaksHttp2, TransportTable, type TransportConnect } from './transport-table.ts';
import { tlsConnector } from './tls-connector.ts';

// Envoy's default http2_protocol_options.max_concurrent_streams (istiod writes none unless the
// DestinationRule sets maxConcurrentStreams); undici's own default would be 100.
const ENVOY_MAX_CONCURRENT_STREAMS = 2147483647;

function agentOptions(cluster: ClusterConfig): Agent.Options {
  const c = cluster.connections;
  const perEndpoint = connectionsPerEndpoint(cluster);
  return {
    connectTimeout: cluster.connectTimeoutMs,
    ...(perEndpoint !== undefined && { connections: perEndpoint }),
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
function http2Options(cluster: ClusterConfig): Agent.Options {
  if (!speaksHttp2(cluster)) return { allowH2: false };
  const streams = cluster.connections.maxConcurrentStreams ?? ENVOY_MAX_CONCURRENT_STREAMS;
  // undici 8's Pool builds the connector from a top-level `useH2c`; its types document only
  // h2Options.useH2c, which that connector never sees. Both, so either reading works.
  const options: Agent.Options & { useH2c: boolean } = { allowH2: true, useH2c: true, h2Options: { useH2c: true, maxConcurrentStreams: streams } };
  return options;
}

export class ClusterTransports extends TransportTable<Agent> {
  constructor(options: Agent.Options = {}, credentials?: TlsCredentials) {
    super({
      create: (cluster: ClusterConfig, { tls, socketPath }: TransportConnect) => {
        const connect = tls
          ? tlsConnector({ cluster: cluster.name, tls: tls.options, alpn: tls.alpn, timeoutMs: cluster.connectTimeoutMs, socketPath })
          : socketPath !== undefined ? { socketPath } : undefined;
        return new Agent({ ...options, ...agentOptions(cluster), ...(connect && { connect }) });
      },
      close: (agent) => agent.close(),
      destroy: (agent, err) => agent.destroy(err ?? null),
    }, credentials, true);
  }

  /** The origin an attempt on `endpoint` dispatches with: https:// exactly when the endpoint gets TLS. */
  origin(cluster: ClusterConfig, endpoint: EndpointState): string {
    return endpoint.origin(this.usesTls(cluster, endpoint));
  }
}
