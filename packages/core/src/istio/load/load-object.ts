// One object, as a JSON value, to a validated MeshObject: an Istio CRD or a Kubernetes registry
// object. Shared by the file loader (./load-yaml.ts, which parses YAML documents into values)
// and the Kubernetes API source (./load-api-object.ts, which receives values): both report
// problems through the object's SourceRef, so a file names file:line and an API object its
// resourceVersion.

import { fieldPath, locate, type ConfigProblem } from '../../config-error.ts';
import { classifyKind } from './load-kinds.ts';
import type { IstioConfigObject, MeshObject, ObjectMeta, SourceRef } from '../types.ts';
import { validateMeshObject } from '../validate/validate-object.ts';
import { isKubeKind, KUBE_KINDS } from '../../kube/kube-kinds.ts';
import { readKubeObject } from '../../kube/kube-read.ts';
import { checkShape } from '../validate/validate-schema.ts';
import { objectMetaSchema } from '../validate/validate-schema-object-meta.ts';
import { unknownFieldMessage } from '../validate/validate-field-name.ts';
import { configMapMeshConfig, isIstioConfigMap } from './load-mesh-config.ts';
import { MESH_CONFIG_FIELDS } from '../validate/validate-mesh-config.ts';

/** Objects of kinds Meshlet deliberately skips, collected so each kind is reported once. */
/** What loading a file (or an API object) gives: the valid objects, and every problem found. */
export interface LoadResult {
  /** Objects that passed validation (warnings allowed), in document order. */
  objects: MeshObject[];
  /** Every error and warning found, in document order (duplicate-object errors last). */
  problems: ConfigProblem[];
}

export type SkippedKinds = Map<string, { problem: ConfigProblem; apiVersion: string; reason: string; names: string[] }>;

const ISTIO_TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const DEFAULT_NAMESPACE = 'default';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/** A string map as Kubernetes metadata holds them (labels, annotations); undefined if malformed. */
function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isPlainObject(v)) return undefined;
  return Object.values(v).every((x) => typeof x === 'string') ? (v as Record<string, string>) : undefined;
}

/**
 * Reads one object (apiVersion, kind, metadata, and spec or a Kubernetes kind's own fields)
 * from its JSON value: checks the envelope, skips kinds Meshlet does not read (workload kinds
 * into `skipped`, to be reported once per kind; others with a warning), validates the rest
 * strictly (an unknown field is an error, as kubectl's). Valid objects go to `out.objects`;
 * every problem, located through `source`, to `out.problems`.
 */
export function readObject(data: Record<string, unknown>, source: SourceRef, out: LoadResult, skipped?: SkippedKinds, opts: { meshTextIsBlock?: boolean } = {}): void {
  const meta = isPlainObject(data.metadata) ? data.metadata : undefined;
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const namespace = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : DEFAULT_NAMESPACE;
  const kindText = typeof data.kind === 'string' ? data.kind : '';
  let errors = 0;
  const problem = (severity: ConfigProblem['severity'], path: readonly (string | number)[], message: string): void => {
    if (severity === 'error') errors++;
    out.problems.push({ severity, ...locate(source, path), kind: kindText, namespace, name, field: fieldPath(path), message });
  };

  if (typeof data.apiVersion !== 'string' || data.apiVersion === '') {
    const meshConfigLike = data.kind === undefined && Object.keys(data).some((k) => MESH_CONFIG_FIELDS.has(k));
    problem('error', ['apiVersion'], meshConfigLike
      ? 'apiVersion is required; if this document is a MeshConfig, put it in a file named mesh.yaml (or meshconfig.yaml), or pass it as createMesh({ meshConfig })'
      : 'apiVersion is required (e.g. networking.istio.io/v1)');
    return;
  }
  if (kindText === '') {
    problem('error', ['kind'], 'kind is required (e.g. VirtualService)');
    return;
  }
  // istiod's own ConfigMap (istio, istio-<revision>): its data.mesh is the MeshConfig
  // (./load-mesh-config.ts). Other ConfigMaps are not Meshlet's and are skipped below.
  if (isIstioConfigMap(data.apiVersion, kindText, name) && meta) {
    const obj = configMapMeshConfig(data, { name, namespace }, { source, meshTextIsBlock: opts.meshTextIsBlock ?? false }, (severity, line, message) => {
      out.problems.push({ severity, ...locate(source, []), line, kind: 'MeshConfig', namespace, name, field: '', message });
    });
    if (obj) addValidated(obj, out);
    return;
  }
  const verdict = classifyKind(data.apiVersion, kindText);
  if (!verdict.handled) {
    if (verdict.known) problem('error', ['apiVersion'], verdict.message);
    else if (verdict.reason && skipped) noteSkipped(skipped, kindText, data.apiVersion, verdict.reason, source, meta);
    else if (verdict.reason) problem('warning', [], `kind ${kindText} (${data.apiVersion}): ${verdict.reason}; skipped`);
    else problem('warning', [], `kind ${kindText} (${data.apiVersion}) is not handled by Meshlet; skipped`);
    return;
  }
  if (!meta) {
    problem('error', ['metadata'], `metadata is required, with at least a name (got ${describe(data.metadata)})`);
    return;
  }
  if (name === '') {
    problem('error', ['metadata', 'name'], 'metadata.name is required');
    return;
  }
  const metaErrors: string[] = [];
  if (meta.namespace !== undefined && meta.namespace !== null && typeof meta.namespace !== 'string') metaErrors.push('namespace');
  const labels = meta.labels === undefined || meta.labels === null ? undefined : stringMap(meta.labels);
  if (meta.labels !== undefined && meta.labels !== null && !labels) metaErrors.push('labels');
  const annotations = meta.annotations === undefined || meta.annotations === null ? undefined : stringMap(meta.annotations);
  if (meta.annotations !== undefined && meta.annotations !== null && !annotations) metaErrors.push('annotations');
  const created = meta.creationTimestamp;
  if (created !== undefined && created !== null && typeof created !== 'string') metaErrors.push('creationTimestamp');
  for (const field of metaErrors) {
    const hint = field === 'labels' || field === 'annotations' ? ' (a map of strings; quote numbers and booleans)' : ' (a string)';
    problem('error', ['metadata', field], `metadata.${field} has the wrong type${hint}`);
  }
  if (metaErrors.length) return;

  // Strict field validation, as kubectl: an unknown field anywhere is an error naming the
  // nearest known one. The spec is checked against its kind's schema by validateMeshObject, a
  // Kubernetes object's body by readKubeObject.
  checkShape(meta, objectMetaSchema, ['metadata'], { error: (p, m) => problem('error', p, m), warn: (p, m) => problem('warning', p, m) });

  // Node and Namespace have no namespace, whatever the document says.
  const scoped = isKubeKind(verdict.kind) && !KUBE_KINDS[verdict.kind].namespaced ? '' : namespace;
  const metadata: ObjectMeta = { name, namespace: scoped };
  if (labels) metadata.labels = labels;
  if (annotations) metadata.annotations = annotations;
  if (typeof created === 'string') metadata.creationTimestamp = created;
  if (isKubeKind(verdict.kind)) {
    // A Kubernetes object's fields sit at the top level (an EndpointSlice has no spec): its
    // schema checks them all.
    const read = readKubeObject(data, { apiVersion: data.apiVersion, kind: verdict.kind, metadata, source });
    for (const p of read.problems) out.problems.push(p);
    if (read.object && errors === 0) out.objects.push(read.object);
    return;
  }
  for (const key of Object.keys(data)) {
    if (!ISTIO_TOP_LEVEL.includes(key)) problem('error', [key], unknownFieldMessage(key, ISTIO_TOP_LEVEL));
  }
  const obj = { apiVersion: data.apiVersion, kind: verdict.kind, metadata, spec: data.spec ?? undefined, source } as IstioConfigObject;
  addValidated(obj, out, errors);
}

/** Validates an Istio object; it joins `out.objects` when neither it nor its envelope had errors. */
export function addValidated(obj: IstioConfigObject, out: LoadResult, earlierErrors = 0): void {
  const problems = validateMeshObject(obj);
  for (const p of problems) out.problems.push(p);
  if (earlierErrors === 0 && !problems.some((p) => p.severity === 'error')) out.objects.push(obj);
}

function noteSkipped(skipped: SkippedKinds, kind: string, apiVersion: string, reason: string, source: SourceRef, meta: Record<string, unknown> | undefined): void {
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const namespace = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : DEFAULT_NAMESPACE;
  const seen = skipped.get(kind);
  if (seen) {
    seen.names.push(`${namespace}/${name}`);
    return;
  }
  const problem: ConfigProblem = { severity: 'warning', ...locate(source, []), kind: '', namespace: '', name: '', field: '', message: '' };
  skipped.set(kind, { problem, apiVersion, reason, names: [`${namespace}/${name}`] });
}

