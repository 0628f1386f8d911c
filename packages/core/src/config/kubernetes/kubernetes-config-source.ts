// Kubernetes-native mode: the config source that reads Istio's CRDs and the cluster's services
// live from the Kubernetes API, with no istiod. Each watched object goes through the same
// loader, validator and compiler as a file (istio/load/load-api-object.ts), and every change
// ends in the same snapshot swap, with the same rules:
// - an object whose new version is invalid is reported (Kind ns/name (resourceVersion N):
//   field: message) and its last good version stays in force;
// - a watch that is lost keeps everything it knew until it resyncs (resumed from its
//   resourceVersion, or relisted and applied as a diff after 410 Gone);
// - bursts are coalesced: the first change after a quiet period schedules one compile
//   `debounceMs` later, so a relist of 10k pods is one compile, and a busy cluster is compiled
//   at most once per period. A compile is a full one and grows with what is watched
//   (docs/kubernetes-mode.md has figures), so the wait before the next is also at least twice
//   the last compile's time: constant pod churn never takes more than about a third of a core.
// Watches are scoped as the options say: the namespaces the workload reads (Istio config also
// from the root namespace, where mesh-wide rules live), pods by label selector.
// The MeshConfig is istiod's: the `istio` ConfigMap's data.mesh, watched as one named object in
// the root namespace (istiod's own); createMesh({ meshConfig }) is in force over it.

import type { Mesh } from '../../mesh.ts';
import { applyObjects } from '../apply-objects.ts';
import type { MeshConfigObject } from '../../istio/types.ts';
import { formatProblem, type ConfigProblem } from '../../config-error.ts';
import { ConfigError } from '../../errors.ts';
import type { BackoffOptions } from '../backoff.ts';
import { KubeConnection, type KubeConnectionOptions, type KubeObject } from './kube-connection.ts';
import { discoverResources, resourceName, type WatchedResource } from './kube-resources.ts';
import { ResourceWatch, type WatchFailure } from './kube-watch.ts';
import type { KubernetesStatus, MissingResource } from '../../config-dump.ts';
import { LastGoodObjects } from './last-good-objects.ts';

export interface KubernetesOptions extends KubeConnectionOptions {
  /**
   * Watch only these namespaces (the ones this workload calls into). Istio config is also read
   * from the root namespace. Default: every namespace (needs cluster-wide list/watch).
   */
  namespaces?: string[];
  /** A label selector for the pods watched (e.g. 'app in (reviews,ratings)'). Default: all pods. */
  podLabelSelector?: string;
  /**
   * Quiet time before a change is compiled, and the shortest time between compiles (default
   * 50 ms; never less than twice the last compile's duration).
   */
  debounceMs?: number;
  /** How long createMesh waits for the first complete view of the cluster (default 30 s). */
  initialSyncTimeoutMs?: number;
  /**
   * At start-up, leave out objects with errors (each logged) and start with the rest — what
   * istiod does with an invalid object that got past its webhook. Default true here, unlike
   * files: the cluster's objects are written by others, and one bad VirtualService anywhere
   * should not stop every new pod. false: createMesh rejects, listing every error.
   */
  skipInvalidObjects?: boolean;
  /** Re-list/re-watch back-off after an error (default 0.5 s, ×1.6 each time, up to 30 s, ±20 %). */
  backoff?: BackoffOptions;
  /**
   * The ConfigMap holding the MeshConfig (its `mesh` key), in the root namespace: `istio`
   * (default), `istio-<revision>` for a revision's, or false to read none (istiod's defaults,
   * or createMesh({ meshConfig })). Reading it needs get/list/watch on that one ConfigMap
   * (examples/kubernetes/native-rbac.yaml); without the grant the defaults apply, with a warning.
   */
  meshConfigMap?: string | false;
}

const CORE_GROUPS = new Set(['', 'discovery.k8s.io']);
const CONFIG_MAPS: WatchedResource = { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true };

export class KubernetesConfigSource {
  readonly #mesh: Mesh;
  readonly #conn: KubeConnection;
  readonly #opts: KubernetesOptions;
  readonly #store = new LastGoodObjects();
  readonly #watches: ResourceWatch[] = [];
  #missing: MissingResource[] = [];
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #ready = false;
  #closed = false;
  /** Lines already logged for lost watches (one per watch and cause, not one per retry). */
  #reported = new Set<string>();
  /** The last compile's and analysis's problems, formatted: only new ones are logged. */
  #compileProblems: string[] = [];
  /** How long the last compile and snapshot build took, and when it ended (performance.now()). */
  #lastCompileMs = 0;
  #lastCompileEnd = 0;
  #onInitialFailure: ((err: Error) => void) | undefined;
  #onSynced: (() => void) | undefined;
  /** createMesh({ meshConfig }), in force over the ConfigMap's. */
  readonly #preferredMeshConfig: () => MeshConfigObject | undefined;
  /** The istio ConfigMap's watch, and whether RBAC refused it (the defaults apply then). */
  #meshConfigWatch: ResourceWatch | undefined;
  #meshConfigRefused = false;

  private constructor(mesh: Mesh, conn: KubeConnection, opts: KubernetesOptions, preferredMeshConfig: () => MeshConfigObject | undefined) {
    this.#mesh = mesh;
    this.#conn = conn;
    this.#opts = opts;
    this.#preferredMeshConfig = preferredMeshConfig;
  }

  /**
   * Connects, discovers the kinds to watch, and resolves once every watch has listed its
   * objects and the first snapshot is applied. Rejects (after stopping everything) when the
   * API server cannot be reached in time or RBAC forbids a kind.
   */
  static async start(mesh: Mesh, opts: KubernetesOptions, preferredMeshConfig: () => MeshConfigObject | undefined = () => undefined): Promise<KubernetesConfigSource> {
    const source = new KubernetesConfigSource(mesh, KubeConnection.open(opts), opts, preferredMeshConfig);
    mesh.onClose(() => source.close());
    mesh.extendConfigDump(() => ({ kubernetes: source.status() }));
    try {
      await source.#start();
    } catch (err) {
      await source.close();
      throw err;
    }
    return source;
  }

  async #start(): Promise<void> {
    const conn = this.#conn;
    let discovered: { resources: WatchedResource[]; missing: MissingResource[] };
    try {
      discovered = await discoverResources(conn);
    } catch (err) {
      throw new ConfigError(`kubernetes: cannot read API discovery from ${conn.server} (${conn.origin}): ${(err as Error).message}`);
    }
    this.#missing = discovered.missing;
    for (const m of discovered.missing) this.#mesh.logger.warn(`kubernetes: ${m.kind} (${m.group}) is not watched: ${m.reason}`);

    for (const resource of discovered.resources) {
      for (const namespace of this.#namespacesFor(resource)) {
        const labelSelector = resource.kind === 'Pod' ? this.#opts.podLabelSelector : undefined;
        this.#watches.push(new ResourceWatch(conn, resource, this, {
          ...(namespace !== undefined && { namespace }),
          ...(labelSelector !== undefined && { labelSelector }),
          ...(this.#opts.backoff && { backoff: this.#opts.backoff }),
        }));
      }
    }
    const meshConfigMap = this.#opts.meshConfigMap ?? 'istio';
    if (meshConfigMap !== false) {
      this.#meshConfigWatch = new ResourceWatch(conn, CONFIG_MAPS, this, {
        namespace: this.#mesh.baseIdentity.rootNamespace,
        fieldSelector: `metadata.name=${meshConfigMap}`,
        ...(this.#opts.backoff && { backoff: this.#opts.backoff }),
      });
      this.#watches.push(this.#meshConfigWatch);
    }

    const timeoutMs = this.#opts.initialSyncTimeoutMs ?? 30_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const waiting = this.#watches.filter((w) => !this.#settled(w)).map((w) => `${w.description}${w.lastError ? ` (${w.lastError.message})` : ''}`);
        reject(new ConfigError(`kubernetes: no complete view of ${conn.server} after ${timeoutMs} ms; still waiting for ${waiting.join(', ')}`));
      }, timeoutMs);
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.#onSynced = undefined;
        this.#onInitialFailure = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.#onSynced = () => {
        if (this.#watches.every((w) => this.#settled(w))) finish();
      };
      this.#onInitialFailure = finish;
      for (const w of this.#watches) w.start();
      if (this.#watches.length === 0) finish();
    });
    const errors = this.#store.problems().filter((p) => p.severity === 'error');
    if (errors.length > 0 && this.#opts.skipInvalidObjects === false) {
      throw new ConfigError(`kubernetes: ${errors.length === 1 ? 'an invalid object' : `${errors.length} invalid objects`} in ${conn.server}; nothing was applied (fix ${errors.length === 1 ? 'it' : 'them'}, or leave skipInvalidObjects at its default to start without them):`, errors);
    }
    this.#ready = true;
    this.#apply();
  }

  /** Synced, or the MeshConfig's watch that RBAC refused (start-up does not wait for it). */
  #settled(w: ResourceWatch): boolean {
    return w.synced || (w === this.#meshConfigWatch && this.#meshConfigRefused);
  }

  /** createMesh({ meshConfig: path }) read a new version of its file. */
  meshConfigChanged(): void {
    this.#changed();
  }

  /** undefined = cluster-wide (or a cluster-scoped resource). */
  #namespacesFor(resource: WatchedResource): (string | undefined)[] {
    const listed = this.#opts.namespaces;
    if (!resource.namespaced || listed === undefined) return [undefined];
    const set = new Set(listed);
    // Mesh-wide Istio config (DestinationRules, PeerAuthentication, ...) lives in the root namespace.
    if (!CORE_GROUPS.has(resource.group)) set.add(this.#mesh.identity.rootNamespace);
    return [...set];
  }

  // ---- WatchEvents --------------------------------------------------------------------------

  upsert(obj: KubeObject): void {
    const { changed, kept, problems } = this.#store.upsert(obj);
    for (const p of problems) this.#log(p);
    if (problems.some((p) => p.severity === 'error')) {
      const what = `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name ?? ''}`;
      this.#mesh.logger.warn(kept ? `kubernetes: keeping the last good version of ${what}` : `kubernetes: ${what} is left out until a valid version of it arrives`);
    }
    if (changed) this.#changed();
    else this.#problemsChanged();
  }

  remove(obj: KubeObject): void {
    if (this.#store.remove(obj)) this.#changed();
    else this.#problemsChanged();
  }

  synced(watch: ResourceWatch, recovered: boolean): void {
    if (watch === this.#meshConfigWatch) this.#meshConfigRefused = false;
    if (recovered && this.#ready) this.#mesh.logger.info(`kubernetes: watching ${watch.description} again`);
    this.#onSynced?.();
  }

  failed(watch: ResourceWatch, error: WatchFailure): void {
    const forbidden = error.statusCode === 401 || error.statusCode === 403;
    if (watch === this.#meshConfigWatch && error.statusCode === 403) {
      // The MeshConfig is optional, as a missing ConfigMap is: say so once, and go on without it.
      if (!this.#meshConfigRefused) {
        this.#meshConfigRefused = true;
        this.#mesh.logger.warn(`kubernetes: forbidden: cannot read ${watch.description} as ${this.#conn.origin}: ${error.message}; istiod's MeshConfig defaults apply${this.#preferredMeshConfig() ? ' under createMesh({ meshConfig })' : ''}. Grant get, list and watch on that ConfigMap (examples/kubernetes/native-rbac.yaml), or pass kubernetes.meshConfigMap: false`);
        this.#onSynced?.();
      }
      return;
    }
    const message = forbidden
      ? `kubernetes: ${error.statusCode === 403 ? 'forbidden' : 'unauthorized'}: cannot list/watch ${watch.description} as ${this.#conn.origin}: ${error.message}; grant get, list and watch on ${resourceName(watch.resource)} (examples/kubernetes/rbac.yaml)`
      : `kubernetes: lost ${watch.description} (${error.message}); keeping the last good config, retrying in ${error.retryInMs} ms`;
    if (forbidden && this.#onInitialFailure) {
      this.#onInitialFailure(new ConfigError(message));
      return;
    }
    const key = `${watch.description}|${forbidden ? error.message : error.statusCode ?? 'net'}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    if (forbidden) this.#mesh.logger.error(message);
    else this.#mesh.logger.warn(message);
  }

  // ---- applying -----------------------------------------------------------------------------

  #changed(): void {
    this.#dirty = true;
    this.#schedule();
  }

  #problemsChanged(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#ready || this.#closed || this.#timer) return;
    const wait = Math.max(this.#opts.debounceMs ?? 50, this.#lastCompileMs * 2 - (performance.now() - this.#lastCompileEnd));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#dirty) this.#apply();
      else this.#mesh.reportProblems([...this.#store.problems().map(formatProblem), ...this.#compileProblems]);
    }, wait);
    this.#timer.unref();
  }

  #apply(): void {
    const start = performance.now();
    this.#dirty = false;
    // Every watch recovered: messages about it may be said again next time.
    if (this.#watches.every((w) => w.lastError === undefined || (w === this.#meshConfigWatch && this.#meshConfigRefused))) this.#reported.clear();
    const problems = applyObjects(this.#mesh, this.#store.objects(), `kubernetes:${this.#conn.server}`, this.#store.problems(), { meshConfig: this.#preferredMeshConfig() });
    // Logged when new: an unchanged finding is not said again on every compile.
    const previous = new Set(this.#compileProblems);
    this.#compileProblems = problems.map(formatProblem);
    problems.forEach((p, i) => {
      if (!previous.has(this.#compileProblems[i]!)) this.#log(p);
    });
    this.#lastCompileEnd = performance.now();
    this.#lastCompileMs = this.#lastCompileEnd - start;
  }

  #log(p: ConfigProblem): void {
    if (p.severity === 'error') this.#mesh.logger.error(formatProblem(p));
    else if (p.severity === 'warning') this.#mesh.logger.warn(formatProblem(p));
    else this.#mesh.logger.info(formatProblem(p));
  }

  status(): KubernetesStatus {
    return {
      server: this.#conn.server,
      credentials: this.#conn.origin,
      objects: this.#store.size,
      lastCompileMs: Math.round(this.#lastCompileMs * 10) / 10,
      watches: this.#watches.map((w) => w.status()),
      missing: this.#missing,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#watches.map((w) => w.stop()));
  }
}
