// A grpc-js CertificateProvider over a Meshlet CertWatcher, so grpc-js's own certificate-provider
// credentials (gRFC A29, what @grpc/grpc-js-xds uses) read the same files, with the same
// consistency check (a chain and key that do not match are never handed out) and the same
// rotation as the HTTP transports. Listeners get the current certificates when they subscribe
// and every rotation after; null while nothing usable has been read yet.

import { experimental } from '@grpc/grpc-js';
import type { CertWatcher, VersionedMaterial } from '@meshlet/core';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export class MeshCertificateProvider implements experimental.CertificateProvider {
  readonly #watcher: CertWatcher;
  readonly #ca = new Set<CaListener>();
  readonly #identity = new Set<IdentityListener>();
  #unsubscribe: (() => void) | undefined;

  constructor(watcher: CertWatcher) {
    this.#watcher = watcher;
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    this.#subscribe();
    const m = this.#current();
    queueMicrotask(() => listener(m?.ca ? { caCertificate: Buffer.from(m.ca) } : null));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
    this.#maybeUnsubscribe();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.add(listener);
    this.#subscribe();
    const m = this.#current();
    queueMicrotask(() => listener(m?.cert && m.key ? { certificate: Buffer.from(m.cert), privateKey: Buffer.from(m.key) } : null));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.delete(listener);
    this.#maybeUnsubscribe();
  }

  #current(): VersionedMaterial | undefined {
    try {
      return this.#watcher.current;
    } catch {
      // Missing files: grpc-js fails the handshake ("no certificates"), never goes plaintext.
      return undefined;
    }
  }

  #subscribe(): void {
    this.#unsubscribe ??= this.#watcher.onChange((m) => {
      for (const l of this.#ca) l(m.ca ? { caCertificate: Buffer.from(m.ca) } : null);
      for (const l of this.#identity) l(m.cert && m.key ? { certificate: Buffer.from(m.cert), privateKey: Buffer.from(m.key) } : null);
    });
  }

  #maybeUnsubscribe(): void {
    if (this.#ca.size === 0 && this.#identity.size === 0) {
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
    }
  }
}
