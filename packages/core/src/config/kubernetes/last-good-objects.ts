// The API objects in force, each its last good version: an object whose new version does not
// validate keeps the previous one (and the problems of the rejected version are kept to report),
// exactly as a file with a broken edit keeps its last good objects. A deletion removes both.

import type { ConfigProblem } from '../../config-error.ts';
import { loadApiObject } from '../../istio/load/load-api-object.ts';
import type { MeshObject } from '../../istio/types.ts';
import type { KubeObject } from './kube-connection.ts';

export interface UpsertResult {
  /** The object in force changed (a new valid version, or a new object). */
  changed: boolean;
  /** A rejected version left an earlier good one in force (false: the object is simply absent). */
  kept: boolean;
  /** The problems of this version (errors mean it was rejected). */
  problems: ConfigProblem[];
}

export class LastGoodObjects {
  readonly #good = new Map<string, MeshObject>();
  readonly #problems = new Map<string, ConfigProblem[]>();
  #list: MeshObject[] | undefined;

  upsert(raw: KubeObject): UpsertResult {
    const key = keyOf(raw);
    const { objects, problems } = loadApiObject(raw);
    if (problems.length > 0) this.#problems.set(key, problems);
    else this.#problems.delete(key);
    const obj = objects[0];
    if (!obj) return { changed: false, kept: this.#good.has(key), problems };
    this.#good.set(key, obj);
    this.#list = undefined;
    return { changed: true, kept: false, problems };
  }

  /** Returns true when an object in force was removed. */
  remove(raw: KubeObject): boolean {
    const key = keyOf(raw);
    this.#problems.delete(key);
    const had = this.#good.delete(key);
    if (had) this.#list = undefined;
    return had;
  }

  /** Every object in force, in a stable order (kind, namespace, name). */
  objects(): MeshObject[] {
    this.#list ??= [...this.#good.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
    return this.#list;
  }

  /** Problems of the versions last received, errors first (a rejected version keeps its predecessor). */
  problems(): ConfigProblem[] {
    const all = [...this.#problems.values()].flat();
    return [...all.filter((p) => p.severity === 'error'), ...all.filter((p) => p.severity !== 'error')];
  }

  get size(): number {
    return this.#good.size;
  }
}

function keyOf(raw: KubeObject): string {
  return `${raw.kind ?? ''}/${raw.metadata.namespace ?? ''}/${raw.metadata.name ?? ''}`;
}
