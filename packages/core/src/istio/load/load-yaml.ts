// Reads Istio CRDs and the Kubernetes registry's objects from YAML (or JSON) text: multi-document
// streams, `kind: List` wrappers, the handled kinds validated (../validate/validate-object.ts,
// ../../kube/kube-read.ts), everything else skipped with a warning — workload controllers with
// one note per kind, however many a cluster dump holds. A bad document never stops the others: a
// YAML syntax error, a document that is not an object or an invalid object each become problems,
// and loading carries on with the next document.
//
// The text is read one document at a time and held to the limits of ./load-limits.ts: reading
// stops after too many documents, and a document nested too deeply is refused before it is
// composed (composing recurses), so hostile input ends in an error naming file and line, never
// in a stack overflow.

import { Composer, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, Scalar, type CST, type Document, type Node } from 'yaml';
import { fieldPath, type ConfigProblem } from '../../config-error.ts';
import { formatBytes, LOAD_LIMITS, type LoadLimits } from './load-limits.ts';
import { applyKubernetesScalarRules, toJsonValue } from './load-yaml-compat.ts';
import { createSourceRef } from './load-source-ref.ts';
import type { MeshObject, SourceRef } from '../types.ts';
import { checkShape } from '../validate/validate-schema.ts';
import { listMetaSchema } from '../validate/validate-schema-object-meta.ts';
import { unknownFieldMessage } from '../validate/validate-field-name.ts';
import { bareMeshConfig } from './load-mesh-config.ts';
import { addValidated, describe, isPlainObject, readObject, type LoadResult, type SkippedKinds } from './load-object.ts';

export type { LoadResult, SkippedKinds } from './load-object.ts';

const LIST_TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'items'];
interface DocContext {
  file: string;
  text: string;
  doc: Document;
  lineCounter: LineCounter;
  limits: LoadLimits;
  out: LoadResult;
  skipped: SkippedKinds;
  /** Documents without apiVersion and kind are MeshConfig (load-mesh-config.ts). */
  meshConfigFile: boolean;
}

export interface ParseOptions {
  /** The file holds a bare MeshConfig document (named mesh.yaml, or given as createMesh({ meshConfig })). */
  meshConfigFile?: boolean;
}

/**
 * Parses one file's text. `file` is only used to name locations in problems. Never throws for
 * bad input; YAML is read as YAML 1.2 with `<<` merge keys enabled, as kubectl accepts them.
 */
export function parseConfigText(text: string, file: string, limits: LoadLimits = LOAD_LIMITS, opts: ParseOptions = {}): LoadResult {
  const out: LoadResult = { objects: [], problems: [] };
  const skipped: SkippedKinds = new Map();
  parseConfigTextInto(text, file, out, skipped, limits, opts);
  reportSkippedKinds(out, skipped);
  dropDuplicates(out);
  return out;
}

/** parseConfigText for one of several files: skipped kinds are reported by the caller, once. */
export function parseConfigTextInto(text: string, file: string, out: LoadResult, skipped: SkippedKinds, limits: LoadLimits = LOAD_LIMITS, opts: ParseOptions = {}): void {
  const lineCounter = new LineCounter();
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const composer = new Composer({ merge: true, uniqueKeys: true });
  const read = (doc: Document.Parsed): void => readDocument(doc, { file, text, doc, lineCounter, limits, out, skipped, meshConfigFile: opts.meshConfigFile ?? false });
  let documents = 0;
  let stopped: ConfigProblem | undefined;
  for (const token of cstTokens(text, lineCounter, limits)) {
    if (token.type === 'error' && token.source === TOO_DEEP) {
      stopped = bareProblem('error', file, lineAt(token.offset), `maps and lists nest more than ${limits.nestingDepth} levels deep here (the limit); the file is not read from this document on`);
      break;
    }
    if (token.type === 'document') {
      if (++documents > limits.documentsPerFile) {
        stopped = bareProblem('error', file, lineAt(token.offset), `more than ${limits.documentsPerFile} YAML documents in one file (the limit); the file is not read from this document on: split it into several files`);
        break;
      }
      const deep = deeperThan(token, limits.nestingDepth);
      if (deep !== undefined) {
        out.problems.push(bareProblem('error', file, lineAt(deep), `maps and lists nest more than ${limits.nestingDepth} levels deep here (the limit); this document is not read`));
        continue;
      }
    }
    for (const doc of composer.next(token)) read(doc);
  }
  for (const doc of composer.end()) read(doc);
  if (stopped) out.problems.push(stopped);
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

const TOO_DEEP = 'meshlet: nesting limit';

/**
 * The YAML parser's tokens, driven lexeme by lexeme so that runaway nesting (`[[[[...`, or
 * `- - - -` on one line) is cut off while it is being read: building one deep node costs time
 * in proportion to its depth, and composing it recurses. The parser's stack holds the document,
 * each open collection and at most one scalar, so its height bounds the nesting; the exact
 * check is deeperThan() on each finished document.
 */
function* cstTokens(text: string, lineCounter: LineCounter, limits: LoadLimits): Generator<CST.Token> {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    yield* parser.next(lexeme);
    if (parser.stack.length > limits.nestingDepth + 3) {
      yield { type: 'error', offset: parser.offset, source: TOO_DEEP, message: TOO_DEEP };
      return;
    }
  }
  yield* parser.end();
}

/** The offset of the first collection nested deeper than `max`, walked without recursion. */
function deeperThan(doc: CST.Document, max: number): number | undefined {
  const stack: [CST.Token, number][] = doc.value ? [[doc.value, 0]] : [];
  while (stack.length > 0) {
    const [token, depth] = stack.pop() as [CST.Token, number];
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > max) return token.offset;
    for (const item of token.items) {
      if (item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}

function readDocument(doc: Document.Parsed, ctx: DocContext): void {
  const { file, out, lineCounter } = ctx;
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const firstError = doc.errors[0];
  if (firstError) {
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more error(s) in this document)` : '';
    out.problems.push(bareProblem('error', file, lineAt(firstError.pos[0]), `YAML syntax error: ${firstError.message}${more}`));
    return;
  }
  for (const w of doc.warnings) out.problems.push(bareProblem('warning', file, lineAt(w.pos[0]), `YAML: ${w.message}`));
  const root = doc.contents;
  // An empty document (a trailing `---`, or only comments) is allowed and holds nothing.
  if (root === null || (isScalar(root) && root.value === null)) return;
  applyKubernetesScalarRules(doc, ctx.text);
  let data: unknown;
  try {
    data = toJsonValue(doc.toJS({ maxAliasCount: 100 }));
  } catch (e) {
    out.problems.push(bareProblem('error', file, lineAt(root.range?.[0] ?? 0), `cannot read document: ${(e as Error).message}`));
    return;
  }
  const over = overLimit(data, ctx.limits);
  if (over) {
    const line = createSourceRef(file, root, lineCounter, doc).lineOf(over.path);
    const at = over.path.length ? `${fieldPath(over.path)}: ` : '';
    out.problems.push(bareProblem('error', file, line, `${at}${over.message}; the document is not read`));
    return;
  }
  readValue(data, root, ctx);
}

/**
 * The first string or nesting over the limits in a parsed document, aliases expanded (the YAML
 * check above only saw the text). Walked without recursion.
 */
function overLimit(data: unknown, limits: LoadLimits): { path: (string | number)[]; message: string } | undefined {
  const long = (s: string): string => `a string of ${s.length} characters is longer than the limit of ${limits.stringLength}`;
  const stack: [unknown, (string | number)[]][] = [[data, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, (string | number)[]];
    if (typeof v === 'string') {
      if (v.length > limits.stringLength) return { path, message: long(v) };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= limits.nestingDepth) return { path, message: `maps and lists nest more than ${limits.nestingDepth} levels deep (the limit)` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], [...path, i]]);
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, x] = entries[i] as [string, unknown];
      if (k.length > limits.stringLength) return { path, message: `a key of ${k.length} characters is longer than the limit of ${limits.stringLength}` };
      stack.push([x, [...path, k]]);
    }
  }
  return undefined;
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
  if (ctx.meshConfigFile && data.apiVersion === undefined && kind === undefined) {
    const obj = bareMeshConfig(data, source, (severity, line, message) => ctx.out.problems.push(bareProblem(severity, ctx.file, line, message)));
    if (obj) addValidated(obj, ctx.out);
    return;
  }
  // `kubectl get -o yaml` wraps several objects in a List (or <Kind>List) with `items`.
  if (typeof kind === 'string' && (kind === 'List' || (kind.endsWith('List') && 'items' in data))) {
    readList(data, node, source, ctx);
    return;
  }
  const bytes = sourceBytes(node, ctx.text, ctx.limits.objectBytes);
  if (bytes > ctx.limits.objectBytes) {
    const what = typeof kind === 'string' && kind !== '' ? `this ${kind}` : 'this object';
    ctx.out.problems.push(bareProblem('error', ctx.file, source.line, `${what} is ${formatBytes(bytes)} of YAML, over the limit of ${formatBytes(ctx.limits.objectBytes)} per object (the Kubernetes API server refuses it too); it is not read`));
    return;
  }
  // An istio ConfigMap's data.mesh is MeshConfig YAML whose lines are counted from the file's:
  // from the line after a block scalar's header, else from the key's own line.
  const mesh = isMap(node) ? node.getIn(['data', 'mesh'], true) : undefined;
  const meshBlock = isScalar(mesh) && (mesh.type === Scalar.BLOCK_LITERAL || mesh.type === Scalar.BLOCK_FOLDED);
  readObject(data, source, ctx.out, ctx.skipped, { meshTextIsBlock: meshBlock });
}

/** UTF-8 bytes of a node's text; only counted exactly when the character count says it may matter. */
function sourceBytes(node: Node, text: string, limit: number): number {
  if (!node.range) return 0;
  const [start, , end] = node.range;
  // A UTF-16 unit is at most 3 bytes of UTF-8.
  return (end - start) * 3 <= limit ? end - start : Buffer.byteLength(text.slice(start, end));
}

function readList(data: Record<string, unknown>, node: Node, source: SourceRef, ctx: DocContext): void {
  const listProblem = (path: (string | number)[], message: string): void => {
    ctx.out.problems.push({ ...bareProblem('error', ctx.file, source.lineOf(path), message), field: fieldPath(path) });
  };
  if (data.kind === 'List') {
    for (const key of Object.keys(data)) if (!LIST_TOP_LEVEL.includes(key)) listProblem([key], unknownFieldMessage(key, LIST_TOP_LEVEL));
    if (data.metadata !== undefined && data.metadata !== null) {
      checkShape(data.metadata, listMetaSchema, ['metadata'], { error: listProblem, warn: listProblem });
    }
  }
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
    // MeshConfig documents are many names for one setting: istio/mesh-config.ts picks the one in force.
    if (obj.kind === 'MeshConfig') {
      kept.push(obj);
      continue;
    }
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
