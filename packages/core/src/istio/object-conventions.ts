// Istio's conventions over config objects that the analyzers, the compiler and the security
// policies apply the same way: which of two competing objects wins, how an object is named in
// messages, and label selection.

import type { MeshObject } from './types.ts';

/**
 * Istio's tie-break for configs that compete (configCompareByCreationTime): oldest first, then
 * name, then namespace. A missing timestamp sorts first, as Go's zero time does.
 */
export function compareByCreation(a: MeshObject, b: MeshObject): number {
  const ta = creationMillis(a);
  const tb = creationMillis(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  if (a.metadata.namespace !== b.metadata.namespace) return a.metadata.namespace < b.metadata.namespace ? -1 : 1;
  return 0;
}

function creationMillis(o: MeshObject): number {
  const t = o.metadata.creationTimestamp;
  if (!t) return Number.NEGATIVE_INFINITY;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/** `ns/name`, the way problems and Meshlet metadata name an object. */
export function objectKey(obj: MeshObject): string {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}

/** Every key/value of `selector` is in `labels` (labels.Instance.SubsetOf). */
export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) {
    if (labels?.[k] !== v) return false;
  }
  return true;
}
