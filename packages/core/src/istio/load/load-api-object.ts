// One object received from the Kubernetes API (a list item or a watch event), to a validated
// MeshObject. The value is already JSON, so there is no text to point into: problems name the
// object (kind, namespace/name) and its resourceVersion instead of file:line.

import type { SourceRef } from '../types.ts';
import { describe, isPlainObject, readObject } from './load-object.ts';
import type { LoadResult } from './load-object.ts';

/** The SourceRef of an API object: no file or line, its resourceVersion instead. */
export function apiSourceRef(resourceVersion: string | undefined): SourceRef {
  const ref: SourceRef = { file: '', line: 0, lineOf: () => 0 };
  if (resourceVersion !== undefined) ref.resourceVersion = resourceVersion;
  return ref;
}

/** Validates one API object. Never throws for bad input. */
export function loadApiObject(value: unknown): LoadResult {
  const out: LoadResult = { objects: [], problems: [] };
  if (!isPlainObject(value)) {
    out.problems.push({ severity: 'error', file: '', line: 0, kind: '', namespace: '', name: '', field: '', message: `the API sent ${describe(value)}, not an object` });
    return out;
  }
  const meta = isPlainObject(value.metadata) ? value.metadata : undefined;
  const rv = typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined;
  readObject(value, apiSourceRef(rv), out);
  return out;
}
