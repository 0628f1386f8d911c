// Reads Istio CRDs and the Kubernetes registry's objects from YAML (or JSON) text: multi-document
// streams, `kind: List` wrappers, the handled kinds validated (../validate/validate-object.ts,
// ../../kube/kube-read.ts), everything else skipped with a warning — workload controllers with
// one note per kind, however many a cluster dump holds. A bad document never stops the others: a
// YAML syntax error, a document that is not an object or an invalid object each become problems,
// and loading carries on with the next document.

import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { ConfigProblem } from '../../config/config-error.ts';
import { applyKubernetesScalarRules, toJsonValue } from './load-yaml-compat.ts';
import { createSourceRef } from './load-source-ref.ts';
import type { MeshObject, SourceRef } from '../types.ts';
import { describe, isPlainObject, readObject, type SkippedKinds } from './load-object.ts';

export type { SkippedKinds } from './load-object.ts';

export interface LoadResult {
  /** Objects that passed validation (warnings allowed), in document order. */
  objects: MeshObject[];
  /** Every error and warning found, in document order (duplicate-object errors last). */
  problems: ConfigProblem[];
}

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
  readObject(data, source, ctx.out, ctx.skipped);
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
