// A MeshConfig file on its own (createMesh({ bootstrap, meshConfig: path })): in xDS mode the
// resources come from the control plane, but the settings a client applies itself (the server
// helpers' path normalization and trust domains, holdApplicationUntilProxyStarts) come from
// this file — in a pod, the istio ConfigMap's `mesh` key mounted at /etc/istio/config/mesh.
// Read and watched like the embedded mode's files: a broken edit keeps the last good settings.
// In Kubernetes-native mode (createMesh({ kubernetes, meshConfig: path })) the MeshConfig read
// is handed to the config source instead (`onLoad`), which compiles with it.

import { resolve } from 'node:path';
import type { Mesh } from '../mesh.ts';
import type { MeshConfigObject } from '../istio/types.ts';
import { meshConfigOrigin, meshSettings, selectMeshConfig } from '../istio/mesh-config.ts';
import { watchPaths } from './file-watch.ts';
import { LastGoodFiles } from './last-good-files.ts';
import { formatProblem, type ConfigProblem } from '../config-error.ts';

export class MeshConfigFile {
  readonly #mesh: Mesh;
  readonly #files: LastGoodFiles;
  #watcher: { close(): void } | undefined;
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #onLoad: ((obj: MeshConfigObject | undefined) => void) | undefined;

  constructor(mesh: Mesh, path: string, watch: boolean, onLoad?: (obj: MeshConfigObject | undefined) => void) {
    this.#mesh = mesh;
    this.#onLoad = onLoad;
    this.#files = new LastGoodFiles([path], new Set([resolve(path)]));
    if (watch) {
      this.#watcher = watchPaths([path], () => {
        this.#reloading = this.#reloading.then(() => this.load()).catch((err: unknown) => {
          mesh.logger.error({ error: String(err) }, 'mesh config reload failed; keeping the last good one');
        });
      });
      mesh.onClose(() => this.close());
    }
  }

  /** Reads the file and puts its MeshConfig in force; returns the problems found. */
  async load(): Promise<ConfigProblem[]> {
    const { objects, problems } = await this.#files.load();
    const { inForce } = selectMeshConfig(objects);
    for (const p of problems) {
      if (p.severity === 'error') this.#mesh.logger.error(formatProblem(p));
      else this.#mesh.logger.warn(formatProblem(p));
    }
    if (inForce || !problems.some((p) => p.severity === 'error')) {
      if (this.#onLoad) this.#onLoad(inForce);
      else this.#mesh.setMeshConfig(meshSettings(inForce?.spec, { rootNamespace: this.#mesh.baseIdentity.rootNamespace, ...(inForce && { origin: meshConfigOrigin(inForce) }) }));
    }
    return problems;
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
