// The embedded config source: Istio CRD files in, compiled xDS resources out, re-applied when
// the files change. A file whose new version has errors keeps its last good objects, so a
// broken edit never takes routes away; its problems are reported with file:line.

import { existsSync } from 'node:fs';
import type { Mesh } from '../mesh.ts';
import { compileMesh } from '../istio/compile/compile-mesh.ts';
import { compileTelemetryPolicy } from '../istio/compile/compile-telemetry.ts';
import type { Telemetry } from '../istio/types.ts';
import { watchPaths } from './file-watch.ts';
import { LastGoodFiles } from './last-good-files.ts';
import { formatProblem, type ConfigProblem } from './config-error.ts';
import { ConfigError } from '../errors.ts';

export interface FileSourceOptions {
  paths: string[];
  watch: boolean;
}

export class FileConfigSource {
  readonly #mesh: Mesh;
  readonly #paths: string[];
  readonly #files: LastGoodFiles;
  #watcher: { close(): void } | undefined;
  #reloading: Promise<void> = Promise.resolve();

  constructor(mesh: Mesh, opts: FileSourceOptions) {
    this.#mesh = mesh;
    this.#paths = opts.paths;
    this.#files = new LastGoodFiles(opts.paths);
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
    const { objects, problems: loadProblems, keptFiles } = await this.#files.load();
    const compiled = compileMesh(objects, this.#mesh.identity);
    const problems = [...loadProblems, ...compiled.problems];
    for (const p of problems) {
      const line = formatProblem(p);
      if (p.severity === 'error') this.#mesh.logger.error(line);
      else this.#mesh.logger.warn(line);
    }
    if (keptFiles.length > 0) this.#mesh.logger.warn(`keeping the last good version of ${keptFiles.join(', ')}`);
    this.#mesh.policies.update(objects);
    const id = this.#mesh.identity;
    this.#mesh.telemetry?.setPolicy(compileTelemetryPolicy(objects.filter((o): o is Telemetry => o.kind === 'Telemetry'), { namespace: id.namespace, labels: id.labels, rootNamespace: id.rootNamespace }));
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
