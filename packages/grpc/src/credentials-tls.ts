// TLS for one mesh cluster as grpc-js channel credentials: the workload certificate, the roots
// and the identity check of the cluster's transport socket (DestinationRule tls, or the
// UpstreamTlsContext a control plane sends), with the certificates core's TlsCredentials
// resolved. Mesh certificates name workloads (SPIFFE URIs), not hosts, and endpoints are dialled
// by IP, so the host-name check is replaced by the cluster's SAN list, as Envoy does; a
// mismatch fails the handshake with a PeerIdentityError naming expected and presented identities.

import { createSecureContext, checkServerIdentity as checkHostName, type PeerCertificate } from 'node:tls';
import { ChannelCredentials } from '@grpc/grpc-js';
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
  const credentials = ChannelCredentials.createFromSecureContext(context, material.verify ? { checkServerIdentity: check } : { rejectUnauthorized: false });
  return new ClusterTlsCredentials(credentials, tlsSignature(tls, material), tls.sni);
}
