// Where a MeshConfig comes from in a config folder, recognised without guessing:
//  - the `istio` ConfigMap as kubectl prints it (also `istio-<revision>`, as istiod names a
//    revision's), whose `data.mesh` key holds the MeshConfig YAML; any other ConfigMap is not
//    Meshlet's and is skipped like other kinds;
//  - a document with neither apiVersion nor kind in a file named `mesh` (the key as a mounted
//    ConfigMap volume shows it: /etc/istio/config/mesh), mesh.yaml, mesh.yml, meshconfig.yaml or
//    meshconfig.yml — or in the file createMesh({ meshConfig }) names, whatever its name.
// Either becomes a MeshConfigObject whose SourceRef points inside the embedded YAML, so a
// problem names the line of the field in the file, not the line of the `mesh:` key.

import { basename } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { ConfigProblem } from '../../config-error.ts';
import type { MeshConfigObject, MeshConfigSpec, SourceRef } from '../types.ts';
import { toJsonValue } from './load-yaml-compat.ts';
import { createSourceRef } from './load-source-ref.ts';
import { validateMeshObject } from '../validate/validate-object.ts';

const MESH_CONFIG_FILE_NAMES = new Set(['mesh', 'mesh.yaml', 'mesh.yml', 'meshconfig.yaml', 'meshconfig.yml']);

/** Is `file` named as a bare MeshConfig document is (mesh, mesh.yaml, meshconfig.yaml, ...)? */
export function isMeshConfigFileName(file: string): boolean {
  return MESH_CONFIG_FILE_NAMES.has(basename(file).toLowerCase());
}

/** The ConfigMap istiod reads: `istio` or `istio-<revision>`; its `data.mesh` is the MeshConfig. */
export function isIstioConfigMap(apiVersion: unknown, kind: unknown, name: string): boolean {
  return apiVersion === 'v1' && kind === 'ConfigMap' && (name === 'istio' || name.startsWith('istio-'));
}

/** What a bare MeshConfig document is named as in problems: the ConfigMap it stands for. */
export const BARE_MESH_CONFIG_META = { name: 'istio', namespace: 'istio-system' } as const;

type Problem = (severity: ConfigProblem['severity'], line: number, message: string) => void;

/** A bare MeshConfig document (the whole document is the MeshConfig). */
export function bareMeshConfig(data: unknown, source: SourceRef, problem: Problem): MeshConfigObject | undefined {
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    problem('error', source.line, `a MeshConfig document must be a map of MeshConfig fields, not ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`);
    return undefined;
  }
  return { apiVersion: 'v1', kind: 'MeshConfig', metadata: { ...BARE_MESH_CONFIG_META }, spec: data as MeshConfigSpec, source };
}

/**
 * The MeshConfig in an istio ConfigMap's `data.mesh`, parsed with line numbers that point into
 * the file: `meshTextIsBlock` says the text starts on the line after the key (a block scalar,
 * `mesh: |`), else on the key's own line. Undefined (with a problem) when `mesh` is absent, not
 * text, or not YAML. An object from the Kubernetes API has no file, so no lines to point at.
 */
export function configMapMeshConfig(
  data: Record<string, unknown>,
  meta: { name: string; namespace: string },
  outer: { source: SourceRef; meshTextIsBlock: boolean },
  problem: Problem,
): MeshConfigObject | undefined {
  const d = data['data'];
  const text = d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>)['mesh'] : undefined;
  const keyLine = outer.source.lineOf(['data', 'mesh']);
  if (text === undefined) {
    problem('warning', outer.source.line, `ConfigMap ${meta.namespace}/${meta.name} has no data.mesh key; no MeshConfig read from it`);
    return undefined;
  }
  if (typeof text !== 'string') {
    problem('error', keyLine, 'data.mesh must be the MeshConfig YAML as text (a block scalar, `mesh: |`)');
    return undefined;
  }
  const offset = outer.meshTextIsBlock ? keyLine : keyLine - 1;
  const lineCounter = new LineCounter();
  const inner = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const lineAt = (pos: number): number => offset + lineCounter.linePos(pos).line;
  const err = inner.errors[0];
  if (err) {
    problem('error', lineAt(err.pos[0]), `data.mesh: YAML syntax error: ${err.message}`);
    return undefined;
  }
  let spec: unknown;
  try {
    spec = toJsonValue(inner.toJS({ maxAliasCount: 100 }));
  } catch (e) {
    problem('error', keyLine, `data.mesh: cannot read: ${(e as Error).message}`);
    return undefined;
  }
  const innerRoot = inner.contents;
  const innerSource = innerRoot ? createSourceRef(outer.source.file, innerRoot, lineCounter, inner) : undefined;
  const source: SourceRef = {
    file: outer.source.file,
    line: outer.source.line,
    lineOf: (path) => (innerSource && path.length > 0 ? offset + innerSource.lineOf(path) : keyLine),
  };
  if (outer.source.resourceVersion !== undefined) source.resourceVersion = outer.source.resourceVersion;
  if (spec === null || spec === undefined) spec = {};
  if (typeof spec !== 'object' || Array.isArray(spec)) {
    problem('error', keyLine, 'data.mesh must hold a map of MeshConfig fields');
    return undefined;
  }
  return { apiVersion: 'v1', kind: 'MeshConfig', metadata: { name: meta.name, namespace: meta.namespace }, spec: spec as MeshConfigSpec, source };
}

/** Names a MeshConfig given to createMesh as an object, where a file would be named. */
export const MESH_CONFIG_OPTION = 'createMesh({ meshConfig })';

/**
 * A MeshConfig given as an object (createMesh({ meshConfig: {...} })), validated like a document:
 * the object to use, or undefined, and every problem found.
 */
export function optionMeshConfig(spec: MeshConfigSpec): { object: MeshConfigObject | undefined; problems: ConfigProblem[] } {
  const source: SourceRef = { file: MESH_CONFIG_OPTION, line: 0, lineOf: () => 0 };
  // Validation normalizes in place; the caller's object stays as it was.
  const object: MeshConfigObject = { apiVersion: 'v1', kind: 'MeshConfig', metadata: { ...BARE_MESH_CONFIG_META }, spec: structuredClone(spec), source };
  const problems = validateMeshObject(object);
  return { object: problems.some((p) => p.severity === 'error') ? undefined : object, problems };
}
