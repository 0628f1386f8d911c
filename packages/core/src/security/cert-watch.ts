// Certificates that rotate. istio-agent (or cert-manager, or `meshlet certs`) rewrites the files
// before the old certificate expires; a CertWatcher notices (fs.watch on the folders, plus a
// cheap mtime poll because watch events are lost on some file systems and with Kubernetes'
// symlink swaps), re-reads and checks the files, and publishes a new version only when the new
// set is complete and consistent. Until then the last good set stays in force, so a rotation
// caught half-written never fails a request. Transports compare `version` to know when to build
// new connections; connections already open keep the old certificates until they close.

import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../logger.ts';
import { readCertFiles, type CertFilePaths, type CertMaterial } from './cert-files.ts';
import { CertificateError } from './tls-errors.ts';

export interface VersionedMaterial extends CertMaterial {
  /** Grows by one with every change of content. */
  readonly version: number;
}

export interface CertWatchOptions {
  logger: Logger;
  /** How often file times are polled as a fallback to watch events (ms). */
  refreshMs?: number;
  /** A name for log lines, e.g. the provider instance. */
  name: string;
}

export class CertWatcher {
  readonly paths: CertFilePaths;
  readonly #opts: CertWatchOptions;
  #current: VersionedMaterial | undefined;
  #lastError: CertificateError | undefined;
  #lastAttempt = 0;
  #stamp = '';
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;
  #listeners = new Set<(m: VersionedMaterial) => void>();
  #expiryWarned = 0;

  constructor(paths: CertFilePaths, opts: CertWatchOptions) {
    this.paths = paths;
    this.#opts = opts;
  }

  /**
   * The certificates in force. Throws CertificateError while no good set was ever read — the
   * caller fails its request with that error rather than fall back to plaintext.
   */
  get current(): VersionedMaterial {
    this.#start();
    const cur = this.#current;
    if (cur) {
      // An expired certificate is still handed out (the peer decides), but said once per version:
      // it means the agent that rotates the files has stopped.
      if (cur.notAfter !== undefined && this.#expiryWarned !== cur.version && cur.notAfter.getTime() < Date.now()) {
        this.#expiryWarned = cur.version;
        this.#opts.logger.warn({ certificates: this.#opts.name, identity: cur.identity, notAfter: cur.notAfter.toISOString() }, 'workload certificate has expired and was not rotated; peers will refuse it');
      }
      return cur;
    }
    // Files may appear later (an agent still starting): retry, but not on every request.
    if (Date.now() - this.#lastAttempt >= 200) this.reload();
    if (this.#current) return this.#current;
    throw this.#lastError ?? new CertificateError(`certificates of ${this.#opts.name} are not loaded`);
  }

  /** Called with each new version (not the first). */
  onChange(fn: (m: VersionedMaterial) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Re-reads the files now; keeps the last good set when the new one is not usable. */
  reload(retry = false): void {
    this.#lastAttempt = Date.now();
    this.#stamp = this.#fileStamp();
    let next: CertMaterial;
    try {
      next = readCertFiles(this.paths);
    } catch (err) {
      const e = err instanceof CertificateError ? err : new CertificateError(String(err), { cause: err });
      if (this.#current && !retry && !this.#closed) {
        // Most likely a rotation caught between two writes: look again shortly before warning.
        const t = setTimeout(() => this.reload(true), 100);
        t.unref();
        return;
      }
      if (this.#lastError?.message !== e.message) {
        this.#opts.logger.warn({ certificates: this.#opts.name, error: e.message }, this.#current ? 'certificate files changed but are not usable; keeping the previous certificates' : 'certificates not usable');
      }
      this.#lastError = e;
      return;
    }
    this.#lastError = undefined;
    const cur = this.#current;
    if (cur && cur.cert === next.cert && cur.key === next.key && cur.ca === next.ca) return;
    const material: VersionedMaterial = { ...next, version: (cur?.version ?? 0) + 1 };
    this.#current = material;
    if (cur) {
      this.#opts.logger.info({ certificates: this.#opts.name, version: material.version, identity: material.identity, notAfter: material.notAfter?.toISOString() }, 'certificates rotated');
      for (const fn of this.#listeners) fn(material);
    }
  }

  #start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const files = this.#files();
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#changedSoon());
        w.on('error', () => { /* the poll below still notices changes */ });
        this.#watchers.push(w);
      } catch {
        // A folder that does not exist yet: the poll picks the files up when they appear.
      }
    }
    this.#timer = setInterval(() => {
      if (this.#fileStamp() !== this.#stamp) this.reload();
    }, this.#opts.refreshMs ?? 1000);
    this.#timer.unref();
  }

  // Writers replace several files in a row; wait for the burst to end before reading.
  #changedSoon(): void {
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => { this.#debounce = undefined; this.reload(); }, 25);
    this.#debounce.unref();
  }

  #files(): string[] {
    return [this.paths.certificateChain, this.paths.privateKey, this.paths.rootCert].filter((f): f is string => f !== undefined);
  }

  #fileStamp(): string {
    return this.#files().map((f) => {
      try {
        const s = statSync(f);
        return `${s.mtimeMs}:${s.size}:${s.ino}`;
      } catch {
        return '-';
      }
    }).join('|');
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#timer) clearInterval(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#listeners.clear();
  }
}
