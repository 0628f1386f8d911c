// What `meshlet xds` serves: the Istio CRDs in the config paths, compiled per client identity
// into the xDS resources istiod's proxyless generator would send that client — or, to a node
// without GENERATOR, its sidecar generator (sidecar-form.ts) — each encoded once and given a
// content version. A file edit bumps the store version and tells every
// session; a file whose new version is broken keeps its last good objects (as the embedded
// mode does), so a typo never withdraws routes from every client. At start there is nothing to
// keep, so errors fail the start unless invalid objects are to be skipped.

import type { ConfigProblem } from '../config-error.ts';
import { formatProblem } from '../config-error.ts';
import { watchPaths } from '../config/file-watch.ts';
import { analyzeMesh } from '../istio/analyze/analyze-mesh.ts';
import { compileMesh, type ClientIdentity } from '../istio/compile/compile-mesh.ts';
import { compileInboundListener } from '../istio/compile/compile-inbound-listener.ts';
import { LastGoodFiles, type FilesLoad } from '../config/last-good-files.ts';
import { ConfigError } from '../errors.ts';
import type { MeshObject } from '../istio/types.ts';
import type { Logger } from '../logger.ts';
import { encodeAny } from '../xds/codec/index.ts';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER, ROUTE_CONFIGURATION } from '../config/xds/resource-types.ts';
import type { XdsResources } from '../xds/resources.ts';
import { toSidecarForm, type OutboundTrafficPolicy } from './sidecar-form.ts';

export interface ServedResource {
  readonly name: string;
  readonly value: object;
  /** The encoded message, ready to go into an Any. */
  readonly bytes: Uint8Array;
  /** A hash of `bytes`: changes exactly when the resource does (delta versions). */
  readonly version: string;
}

export interface ServedSnapshot {
  /** The store version it was compiled from (SotW version_info). */
  readonly version: string;
  readonly byType: ReadonlyMap<string, ReadonlyMap<string, ServedResource>>;
  /**
   * A server's own inbound listener (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`), compiled when
   * first asked for: the names are the clients' listening addresses, unknown in advance. Never
   * part of a wildcard answer, as with istiod.
   */
  readonly inbound?: (name: string) => ServedResource | undefined;
}

/** The resource of that type and name a snapshot serves, inbound listeners included. */
export function servedResource(snapshot: ServedSnapshot, typeUrl: string, name: string): ServedResource | undefined {
  const r = snapshot.byType.get(typeUrl)?.get(name);
  if (r || typeUrl !== LISTENER.typeUrl) return r;
  return snapshot.inbound?.(name);
}

const KINDS = [
  [LISTENER.typeUrl, 'listeners'],
  [ROUTE_CONFIGURATION.typeUrl, 'routeConfigs'],
  [CLUSTER.typeUrl, 'clusters'],
  [CLUSTER_LOAD_ASSIGNMENT.typeUrl, 'endpoints'],
] as const;

/**
 * A last step over each client's compiled resources before they are encoded: tools add
 * resources the CRDs cannot express, and tests serve a resource a client must reject.
 */
export type PostCompile = (resources: XdsResources, client: ClientIdentity) => void;

export class XdsConfigStore {
  readonly #paths: string[];
  readonly #logger: Logger;
  readonly #listeners = new Set<() => void>();
  #objects: MeshObject[] = [];
  readonly #files: LastGoodFiles;
  #version = 0;
  #problems: ConfigProblem[] = [];
  /** Compiled snapshots by identity key, for the current version only. */
  #cache = new Map<string, ServedSnapshot>();
  #watcher: { close(): void } | undefined;
  #reloading: Promise<void> = Promise.resolve();

  readonly #postCompile: PostCompile | undefined;

  readonly #outbound: OutboundTrafficPolicy;

  constructor(paths: string[], logger: Logger, postCompile?: PostCompile, outbound: OutboundTrafficPolicy = 'ALLOW_ANY') {
    this.#paths = paths;
    this.#files = new LastGoodFiles(paths);
    this.#logger = logger;
    this.#postCompile = postCompile;
    this.#outbound = outbound;
  }

  get version(): number {
    return this.#version;
  }

  get problems(): readonly ConfigProblem[] {
    return this.#problems;
  }

  /**
   * Reads the files; later edits are picked up when `watch` is on. Rejects with a ConfigError
   * listing every error unless `skipInvalidObjects`.
   */
  async start(watch: boolean, skipInvalidObjects = false): Promise<void> {
    const first = await this.#files.load();
    const errors = first.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0 && !skipInvalidObjects) {
      throw new ConfigError(`${errors.length === 1 ? 'an error' : `${errors.length} errors`} in ${this.#paths.join(', ')}; not serving (fix ${errors.length === 1 ? 'it' : 'them'}, or start with --skip-invalid-objects to serve the rest):`, errors);
    }
    this.#apply(first);
    if (watch) {
      this.#watcher = watchPaths(this.#paths, () => {
        this.#reloading = this.#reloading.then(() => this.reload()).catch((err: unknown) => {
          this.#logger.error({ error: String(err) }, 'config reload failed; still serving the last good config');
        });
      });
    }
  }

  /** Waits for a reload in progress (tests use it). */
  settled(): Promise<void> {
    return this.#reloading;
  }

  async reload(): Promise<void> {
    this.#apply(await this.#files.load());
  }

  #apply({ objects, problems: loadProblems, keptFiles }: FilesLoad): void {
    const problems = [...loadProblems, ...analyzeMesh(objects)];
    for (const p of problems) {
      if (p.severity === 'error') this.#logger.error(formatProblem(p));
      else if (p.severity === 'warning') this.#logger.warn(formatProblem(p));
      else this.#logger.info(formatProblem(p));
    }
    if (keptFiles.length > 0) this.#logger.warn(`keeping the last good version of ${keptFiles.join(', ')}`);
    this.#objects = objects;
    this.#problems = problems;
    this.#version++;
    this.#cache.clear();
    this.#logger.info({ version: this.#version, objects: this.#objects.length }, 'xDS server config loaded');
    for (const fn of this.#listeners) fn();
  }

  /** Calls `fn` after every reload; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The resources for one client, compiled against its identity (cached per version). */
  snapshotFor(identity: ClientIdentity): ServedSnapshot {
    const key = `${identity.namespace}|${JSON.stringify(Object.entries(identity.labels).sort())}|${identity.serviceAccount ?? ''}|${identity.locality ?? ''}|${identity.grpcOnly ? 'grpc' : ''}|${identity.generator ?? ''}`;
    let s = this.#cache.get(key);
    if (!s) {
      const compiled = compileMesh(this.#objects, identity);
      for (const p of compiled.problems) {
        if (p.severity === 'error') this.#logger.warn({ client: identity.namespace, problem: formatProblem(p) }, 'compile problem');
      }
      this.#postCompile?.(compiled.resources, identity);
      if (identity.generator === 'sidecar') {
        // An Envoy sidecar's form; it has no A36 inbound listeners (its inbound is virtualInbound).
        // The client's own policy (its Sidecar, the folder's MeshConfig), else the server's option.
        const o = compiled.outbound;
        const mode = o.origin === 'default' && this.#outbound ? this.#outbound : o.mode;
        s = encodeSnapshot(String(this.#version), toSidecarForm(compiled.resources, compiled.servicePorts, mode, mode === 'ALLOW_ANY' ? o.egressCluster : undefined));
        this.#cache.set(key, s);
        return s;
      }
      const objects = this.#objects;
      const inbound = new Map<string, ServedResource | undefined>();
      s = {
        ...encodeSnapshot(String(this.#version), compiled.resources),
        inbound: (name) => {
          if (!inbound.has(name)) {
            const l = compileInboundListener(name, objects, identity);
            inbound.set(name, l && encodeResource(LISTENER.typeUrl, name, l));
          }
          return inbound.get(name);
        },
      };
      this.#cache.set(key, s);
    }
    return s;
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#listeners.clear();
  }
}

export function encodeSnapshot(version: string, resources: XdsResources): ServedSnapshot {
  const byType = new Map<string, Map<string, ServedResource>>();
  for (const [typeUrl, key] of KINDS) {
    const out = new Map<string, ServedResource>();
    for (const [name, value] of resources[key] as Map<string, object>) out.set(name, encodeResource(typeUrl, name, value));
    byType.set(typeUrl, out);
  }
  return { version, byType };
}

function encodeResource(typeUrl: string, name: string, value: object): ServedResource {
  const { value: bytes } = encodeAny({ '@type': typeUrl, ...value });
  return { name, value, bytes, version: process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('base64url').slice(0, 16) };
}
