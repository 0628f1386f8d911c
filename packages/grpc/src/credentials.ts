// Channel credentials for mesh:/// channels: one object given to the client that does the right
// thing per destination cluster. grpc-js builds a secure connector per subchannel from the
// channel's credentials and the subchannel's arguments; the mesh balancer puts the cluster name
// (CLUSTER_ARG) and, for a cluster whose config asks for TLS/mTLS, that cluster's TLS
// credentials (TLS_ARG) in those arguments, so the connector is chosen per cluster. Other
// clusters use `forCluster`, else the fallback (plaintext by default: a mesh cluster with no TLS
// in its config is plaintext, as with the sidecar).

import { ChannelCredentials, credentials, experimental, Metadata, type CallCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { TokenProvider } from '@meshlet/core';
import { ClusterTlsCredentials } from './credentials-tls.ts';

/** Subchannel argument holding the name of the cluster the subchannel belongs to. */
export const CLUSTER_ARG = 'meshlet.cluster';
/** Subchannel argument holding the cluster's ClusterTlsCredentials when its config asks for TLS. */
export const TLS_ARG = 'meshlet.cluster_tls';

export interface MeshCredentialsOptions {
  /** Credentials for one cluster's endpoints (e.g. TLS to an external ServiceEntry); undefined uses the fallback. */
  forCluster?: (cluster: string) => ChannelCredentials | undefined;
  /**
   * A bearer token for calls to a cluster (`authorization: Bearer <token>` metadata), for servers
   * that check JWTs (RequestAuthentication); tokenFile(path) from @meshlet/core follows a
   * rotated token file. Undefined sends none.
   */
  token?: TokenProvider;
}

export class MeshChannelCredentials extends ChannelCredentials {
  readonly #fallback: ChannelCredentials;
  readonly #forCluster: ((cluster: string) => ChannelCredentials | undefined) | undefined;
  readonly #token: TokenProvider | undefined;

  constructor(fallback: ChannelCredentials = credentials.createInsecure(), options: MeshCredentialsOptions = {}) {
    super();
    this.#fallback = fallback;
    this.#forCluster = options.forCluster;
    this.#token = options.token;
  }

  // Secure as far as grpc-js can tell, so call credentials may be composed onto it (as with
  // @grpc/grpc-js-xds's XdsChannelCredentials); each cluster's connector decides the wire.
  _isSecure(): boolean {
    return true;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(channelTarget: experimental.GrpcUri, options: ChannelOptions, given?: CallCredentials): experimental.SecureConnector {
    const cluster = options[CLUSTER_ARG];
    // Subchannels belong to one cluster, so the token rides on that cluster's connector.
    const token = typeof cluster === 'string' && this.#token ? tokenCredentials(cluster, this.#token) : undefined;
    const callCredentials = token ? (given ? given.compose(token) : token) : given;
    const tls = options[TLS_ARG];
    if (tls instanceof ClusterTlsCredentials) {
      tls.applied = true;
      return tls.credentials._createSecureConnector(channelTarget, options, callCredentials);
    }
    const chosen = typeof cluster === 'string' ? this.#forCluster?.(cluster) : undefined;
    return (chosen ?? this.#fallback)._createSecureConnector(channelTarget, options, callCredentials);
  }
}

function tokenCredentials(cluster: string, provider: TokenProvider): CallCredentials {
  return credentials.createFromMetadataGenerator((_params, callback) => {
    Promise.resolve(provider(cluster)).then((t) => {
      const md = new Metadata();
      if (t) md.set('authorization', `Bearer ${t}`);
      callback(null, md);
    }, (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
  });
}

/** Credentials for a mesh:/// client: per-cluster where configured, else `fallback` (plaintext by default). */
export function meshCredentials(fallback?: ChannelCredentials, options?: MeshCredentialsOptions): ChannelCredentials {
  return new MeshChannelCredentials(fallback, options);
}
