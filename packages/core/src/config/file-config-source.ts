// The embedded config source: Istio CRD files in, compiled xDS resources out, re-applied when
// the files change. A file whose new version has errors keeps its last good objects, so a
// broken edit never takes routes away; its problems are reported with file:line.

import { existsSync } from 'node:fs';
import type { Mesh } from '../mesh.ts';
import type { MeshObject } from '../istio/types.ts';
import { loadConfigFiles } from '../istio/load-files.ts';
import { compileMesh } from '../istio/compile-mesh.ts';
import { watchPaths } from './file-watch.ts';
import { formatProblem, type ConfigProblem } from './config-error.ts';
import { ConfigError } from '../errors.ts';

export interface FileSourceOptions {
  paths: string[];
  watch: boolean;
}

export class FileConfigSource {
  readonly #mesh: Mesh;
  readonly #paths: string[];
  /** The objects last applied, by file. */
  #lastGood = new Map<string, MeshObject[]>();
  #watcher: { close(): void } | undefined;
  #reloading: Promise<void> = Promise.resolve();

  constructor(mesh: Mesh, opts: FileSourceOptions) {
    this.#mesh = mesh;
    this.#paths = opts.paths;
    for (const p of opts.paths) {
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

  /** Loads, compiles and applies the files. Returns the problems found (errors and warnings). */
  async load(): Promise<ConfigProblem[]> {
    const loaded = await loadConfigFiles(this.#paths);
    const byFile = new Map<string, MeshObject[]>();
    for (const obj of loaded.objects) {
      const list = byFile.get(obj.source.file) ?? [];
      list.push(obj);
      byFile.set(obj.source.file, list);
    }
    const brokenFiles = new Set(loaded.problems.filter((p) => p.severity === 'error').map((p) => p.file));
    for (const file of brokenFiles) {
      const previous = this.#lastGood.get(file);
      if (previous) byFile.set(file, previous);
    }
    const objects = [...byFile.values()].flat();
    const compiled = compileMesh(objects, this.#mesh.identity);
    const problems = [...loaded.problems, ...compiled.problems];
    for (const p of problems) {
      const line = formatProblem(p);
      if (p.severity === 'error') this.#mesh.logger.error(line);
      else this.#mesh.logger.warn(line);
    }
    if (brokenFiles.size > 0) {
      this.#mesh.logger.warn(`keeping the last good version of ${[...brokenFiles].join(', ')}`);
    }
    this.#lastGood = byFile;
    this.#mesh.policies.update(objects);
    this.#mesh.applyResources(compiled.resources, `files:${this.#paths.join(',')}`, problems.map(formatProblem));
    return problems;
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
