// The embedded config source: Istio CRD files in, compiled xDS resources out, re-applied when
// the files change. A file whose new version has errors keeps its last good objects, so a
// broken edit never takes routes away; its problems are reported with file:line. The first load
// has no last good version to fall back on, so any error there fails it (ConfigError, every
// error listed) unless the caller chose to start without the invalid objects.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Mesh } from '../mesh.ts';
import type { MeshConfigObject, MeshObject } from '../istio/types.ts';
import { applyObjects } from './apply-objects.ts';
import { watchPaths } from './file-watch.ts';
import { LastGoodFiles } from './last-good-files.ts';
import { formatProblem, type ConfigProblem } from '../config-error.ts';
import { ConfigError } from '../errors.ts';

export interface FileSourceOptions {
  paths: string[];
  watch: boolean;
  /**
   * createMesh({ meshConfig }): a MeshConfig file (read with the others, watched, whatever its
   * name) or an object already validated. Either is in force over MeshConfig documents found in
   * `paths`.
   */
  meshConfig?: { path: string } | { object: MeshConfigObject } | undefined;
  /** First load: leave invalid objects (and unreadable files) out instead of failing. */
  skipInvalidObjects?: boolean;
}

export class FileConfigSource {
  readonly #mesh: Mesh;
  readonly #paths: string[];
  readonly #files: LastGoodFiles;
  readonly #meshConfig: FileSourceOptions['meshConfig'];
  #watcher: { close(): void } | undefined;
  #reloading: Promise<void> = Promise.resolve();
  readonly #skipInvalidObjects: boolean;
  #applied = false;

  constructor(mesh: Mesh, opts: FileSourceOptions) {
    this.#mesh = mesh;
    const meshConfigPath = opts.meshConfig && 'path' in opts.meshConfig ? resolve(opts.meshConfig.path) : undefined;
    this.#paths = meshConfigPath === undefined || opts.paths.some((p) => resolve(p) === meshConfigPath) ? opts.paths : [...opts.paths, meshConfigPath];
    this.#meshConfig = opts.meshConfig;
    this.#files = new LastGoodFiles(this.#paths, new Set(meshConfigPath === undefined ? [] : [meshConfigPath]));
    this.#skipInvalidObjects = opts.skipInvalidObjects ?? false;
    for (const p of this.#paths) {
      if (!existsSync(p)) throw new ConfigError(`config path ${p} does not exist: point createMesh({ config }) or MESHLET_CONFIG at a folder or file of Istio YAML`);
    }
    if (opts.watch) {
      this.#watcher = watchPaths(this.#paths, () => {
        this.#reloading = this.#reloading.then(async () => { await this.load(); }).catch((err: unknown) => {
          this.#mesh.logger.error({ error: String(err) }, 'config reload failed; keeping the last good config');
        });
      });
      mesh.onClose(() => this.close());
    }
  }

  /**
   * Loads, compiles and applies the files. Returns the problems found (errors and warnings).
   * The first load rejects with a ConfigError when a file has errors, unless skipInvalidObjects.
   */
  async load(): Promise<ConfigProblem[]> {
    const { objects, problems: loadProblems, keptFiles } = await this.#files.load();
    if (!this.#applied && !this.#skipInvalidObjects) {
      const errors = loadProblems.filter((p) => p.severity === 'error');
      if (errors.length > 0) {
        throw new ConfigError(
          `${errors.length === 1 ? 'an error' : `${errors.length} errors`} in ${this.#paths.join(', ')}; nothing was applied (fix ${errors.length === 1 ? 'it' : 'them'}, or start without the invalid objects: createMesh({ skipInvalidObjects: true }), --skip-invalid-objects on the command line):`,
          errors,
        );
      }
    }
    const problems = [...loadProblems, ...applyObjects(this.#mesh, objects, `files:${this.#paths.join(',')}`, loadProblems, { meshConfig: this.#preferredMeshConfig(objects) })];
    for (const p of problems) {
      const line = formatProblem(p);
      if (p.severity === 'error') this.#mesh.logger.error(line);
      else if (p.severity === 'warning') this.#mesh.logger.warn(line);
      else this.#mesh.logger.info(line);
    }
    if (keptFiles.length > 0) this.#mesh.logger.warn(`keeping the last good version of ${keptFiles.join(', ')}`);
    this.#applied = true;
    return problems;
  }

  /** createMesh({ meshConfig }): the object given, or the MeshConfig read from the file it names. */
  #preferredMeshConfig(objects: readonly MeshObject[]): MeshConfigObject | undefined {
    const mc = this.#meshConfig;
    if (!mc) return undefined;
    if ('object' in mc) return mc.object;
    const file = resolve(mc.path);
    return objects.find((o): o is MeshConfigObject => o.kind === 'MeshConfig' && resolve(o.source.file) === file);
  }

  /** Waits for a reload in progress (tests and tools use it). */
  settled(): Promise<void> {
    return this.#reloading;
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
