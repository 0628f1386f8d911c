// The certificates behind a cluster's TLS settings. Certificate provider instances (the
// bootstrap's `certificate_providers`, or createMesh({ certs }) which registers istio-agent's
// folder as instance "default") and file data sources are each read by one CertWatcher, so a
// rotation is seen once for every cluster that uses the files. resolve() returns PEM text plus
// a `version` string that changes whenever any of it changes: transports key their connection
// pools on it, so new connections pick up new certificates while open ones finish on the old.
//
// resolve() throws CertificateError when something is missing: the request fails with that
// message; it is never sent without the TLS the policy asks for.

import type { Logger } from '../logger.ts';
import type { ClusterTls, PemSource } from './cluster-tls.ts';
import { istioCertPaths, type CertFilePaths } from './cert-files.ts';
import { CertWatcher, type VersionedMaterial } from './cert-watch.ts';
import { CertificateError } from './tls-errors.ts';

export interface ResolvedTls {
  /** Changes whenever any certificate, key or root below changes. */
  readonly version: string;
  /** PEM roots; undefined = Node's default (system) roots. */
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** False only when the cluster has no validation context (insecureSkipVerify). */
  readonly verify: boolean;
}

export interface CertificateProviderConfig {
  /** A folder in istio-agent's layout, or the three files of a file_watcher provider. */
  readonly files: CertFilePaths;
  readonly refreshMs?: number | undefined;
}

export class TlsCredentials {
  readonly #logger: Logger;
  readonly #providers = new Map<string, CertWatcher>();
  readonly #files = new Map<string, CertWatcher>();
  #epoch = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Grows whenever any certificate this object serves changes (a rotation, a provider replaced).
   * Transports compare it to skip resolve() on the hot path while nothing changed.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /** Registers (or replaces) a certificate provider instance, e.g. 'default'. */
  setProvider(instance: string, config: CertificateProviderConfig): void {
    this.#providers.get(instance)?.close();
    const w = new CertWatcher(config.files, { logger: this.#logger, name: `certificate provider ${instance}`, ...(config.refreshMs !== undefined && { refreshMs: config.refreshMs }) });
    w.onChange(() => { this.#epoch++; });
    this.#providers.set(instance, w);
    this.#epoch++;
  }

  /** Registers istio-agent's folder (cert-chain.pem, key.pem, root-cert.pem) as instance 'default'. */
  setIstioCertDir(dir: string): void {
    this.setProvider('default', { files: istioCertPaths(dir) });
  }

  /** The provider's watcher, for the server side (which terminates mTLS with the same files). */
  provider(instance: string): CertWatcher | undefined {
    return this.#providers.get(instance);
  }

  resolve(tls: ClusterTls): ResolvedTls {
    let cert: string | undefined;
    let key: string | undefined;
    const versions: string[] = [];
    if (tls.certificate) {
      const { chain: c, key: k } = tls.certificate;
      let chain: { material: VersionedMaterial; version: string; name: string };
      let privateKey: typeof chain;
      if (c.kind === 'file' && k.kind === 'file') {
        // One watcher for the pair, so a rotation caught between the two writes is never used.
        const w = this.#fileWatcher({ certificateChain: c.path, privateKey: k.path });
        const m = w.current;
        chain = privateKey = { material: m, version: `${c.path}@${m.version}`, name: `${c.path} and ${k.path}` };
      } else {
        chain = this.#material(c, 'chain');
        privateKey = k === c ? chain : this.#material(k, 'key');
      }
      cert = chain.material.cert;
      key = privateKey.material.key;
      if (cert === undefined || key === undefined) throw new CertificateError(`${chain.name} has no client certificate and key`);
      versions.push(chain.version, privateKey.version);
    }
    let ca: string | undefined;
    const trust = tls.trust;
    if (trust.kind !== 'system' && trust.kind !== 'none') {
      const roots = this.#material(trust, 'roots');
      ca = roots.material.ca;
      if (ca === undefined) throw new CertificateError(`${roots.name} has no root certificates`);
      versions.push(roots.version);
    }
    return { version: versions.join('|'), ca, cert, key, verify: trust.kind !== 'none' };
  }

  #material(src: PemSource, part: 'chain' | 'key' | 'roots'): { material: VersionedMaterial; version: string; name: string } {
    switch (src.kind) {
      case 'provider': {
        const w = this.#providers.get(src.instance);
        if (!w) {
          throw new CertificateError(`certificate provider instance "${src.instance}" is not configured: pass createMesh({ certs: <folder with cert-chain.pem, key.pem, root-cert.pem> }) or add certificate_providers.${src.instance} (file_watcher) to the bootstrap`);
        }
        const m = w.current;
        return { material: m, version: `${src.instance}@${m.version}`, name: `certificate provider ${src.instance}` };
      }
      case 'file': {
        if (part !== 'roots') throw new CertificateError(`a client certificate from ${src.path} needs its key from a file too`);
        const w = this.#fileWatcher({ rootCert: src.path });
        const m = w.current;
        return { material: m, version: `${src.path}@${m.version}`, name: src.path };
      }
      case 'inline': {
        const m: VersionedMaterial = { cert: part === 'chain' ? src.pem : undefined, key: part === 'key' ? src.pem : undefined, ca: part === 'roots' ? src.pem : undefined, identity: undefined, notAfter: undefined, version: 0 };
        return { material: m, version: 'inline', name: 'inline data source' };
      }
    }
  }

  #fileWatcher(files: CertFilePaths): CertWatcher {
    const id = JSON.stringify(files);
    let w = this.#files.get(id);
    if (!w) {
      w = new CertWatcher(files, { logger: this.#logger, name: Object.values(files).join(', ') });
      w.onChange(() => { this.#epoch++; });
      this.#files.set(id, w);
    }
    return w;
  }

  close(): void {
    for (const w of this.#providers.values()) w.close();
    for (const w of this.#files.values()) w.close();
    this.#providers.clear();
    this.#files.clear();
  }
}
