// Reading CRD files so a broken edit never takes config away: a file whose new version has
// errors keeps the objects its last good version had (a file that never loaded cleanly
// contributes what did load), and so does every file under a path that cannot be seen right
// now — a watched folder renamed away or remounted, a ConfigMap symlink between two versions —
// until it is back; a file deleted from a folder that is still there is a real deletion.
// Shared by the embedded config source and `meshlet xds`.

import { resolve, sep } from 'node:path';
import type { MeshObject } from '../istio/types.ts';
import { loadConfigFiles } from '../istio/load/load-files.ts';
import type { ConfigProblem } from '../config-error.ts';

export interface FilesLoad {
  objects: MeshObject[];
  problems: ConfigProblem[];
  /** Files whose last good version was kept: the new one has errors, or it cannot be seen. */
  keptFiles: string[];
}

export class LastGoodFiles {
  readonly paths: readonly string[];
  readonly #meshConfigFiles: ReadonlySet<string>;
  #lastGood = new Map<string, MeshObject[]>();

  /** `meshConfigFiles`: files read as MeshConfig whatever their names (absolute paths). */
  constructor(paths: readonly string[], meshConfigFiles: ReadonlySet<string> = new Set()) {
    this.paths = paths;
    this.#meshConfigFiles = meshConfigFiles;
  }

  async load(): Promise<FilesLoad> {
    const loaded = await loadConfigFiles([...this.paths], undefined, this.#meshConfigFiles);
    const byFile = new Map<string, MeshObject[]>();
    for (const obj of loaded.objects) {
      const list = byFile.get(obj.source.file);
      if (list) list.push(obj);
      else byFile.set(obj.source.file, [obj]);
    }
    const keptFiles: string[] = [];
    for (const file of new Set(loaded.problems.filter((p) => p.severity === 'error').map((p) => p.file))) {
      const previous = this.#lastGood.get(file);
      if (previous) {
        byFile.set(file, previous);
        keptFiles.push(file);
      }
    }
    const unavailable = loaded.unavailable.map((u) => resolve(u));
    for (const [file, previous] of this.#lastGood) {
      if (byFile.has(file)) continue;
      const full = resolve(file);
      if (unavailable.some((u) => full === u || full.startsWith(u + sep))) {
        byFile.set(file, previous);
        keptFiles.push(file);
      }
    }
    this.#lastGood = byFile;
    return { objects: [...byFile.values()].flat(), problems: loaded.problems, keptFiles };
  }
}
