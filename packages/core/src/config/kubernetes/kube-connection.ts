// The connection to a Kubernetes API server: credentials from the pod's service account (the
// default, as every in-cluster client does) or from a kubeconfig file and context, and the
// three kinds of request the live source makes — discovery, paginated lists and watches — all
// as raw JSON. @kubernetes/client-node supplies the kubeconfig handling (tokens re-read as they
// rotate, exec plugins, client certificates) and the informer; it is a large module, so this
// file is only ever loaded through a dynamic import when createMesh({ kubernetes }) is used.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HttpMethod, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { fetch } from 'undici';
import { ConfigError } from '../../errors.ts';

export interface KubeConnectionOptions {
  /** A kubeconfig file. Default: in-cluster (the pod's service account) unless `context` is given. */
  kubeconfig?: string;
  /** A context of the kubeconfig (KUBECONFIG or ~/.kube/config when `kubeconfig` is not given). */
  context?: string;
}

/** A JSON list as the API returns it (`kind: <Kind>List`). */
export interface KubeList {
  metadata?: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

/** Any object read from the API: only the envelope is assumed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** A failed request, with the HTTP status and the API's own message (a Status object's `message`). */
export class KubeApiError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
  }
}

type WatchCallback = (phase: string, obj: KubeObject, raw: unknown) => void;
type WatchDone = (err: unknown) => void;

/** What client-node's ListWatch calls to open a watch. */
export interface Watcher {
  watch(path: string, query: Record<string, unknown>, callback: WatchCallback, done: WatchDone): Promise<AbortController>;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** Page size of lists: a relist of 10k pods is 20 requests, never one response of 100 MB. */
const LIST_PAGE = 500;
/** A watch with no byte (event or bookmark) for this long is presumed dead and reopened. */
const WATCH_IDLE_MS = 150_000;
/** Server-side watch duration: between this and twice this, at random (client-go's choice). */
const WATCH_MIN_S = 300;

export class KubeConnection {
  // ES-private: the published types must not name client-node's KubeConfig, whose own types
  // need @types/ws, which an application compiling with skipLibCheck: false may not have.
  readonly #config: KubeConfig;
  readonly server: string;
  /** Where the credentials came from, for messages. */
  readonly origin: string;

  private constructor(config: KubeConfig, origin: string) {
    this.#config = config;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new ConfigError(`kubernetes: ${origin} names no cluster`);
    this.server = cluster.server.replace(/\/+$/, '');
    this.origin = origin;
  }

  static open(opts: KubeConnectionOptions): KubeConnection {
    const kc = new KubeConfig();
    if (opts.kubeconfig === undefined && opts.context === undefined) {
      const host = process.env['KUBERNETES_SERVICE_HOST'];
      if (!host || !process.env['KUBERNETES_SERVICE_PORT']) {
        throw new ConfigError('kubernetes: not running in a cluster (KUBERNETES_SERVICE_HOST/PORT are unset); give a kubeconfig (createMesh({ kubernetes: { kubeconfig, context } }), or meshlet --kubeconfig / --context)');
      }
      if (!existsSync(IN_CLUSTER_TOKEN)) {
        throw new ConfigError(`kubernetes: no service account token at ${IN_CLUSTER_TOKEN}; mount one (automountServiceAccountToken) or pass a kubeconfig`);
      }
      kc.loadFromCluster();
      return new KubeConnection(kc, 'the pod service account');
    }
    const file = opts.kubeconfig ?? process.env['KUBECONFIG']?.split(':')[0] ?? join(homedir(), '.kube', 'config');
    if (!existsSync(file)) throw new ConfigError(`kubernetes: kubeconfig ${file} does not exist`);
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new ConfigError(`kubernetes: cannot read kubeconfig ${file}: ${(err as Error).message}`);
    }
    if (opts.context !== undefined) {
      if (!kc.getContextObject(opts.context)) {
        throw new ConfigError(`kubernetes: kubeconfig ${file} has no context "${opts.context}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      }
      kc.setCurrentContext(opts.context);
    }
    return new KubeConnection(kc, `kubeconfig ${file}, context ${kc.getCurrentContext()}`);
  }

  /** GET `path` (with `query`) as JSON; non-2xx answers become KubeApiError with the API's message. */
  async getJson(path: string, query: Record<string, string | undefined> = {}, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await this.#config.applySecurityAuthentication(ctx);
    const res = await fetch(url, {
      headers: { ...ctx.getHeaders(), accept: 'application/json' },
      dispatcher: ctx.getDispatcher(),
      ...(signal && { signal }),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new KubeApiError(res.status, statusMessage(text) ?? `HTTP ${res.status}`);
    return JSON.parse(text) as unknown;
  }

  /** Lists a collection in pages; the result's resourceVersion is the one a watch resumes from. */
  async list(path: string, query: Record<string, string | undefined> = {}): Promise<KubeList> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = (await this.getJson(path, { ...query, limit: String(LIST_PAGE), continue: cont })) as KubeList;
      for (const item of page.items ?? []) items.push(item);
      resourceVersion = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont !== undefined);
    return { metadata: { ...(resourceVersion !== undefined && { resourceVersion }) }, items };
  }

  /**
   * A Watcher for client-node's ListWatch that asks for bookmarks (so a resumed watch starts
   * from a recent resourceVersion, not one that may have been compacted away), hands each
   * object to `transform` before the informer caches it, and calls `onOpen` once the server
   * has accepted the watch.
   */
  watcher(transform: (obj: KubeObject) => void, onOpen: () => void): Watcher {
    const watch = new Watch(this.#config);
    // client-node gives up on a watch after 30 s without a byte and opens a new one, which for
    // a quiet collection means a new request every 30 s per watch (N processes × 21 watches on
    // the API server). The server's bookmarks arrive about once a minute, so 150 s still
    // catches a dead connection; the server ends each watch after 5–10 minutes as client-go's
    // reflector asks it to, so reconnects are spread out.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_IDLE_MS;
    return {
      watch: async (path, query, callback, done) => {
        const wrapped: WatchCallback = (phase, obj, raw) => {
          if (obj && typeof obj === 'object' && phase !== 'ERROR' && phase !== 'BOOKMARK') transform(obj);
          callback(phase, obj, raw);
        };
        let failed = false;
        const timeoutSeconds = WATCH_MIN_S + Math.floor(Math.random() * WATCH_MIN_S);
        const controller = await watch.watch(path, { ...query, allowWatchBookmarks: true, timeoutSeconds }, wrapped, (err) => {
          if (err) failed = true;
          done(err);
        });
        // Watch.watch resolves once the server answered; a refused or failed request has
        // already called `done` with the error by then.
        if (!failed) onOpen();
        return controller;
      },
    };
  }
}

/** The `message` of a Kubernetes Status body, if that is what `text` is. */
function statusMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { kind?: string; message?: string };
    return body.kind === 'Status' && typeof body.message === 'string' ? body.message : undefined;
  } catch {
    return undefined;
  }
}
