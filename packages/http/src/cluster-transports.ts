// MeshAgent's transports: one undici Agent per mesh cluster transport (transport-table.ts keys
// them, and replaces one when the cluster's connection settings or certificates change). undici
// pools per origin, so each endpoint gets its own connection pool inside its cluster's Agent.

import { Agent } from 'undici';
import { type ClusterConfig, type EndpointState, type TlsCredentials } from '@meshlet/core';
import { connectionsPerEndpoint, TransportTable, type TransportConnect } from './transport-table.ts';
import { tlsConnector } from './tls-connector.ts';

function agentOptions(cluster: ClusterConfig): Agent.Options {
  const c = cluster.connections;
  const perEndpoint = connectionsPerEndpoint(cluster);
  return {
    connectTimeout: cluster.connectTimeoutMs,
    ...(perEndpoint !== undefined && { connections: perEndpoint }),
    ...(c.maxRequestsPerConnection !== undefined && { maxRequestsPerClient: c.maxRequestsPerConnection }),
    ...(c.idleTimeoutMs !== undefined && { keepAliveTimeout: c.idleTimeoutMs, keepAliveMaxTimeout: c.idleTimeoutMs }),
  };
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
    }, credentials);
  }

  /** The origin an attempt on `endpoint` dispatches with: https:// exactly when the endpoint gets TLS. */
  origin(cluster: ClusterConfig, endpoint: EndpointState): string {
    return endpoint.origin(this.usesTls(cluster, endpoint));
  }
}
