// Reads Istio CRDs and the Kubernetes registry's objects from YAML (or JSON) text: multi-document
// streams, `kind: List` wrappers, the handled kinds validated (../validate/validate-object.ts,
// ../../kube/kube-read.ts), everything else skipped with a warning — workload controllers with
// one note per kind, however many a cluster dump holds. A bad document never stops the others: a
// YAML syntax error, a document that is not an object or an invalid object each become problems,
// and loading carries on with the next document.

import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { fieldPath, type ConfigProblem } from '../../config/config-error.ts';
import { classifyKind } from './load-kinds.ts';
import { applyKubernetesScalarRules, toJsonValue } from './load-yaml-compat.ts';
import { createSourceRef } from './load-source-ref.ts';
import type { IstioConfigObject, MeshObject, ObjectMeta, SourceRef } from '../types.ts';
import { validateMeshObject } from '../validate/validate-object.ts';
import { isKubeKind, KUBE_KINDS } from '../../kube/kube-kinds.ts';
import { readKubeObject } from '../../kube/kube-read.ts';

export interface LoadResult {
  /** Objects that passed validation (warnings allowed), in document order. */
  objects: MeshObject[];
  /** Every error and warning found, in document order (duplicate-object errors last). */
  problems: ConfigProblem[];
}

const TOP_LEVEL_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const DEFAULT_NAMESPACE = 'default';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
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

/** Objects of kinds Meshlet deliberately skips, collected so each kind is reported once. */
export type SkippedKinds = Map<string, { problem: ConfigProblem; apiVersion: string; reason: string; names: string[] }>;

interface DocContext {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  out: LoadResult;
  skipped: SkippedKinds;
}

/**
 * Parses one file's text. `file` is only used to name locations in problems. Never throws for
 * bad input; YAML is read as YAML 1.2 with `<<` merge keys enabled, as kubectl accepts them.
 */
export function parseConfigText(text: string, file: string): LoadResult {
  const out: LoadResult = { objects: [], problems: [] };
  const skipped: SkippedKinds = new Map();
  parseConfigTextInto(text, file, out, skipped);
  reportSkippedKinds(out, skipped);
  dropDuplicates(out);
  return out;
}

/** parseConfigText for one of several files: skipped kinds are reported by the caller, once. */
export function parseConfigTextInto(text: string, file: string, out: LoadResult, skipped: SkippedKinds): void {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  for (const doc of docs) {
    const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
    const firstError = doc.errors[0];
    if (firstError) {
      const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more error(s) in this document)` : '';
      out.problems.push(bareProblem('error', file, lineAt(firstError.pos[0]), `YAML syntax error: ${firstError.message}${more}`));
      continue;
    }
    for (const w of doc.warnings) out.problems.push(bareProblem('warning', file, lineAt(w.pos[0]), `YAML: ${w.message}`));
    const root = doc.contents;
    // An empty document (a trailing `---`, or only comments) is allowed and holds nothing.
    if (root === null || (isScalar(root) && root.value === null)) continue;
    applyKubernetesScalarRules(doc, text);
    let data: unknown;
    try {
      data = toJsonValue(doc.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      out.problems.push(bareProblem('error', file, lineAt(root.range?.[0] ?? 0), `cannot read document: ${(e as Error).message}`));
      continue;
    }
    readValue(data, root, { file, doc, lineCounter, out, skipped });
  }
}

/** One warning per skipped kind, at its first object, counting and naming the rest. */
export function reportSkippedKinds(out: LoadResult, skipped: SkippedKinds): void {
  for (const [kind, s] of skipped) {
    const shown = s.names.slice(0, 5).join(', ');
    const more = s.names.length > 5 ? `, and ${s.names.length - 5} more` : '';
    const count = s.names.length === 1 ? `1 ${kind}` : `${s.names.length} ${kind}s`;
    out.problems.push({ ...s.problem, message: `kind ${kind} (${s.apiVersion}): ${s.reason}; skipped ${count} (${shown}${more})` });
  }
  skipped.clear();
}

function bareProblem(severity: ConfigProblem['severity'], file: string, line: number, message: string): ConfigProblem {
  return { severity, file, line, kind: '', namespace: '', name: '', field: '', message };
}

function readValue(data: unknown, node: Node, ctx: DocContext): void {
  const source = createSourceRef(ctx.file, node, ctx.lineCounter, ctx.doc);
  if (!isPlainObject(data)) {
    ctx.out.problems.push(bareProblem('error', ctx.file, source.line, `document is ${describe(data)}, not a Kubernetes object (apiVersion, kind, metadata, spec)`));
    return;
  }
  const kind = data.kind;
  // `kubectl get -o yaml` wraps several objects in a List (or <Kind>List) with `items`.
  if (typeof kind === 'string' && (kind === 'List' || (kind.endsWith('List') && 'items' in data))) {
    readList(data, node, source, ctx);
    return;
  }
  readObject(data, source, ctx);
}

function readList(data: Record<string, unknown>, node: Node, source: SourceRef, ctx: DocContext): void {
  const items = data.items;
  if (items === undefined || items === null) return;
  if (!Array.isArray(items)) {
    ctx.out.problems.push(bareProblem('error', ctx.file, source.lineOf(['items']), `${String(data.kind)}.items must be a list, not ${describe(items)}`));
    return;
  }
  const itemsNode = isMap(node) ? node.get('items', true) : undefined;
  items.forEach((item, i) => {
    const itemNode = isSeq(itemsNode) ? itemsNode.items[i] : undefined;
    readValue(item, itemNode && typeof itemNode === 'object' ? (itemNode as Node) : node, ctx);
  });
}

function readObject(data: Record<string, unknown>, source: SourceRef, ctx: DocContext): void {
  const { out, file } = ctx;
  const meta = isPlainObject(data.metadata) ? data.metadata : undefined;
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const namespace = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : DEFAULT_NAMESPACE;
  const kindText = typeof data.kind === 'string' ? data.kind : '';
  const problem = (severity: ConfigProblem['severity'], path: (string | number)[], message: string): void => {
    out.problems.push({ severity, file, line: source.lineOf(path), kind: kindText, namespace, name, field: fieldPath(path), message });
  };

  if (typeof data.apiVersion !== 'string' || data.apiVersion === '') {
    problem('error', ['apiVersion'], 'apiVersion is required (e.g. networking.istio.io/v1)');
    return;
  }
  if (kindText === '') {
    problem('error', ['kind'], 'kind is required (e.g. VirtualService)');
    return;
  }
  const verdict = classifyKind(data.apiVersion, kindText);
  if (!verdict.handled) {
    if (verdict.known) problem('error', ['apiVersion'], verdict.message);
    else if (verdict.reason) noteSkipped(ctx, kindText, data.apiVersion, verdict.reason, source.line, meta);
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
    out.problems.push(...read.problems);
    if (read.object) out.objects.push(read.object);
    return;
  }
  for (const key of Object.keys(data)) {
    if (!TOP_LEVEL_FIELDS.has(key)) problem('warning', [key], `unknown top-level field "${key}"; ignored`);
  }
  const obj = { apiVersion: data.apiVersion, kind: verdict.kind, metadata, spec: data.spec ?? undefined, source } as IstioConfigObject;
  const problems = validateMeshObject(obj);
  out.problems.push(...problems);
  if (!problems.some((p) => p.severity === 'error')) out.objects.push(obj);
}

function noteSkipped(ctx: DocContext, kind: string, apiVersion: string, reason: string, line: number, meta: Record<string, unknown> | undefined): void {
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const namespace = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : DEFAULT_NAMESPACE;
  const seen = ctx.skipped.get(kind);
  if (seen) {
    seen.names.push(`${namespace}/${name}`);
    return;
  }
  const problem: ConfigProblem = { severity: 'warning', file: ctx.file, line, kind: '', namespace: '', name: '', field: '', message: '' };
  ctx.skipped.set(kind, { problem, apiVersion, reason, names: [`${namespace}/${name}`] });
}

/**
 * Kubernetes keeps one object per kind, namespace and name; two in the same config would
 * silently replace each other, so the later one is an error and the first stays.
 */
export function dropDuplicates(result: LoadResult): void {
  const first = new Map<string, MeshObject>();
  const kept: MeshObject[] = [];
  for (const obj of result.objects) {
    const key = `${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    const earlier = first.get(key);
    if (earlier) {
      result.problems.push({
        severity: 'error',
        file: obj.source.file,
        line: obj.source.line,
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
        field: '',
        message: `duplicate ${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}: already defined at ${earlier.source.file}:${earlier.source.line}; this one is ignored`,
      });
      continue;
    }
    first.set(key, obj);
    kept.push(obj);
  }
  result.objects = kept;
}
