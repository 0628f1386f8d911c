// TLS for one mesh cluster as grpc-js channel credentials: the workload certificate, the roots
// and the identity check of the cluster's transport socket (DestinationRule tls, or the
// UpstreamTlsContext a control plane sends), with the certificates core's TlsCredentials
// resolved. Mesh certificates name workloads (SPIFFE URIs), not hosts, and endpoints are dialled
// by IP, so the host-name check is replaced by the cluster's SAN list, as Envoy does; a
// mismatch fails the handshake with a PeerIdentityError naming expected and presented identities.
//
// The connection is made here rather than by grpc-js's secure credentials because those always
// offer ALPN ["h2"], and an Istio sidecar picks its inbound filter chain by the client's ALPN: in
// PERMISSIVE mode (Istio's default) only a client offering one of Istio's names reaches the mTLS
// chain. Mesh (ISTIO_MUTUAL) clusters offer what a sidecar's istio.alpn filter sends for HTTP/2,
// "istio-h2", "istio", then "h2" for servers that are not Envoy; every server answers "h2".

import { connect as tlsConnect, createSecureContext, checkServerIdentity as checkHostName, type PeerCertificate, type SecureContext } from 'node:tls';
import { isIP, type Socket } from 'node:net';
import { CallCredentials, ChannelCredentials, experimental, type ChannelOptions } from '@grpc/grpc-js';
import { dnsSans, PeerIdentityError, uriSans, type ClusterConfig, type ResolvedTls } from '@meshlet/core';

type ClusterTls = NonNullable<ClusterConfig['tls']>;

/**
 * A cluster's TLS credentials for its subchannels. `applied` turns true when grpc-js builds a
 * connection with them, which only MeshChannelCredentials does: a channel created with other
 * credentials never gets them, and the mesh then refuses to send rather than go out in plaintext.
 */
export class ClusterTlsCredentials {
  readonly credentials: ChannelCredentials;
  /** Changes when certificates rotate or the cluster's TLS settings change. */
  readonly signature: string;
  readonly sni: string | undefined;
  applied = false;

  constructor(credentials: ChannelCredentials, signature: string, sni: string | undefined) {
    this.credentials = credentials;
    this.signature = signature;
    this.sni = sni;
  }
}

export function tlsSignature(tls: ClusterTls, material: ResolvedTls): string {
  return `${material.version}|${material.verify}|${tls.sni ?? ''}|${tls.alpn.join(',')}|${tls.subjectAltNames.map((s) => `${s.sanType ?? '*'}=${s.text}`).join(',')}`;
}

const MESH_ALPN = ['istio-h2', 'istio', 'h2'] as const;

/** ALPN offered to a TLS cluster: the transport socket's own list (with "h2"), else Istio's for mesh clusters. */
export function alpnFor(tls: ClusterTls): readonly string[] {
  if (tls.alpn.length > 0) return tls.alpn.includes('h2') ? tls.alpn : [...tls.alpn, 'h2'];
  return tls.certificate?.chain.kind === 'provider' ? MESH_ALPN : ['h2'];
}

interface VerifyOptions {
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
  rejectUnauthorized?: boolean;
}

/** grpc-js channel credentials that connect with one secure context and the cluster's ALPN. */
class ClusterChannelCredentials extends ChannelCredentials {
  readonly #context: SecureContext;
  readonly #verify: VerifyOptions;
  readonly #alpn: readonly string[];

  constructor(context: SecureContext, verify: VerifyOptions, alpn: readonly string[]) {
    super();
    this.#context = context;
    this.#verify = verify;
    this.#alpn = alpn;
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(channelTarget: experimental.GrpcUri, options: ChannelOptions, callCredentials?: CallCredentials): experimental.SecureConnector {
    // SNI as grpc-js sets it: the override (the cluster's sni), else the target's host — never an IP.
    const override = options['grpc.ssl_target_name_override'];
    const host = typeof override === 'string' ? override : experimental.splitHostPort(channelTarget.path)?.host;
    const connectOptions = {
      secureContext: this.#context,
      ALPNProtocols: [...this.#alpn],
      ...(host !== undefined && !isIP(host) && { servername: host }),
      ...(this.#verify.checkServerIdentity && { checkServerIdentity: this.#verify.checkServerIdentity }),
      ...(this.#verify.rejectUnauthorized !== undefined && { rejectUnauthorized: this.#verify.rejectUnauthorized }),
    };
    const verifying = this.#verify.rejectUnauthorized ?? true;
    return {
      connect: (socket: Socket) => new Promise((resolve, reject) => {
        const tls = tlsConnect({ ...connectOptions, socket }, () => {
          if (verifying && !tls.authorized) return reject(tls.authorizationError);
          resolve({ socket: tls, secure: true });
        });
        tls.on('error', reject);
      }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials ?? CallCredentials.createEmpty(),
      destroy: () => {},
    };
  }
}

export function clusterTlsCredentials(cluster: ClusterConfig, tls: ClusterTls, material: ResolvedTls): ClusterTlsCredentials {
  const context = createSecureContext({
    ...(material.ca !== undefined && { ca: material.ca }),
    ...(material.cert !== undefined && { cert: material.cert, key: material.key }),
  });
  const sans = tls.subjectAltNames;
  const check = (_host: string, cert: PeerCertificate): Error | undefined => {
    if (sans.length === 0) {
      // No SAN list: Envoy checks nothing beyond the chain, except that an explicit SNI must be
      // one of the certificate's names (Istio's auto SNI SAN validation).
      return tls.sni !== undefined ? checkHostName(tls.sni, cert) : undefined;
    }
    const presented = [
      ...uriSans(cert.subjectaltname).map((v) => ({ type: 'URI', v })),
      ...dnsSans(cert.subjectaltname).map((v) => ({ type: 'DNS', v })),
    ];
    const ok = sans.some((m) => presented.some((p) => (m.sanType === undefined || m.sanType === p.type) && m.test(p.v)));
    return ok ? undefined : new PeerIdentityError(cluster.name, sans.map((s) => s.text), presented.map((p) => p.v));
  };
  // Verification is the default; only a cluster without a validation context (insecureSkipVerify)
  // accepts any server certificate.
  const credentials = new ClusterChannelCredentials(context, material.verify ? { checkServerIdentity: check } : { rejectUnauthorized: false }, alpnFor(tls));
  return new ClusterTlsCredentials(credentials, tlsSignature(tls, material), tls.sni);
}
