// One live view of one API collection (a resource, cluster-wide or in one namespace), on
// client-node's informer (ListWatch): list, then watch from the list's resourceVersion, resume
// from the last seen version (bookmarks keep it fresh) when the stream ends, relist on 410 Gone
// — the relist is applied as a diff (objects gone are deleted, the rest updated), so the
// consumer never sees a gap. ListWatch gives up on any other error; this class restarts it
// with back-off, resuming from the last resourceVersion it had, and keeps everything it knew
// meanwhile, so a lost API server costs no config.

import { ListWatch } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from '../backoff.ts';
import type { KubeConnection, KubeObject } from './kube-connection.ts';
import { trimObject } from './kube-trim.ts';
import { apiVersionOf, resourceName, resourcePath, type WatchedResource } from './kube-resources.ts';
import type { WatchStatus } from '../../config-dump.ts';

export interface WatchEvents {
  upsert(obj: KubeObject): void;
  remove(obj: KubeObject): void;
  /**
   * The view matches the server as of a list (first list, relist) or a resumed watch;
   * `recovered` when the watch had failed since it last did.
   */
  synced(watch: ResourceWatch, recovered: boolean): void;
  /** The list or watch failed; it is retried after `retryInMs`. */
  failed(watch: ResourceWatch, error: WatchFailure): void;
}

export interface WatchFailure {
  statusCode: number | undefined;
  message: string;
  retryInMs: number;
}

export interface ResourceWatchOptions {
  namespace?: string;
  labelSelector?: string;
  /** e.g. metadata.name=istio: one named object (the istio ConfigMap), not the collection. */
  fieldSelector?: string;
  backoff?: BackoffOptions;
}

export class ResourceWatch {
  readonly resource: WatchedResource;
  readonly namespace: string | undefined;
  readonly #events: WatchEvents;
  readonly #informer: ListWatch<KubeObject>;
  readonly #backoff: Backoff;
  #synced = false;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #lists = 0;
  #expired = 0;
  #lastError: WatchFailure | undefined;
  readonly #objectName: string | undefined;

  constructor(conn: KubeConnection, resource: WatchedResource, events: WatchEvents, opts: ResourceWatchOptions = {}) {
    this.resource = resource;
    this.namespace = opts.namespace;
    this.#objectName = opts.fieldSelector?.startsWith('metadata.name=') ? opts.fieldSelector.slice('metadata.name='.length) : undefined;
    this.#events = events;
    this.#backoff = new Backoff({ initialMs: 500, maxMs: 30_000, ...opts.backoff });
    const path = resourcePath(resource, opts.namespace);
    const apiVersion = apiVersionOf(resource);
    // List items of built-in kinds come without apiVersion and kind; the loader needs both.
    // What nothing reads is dropped before the informer caches it (./kube-trim.ts).
    const trim = (obj: KubeObject): void => {
      obj.apiVersion ??= apiVersion;
      obj.kind ??= resource.kind;
      trimObject(obj);
    };
    const list = async () => {
      const result = await conn.list(path, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
      for (const item of result.items) trim(item);
      this.#lists++;
      this.#backoff.reset();
      return result;
    };
    const watcher = conn.watcher(
      (obj) => {
        trim(obj);
        this.#backoff.reset();
      },
      // ListWatch opens the watch right after applying a list (or to resume); once the server
      // has accepted it, the view is consistent at that resourceVersion.
      () => {
        const recovered = this.#lastError !== undefined;
        this.#synced = true;
        this.#lastError = undefined;
        this.#events.synced(this, recovered);
      },
    );
    const counting: typeof watcher = {
      watch: (p, q, cb, done) =>
        watcher.watch(p, q, (phase, obj, raw) => {
          if (phase === 'ERROR' && (obj as { code?: number }).code === 410) this.#expired++;
          cb(phase, obj, raw);
        }, done),
    };
    // ListWatch's types want its own Watch class; ours has the one method it calls.
    this.#informer = new ListWatch<KubeObject>(path, counting as never, list as never, false, opts.labelSelector, opts.fieldSelector);
    this.#informer.on('add', (o) => this.#events.upsert(o));
    this.#informer.on('update', (o) => this.#events.upsert(o));
    this.#informer.on('delete', (o) => this.#events.remove(o));
    this.#informer.on('error', (err) => this.#onError(err));
  }

  get synced(): boolean {
    return this.#synced;
  }

  get lastError(): WatchFailure | undefined {
    return this.#lastError;
  }

  /** `pods`, `pods in namespace default` or `configmaps istio in namespace istio-system`, for messages. */
  get description(): string {
    const name = resourceName(this.resource) + (this.#objectName === undefined ? '' : ` ${this.#objectName}`);
    return this.namespace === undefined || !this.resource.namespaced ? name : `${name} in namespace ${this.namespace}`;
  }

  start(): void {
    this.#informer.start().catch((err: unknown) => this.#onError(err));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#informer.stop();
  }

  status(): WatchStatus {
    return {
      resource: resourceName(this.resource),
      ...(this.namespace !== undefined && this.resource.namespaced && { namespace: this.namespace }),
      synced: this.#synced,
      resourceVersion: this.#informer.latestResourceVersion(),
      lists: this.#lists,
      expired: this.#expired,
      ...(this.#lastError && { lastError: this.#lastError.message }),
    };
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    const retryInMs = this.#backoff.nextDelayMs();
    const statusCode = (err as { statusCode?: number; code?: number } | undefined)?.statusCode;
    const failure: WatchFailure = { statusCode, message: errorMessage(err), retryInMs };
    this.#lastError = failure;
    this.#events.failed(this, failure);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      // start() keeps the last resourceVersion: the watch resumes where it stopped, and a
      // version the server no longer has comes back as 410, which relists.
      if (!this.#stopped) this.start();
    }, retryInMs);
    this.#retry.unref();
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
