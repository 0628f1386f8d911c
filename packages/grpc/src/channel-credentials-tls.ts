// Client side of mesh TLS for mesh:/// channels: per cluster, the TLS the cluster's transport
// socket asks for (ISTIO_MUTUAL through certificate providers that rotate with the files,
// MUTUAL/SIMPLE from the resolved files), with the server identity checked against the
// cluster's SAN list; plaintext only for clusters without TLS. A TLS cluster whose certificates
// are missing gets credentials that fail the connection with the CertificateError — never the
// plaintext fallback.

import { checkServerIdentity as checkHostName, type PeerCertificate } from 'node:tls';
import { CallCredentials, ChannelCredentials, credentials, experimental, type ChannelOptions } from '@grpc/grpc-js';
import { CertificateError, dnsSans, PeerIdentityError, uriSans, type ClusterTls, type Mesh } from '@meshlet/core';
import { MeshChannelCredentials } from './credentials.ts';
import { MeshCertificateProvider } from './certificate-provider-mesh.ts';

/** Channel credentials for mesh:/// clients that honour each cluster's TLS settings. */
export function meshTlsCredentials(mesh: Mesh, fallback: ChannelCredentials = credentials.createInsecure()): ChannelCredentials {
  const cache = new Map<string, { key: string; creds: ChannelCredentials }>();
  return new MeshChannelCredentials(fallback, {
    forCluster: (name) => {
      const cluster = mesh.snapshot.clusters.get(name);
      if (!cluster?.tls) return undefined;
      try {
        return credentialsFor(mesh, name, cluster.tls, cache);
      } catch (err) {
        return new FailingCredentials(err instanceof Error ? err : new CertificateError(String(err)));
      }
    },
  });
}

function credentialsFor(mesh: Mesh, name: string, tls: ClusterTls, cache: Map<string, { key: string; creds: ChannelCredentials }>): ChannelCredentials {
  const verify = { checkServerIdentity: identityCheck(name, tls), ...(tls.trust.kind === 'none' && { rejectUnauthorized: false }) };
  const cert = tls.certificate;
  const trust = tls.trust;
  // Certificate providers: grpc-js's provider credentials follow rotations by themselves.
  if (trust.kind === 'provider' && (!cert || cert.chain.kind === 'provider')) {
    const caWatcher = mesh.credentials.provider(trust.instance);
    const idWatcher = cert && cert.chain.kind === 'provider' ? mesh.credentials.provider(cert.chain.instance) : undefined;
    if (!caWatcher || (cert && !idWatcher)) {
      throw new CertificateError(`certificate provider instance "${caWatcher ? (cert?.chain as { instance: string }).instance : trust.instance}" is not configured: pass createMesh({ certs }) or add it to the bootstrap's certificate_providers`);
    }
    void caWatcher.current; // throws CertificateError now if the files are unusable
    const key = `provider|${trust.instance}|${idWatcher ? (cert!.chain as { instance: string }).instance : ''}|${tlsKey(tls)}`;
    const hit = cache.get(name);
    if (hit?.key === key) return hit.creds;
    const creds = experimental.createCertificateProviderChannelCredentials(new MeshCertificateProvider(caWatcher), idWatcher ? new MeshCertificateProvider(idWatcher) : null, verify);
    cache.set(name, { key, creds });
    return creds;
  }
  // Files and inline PEM: resolved now; a rotation changes the version, so new subchannels
  // get new credentials.
  const m = mesh.credentials.resolve(tls);
  const key = `files|${m.version}|${tlsKey(tls)}`;
  const hit = cache.get(name);
  if (hit?.key === key) return hit.creds;
  const creds = credentials.createSsl(m.ca ? Buffer.from(m.ca) : null, m.key ? Buffer.from(m.key) : null, m.cert ? Buffer.from(m.cert) : null, verify);
  cache.set(name, { key, creds });
  return creds;
}

function tlsKey(tls: ClusterTls): string {
  return `${tls.sni ?? ''}|${tls.subjectAltNames.map((s) => `${s.sanType ?? '*'}=${s.text}`).join(',')}`;
}

function identityCheck(cluster: string, tls: ClusterTls): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const sans = tls.subjectAltNames;
    if (sans.length === 0) return tls.sni !== undefined ? checkHostName(tls.sni, cert) : undefined;
    const presented = [...uriSans(cert.subjectaltname).map((v) => ({ type: 'URI', v })), ...dnsSans(cert.subjectaltname).map((v) => ({ type: 'DNS', v }))];
    const ok = sans.some((m) => presented.some((p) => (m.sanType === undefined || m.sanType === p.type) && m.test(p.v)));
    return ok ? undefined : new PeerIdentityError(cluster, sans.map((s) => s.text), presented.map((p) => p.v));
  };
}

/** Credentials whose every connection attempt fails with `error`: the subchannel reports it. */
class FailingCredentials extends ChannelCredentials {
  readonly #error: Error;
  constructor(error: Error) {
    super();
    this.#error = error;
  }
  _isSecure(): boolean { return true; }
  _equals(other: ChannelCredentials): boolean { return other === this; }
  _createSecureConnector(_target: experimental.GrpcUri, _options: ChannelOptions, callCredentials?: CallCredentials): experimental.SecureConnector {
    const error = this.#error;
    return {
      connect: () => Promise.reject(error),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials ?? CallCredentials.createEmpty(),
      destroy: () => {},
    };
  }
}
