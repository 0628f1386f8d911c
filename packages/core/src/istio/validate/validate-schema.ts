// The structural half of validation, which the Kubernetes API server does before istiod's webhook
// ever runs: field types, enums, required fields, numeric ranges, mutually exclusive fields
// ("oneOf") and the CRDs' CEL rules on durations. Unknown fields are errors at every depth, as
// `kubectl apply` reports them by default since Kubernetes 1.27 (strict field validation), with
// the nearest known field suggested: every `obj()` schema is strict, so a kind written with these
// constructors gets that for free. `openObj()` (parts of Kubernetes objects Meshlet does not read)
// keeps unlisted fields, but still refuses one that looks like a misspelling of a listed field. Only an object whose shape is right goes on to the semantic
// validators, so those can trust the TypeScript types in ./types.ts.
//
// Schemas are written per kind in validate-schema-*.ts with the small constructors below.

import { type FieldPath, type Report } from './validate-common.ts';
import { checkIstioDuration, parseGoDuration } from './validate-duration.ts';
import { nearestName, unknownFieldMessage } from './validate-field-name.ts';

/**
 * How strictly a duration string is checked:
 * - 'parse': it must be a Go duration (fields with no further rule);
 * - 'min1ms': the CRD's CEL rule, at least 1ms;
 * - 'istio': istiod's rule, at least 1ms and whole milliseconds;
 * - 'istioOrZero': like 'istio', but a value under 1ms (e.g. "0s") means "disabled" and is allowed.
 */
export type DurationRule = 'parse' | 'min1ms' | 'istio' | 'istioOrZero';

export type Schema =
  | { type: 'string'; enum?: readonly string[]; maxLength?: number; base64?: boolean }
  | { type: 'integer'; min: number; max: number }
  | { type: 'number'; min?: number; max?: number }
  | { type: 'boolean' }
  | { type: 'duration'; rule: DurationRule }
  | ObjectSchema
  | { type: 'array'; items: Schema; minItems?: number; maxItems?: number }
  | { type: 'map'; values: Schema; minProperties?: number; maxProperties?: number; portKeys?: boolean }
  | { type: 'any' }
  /** A field Istio's API once had and dropped: old documents still carry it, so it is a warning. */
  | { type: 'removed'; note: string };

export interface ObjectSchema {
  type: 'object';
  fields: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  /** Groups of fields of which at most one may be set (protobuf oneofs). */
  oneOf?: readonly (readonly string[])[];
  /**
   * Fields not listed are kept as they are, unchecked: for Kubernetes objects, whose many fields
   * Meshlet does not read must never make real `kubectl get -o yaml` output fail. One that looks
   * like a misspelling of a listed field (`selectr`) is still an error.
   */
  open?: boolean;
}

// ---- constructors ---------------------------------------------------------------------------

export const str = (opts: { enum?: readonly string[]; maxLength?: number; base64?: boolean } = {}): Schema => ({ type: 'string', ...opts });
export const int32 = (): Schema => ({ type: 'integer', min: -2147483648, max: 2147483647 });
export const uint32 = (): Schema => ({ type: 'integer', min: 0, max: 4294967295 });
export const num = (opts: { min?: number; max?: number } = {}): Schema => ({ type: 'number', ...opts });
export const bool = (): Schema => ({ type: 'boolean' });
export const dur = (rule: DurationRule): Schema => ({ type: 'duration', rule });
export const arr = (items: Schema, opts: { minItems?: number; maxItems?: number } = {}): Schema => ({ type: 'array', items, ...opts });
export const map = (values: Schema, opts: { minProperties?: number; maxProperties?: number; portKeys?: boolean } = {}): Schema => ({ type: 'map', values, ...opts });
export const any = (): Schema => ({ type: 'any' });
export const removed = (note: string): Schema => ({ type: 'removed', note });
export const obj = (
  fields: Record<string, Schema>,
  opts: { required?: readonly string[]; oneOf?: readonly (readonly string[])[] } = {},
): ObjectSchema => ({ type: 'object', fields, ...opts });
/** An object whose listed fields are checked and whose other fields are left alone (ObjectSchema.open). */
export const openObj = (fields: Record<string, Schema>, opts: { required?: readonly string[] } = {}): ObjectSchema => ({ type: 'object', fields, open: true, ...opts });
/** A string map such as labels. */
export const strMap = (opts: { maxProperties?: number } = {}): Schema => map(str(), opts);
/** Istio's PolicyTargetReference (targetRef / targetRefs of the security and telemetry kinds). */
export const policyTargetRef = (): ObjectSchema =>
  obj({ group: str({ maxLength: 253 }), kind: str({ maxLength: 63 }), name: str({ maxLength: 253 }), namespace: str() }, { required: ['kind', 'name'] });
/** google.protobuf wrapper types (UInt32Value, DoubleValue, BoolValue) appear in YAML as the bare value. */
export const percent = (): Schema => obj({ value: num() });

// ---- walking --------------------------------------------------------------------------------

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string "${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  return `${typeof v} ${String(v)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * What the structural check found: 'ok'; 'values' when only values were out of bounds (enums,
 * ranges, durations), so the value still has the declared TypeScript shape; 'types' when
 * something has the wrong type or a required field is missing, so code reading it as typed
 * could go wrong.
 */
export type ShapeVerdict = 'ok' | 'values' | 'types';

/**
 * Checks `value` against `schema`, reporting at exact paths. Mutates the value the way the API
 * server would store it: null-valued fields are dropped; unknown fields are reported as errors
 * and removed, so the semantic rules that still run (see ShapeVerdict) see only known fields.
 */
export function checkShape(value: unknown, schema: Schema, path: FieldPath, report: Report): ShapeVerdict {
  let verdict: ShapeVerdict = 'ok';
  // Value errors: the field has the right type but a value the schema does not allow.
  const error = (p: FieldPath, msg: string): void => {
    if (verdict === 'ok') verdict = 'values';
    report.error(p, msg);
  };
  const typeError = (p: FieldPath, msg: string): void => {
    verdict = 'types';
    report.error(p, msg);
  };
  walk(value, schema, path);
  return verdict;

  function walk(v: unknown, s: Schema, p: FieldPath): void {
    switch (s.type) {
      case 'any':
      case 'removed':
        return;
      case 'string':
        if (typeof v !== 'string') return typeError(p, `expected a string, got ${describe(v)}${typeof v === 'number' || typeof v === 'boolean' ? ' (quote it)' : ''}`);
        if (s.enum && !s.enum.includes(v)) return error(p, `unsupported value "${v}": must be one of ${s.enum.join(', ')}`);
        if (s.maxLength !== undefined && v.length > s.maxLength) return error(p, `must be at most ${s.maxLength} characters (got ${v.length})`);
        if (s.base64 && !/^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s/g, ''))) return error(p, 'must be base64-encoded bytes');
        return;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) return typeError(p, `expected an integer, got ${describe(v)}`);
        if (v < s.min || v > s.max) return error(p, `${v} is out of range (${s.min}..${s.max})`);
        return;
      case 'number':
        if (typeof v !== 'number' || !Number.isFinite(v)) return typeError(p, `expected a number, got ${describe(v)}`);
        if (s.min !== undefined && v < s.min) return error(p, `must be at least ${s.min} (got ${v})`);
        if (s.max !== undefined && v > s.max) return error(p, `must be at most ${s.max} (got ${v})`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') return typeError(p, `expected true or false, got ${describe(v)}`);
        return;
      case 'duration':
        return walkDuration(v, s.rule, p);
      case 'array':
        if (!Array.isArray(v)) return typeError(p, `expected a list, got ${describe(v)}`);
        if (s.minItems !== undefined && v.length < s.minItems) return error(p, `must have at least ${s.minItems} item(s)`);
        if (s.maxItems !== undefined && v.length > s.maxItems) return error(p, `must have at most ${s.maxItems} items (got ${v.length})`);
        v.forEach((item, i) => walk(item, s.items, [...p, i]));
        return;
      case 'map':
        // Null entries stay: istiod reports them itself (e.g. a null header match).
        if (!isPlainObject(v)) return typeError(p, `expected a map, got ${describe(v)}`);
        if (s.minProperties !== undefined && Object.keys(v).length < s.minProperties) return error(p, `must have at least ${s.minProperties} entr${s.minProperties === 1 ? 'y' : 'ies'}`);
        if (s.maxProperties !== undefined && Object.keys(v).length > s.maxProperties) return error(p, `must have at most ${s.maxProperties} entries`);
        for (const [k, item] of Object.entries(v)) {
          if (s.portKeys && !(/^\d+$/.test(k) && Number(k) <= 4294967295)) {
            typeError([...p, k], `key "${k}" must be a port number`);
            continue;
          }
          walk(item, s.values, [...p, k]);
        }
        return;
      case 'object':
        return walkObject(v, s, p);
    }
  }

  function walkDuration(v: unknown, rule: DurationRule, p: FieldPath): void {
    if (typeof v !== 'string') return typeError(p, `expected a duration string like "5s" or "250ms", got ${describe(v)}`);
    const parsed = parseGoDuration(v);
    if (!parsed.ok) return error(p, `${parsed.reason}: use a Go duration like "5s", "250ms" or "1h30m"`);
    if (rule === 'parse') return;
    if (rule === 'min1ms') {
      if (parsed.nanos < 1_000_000n) error(p, `duration must be at least 1ms (got "${v}")`);
      return;
    }
    if (rule === 'istioOrZero' && parsed.nanos < 1_000_000n && parsed.nanos >= 0n) return;
    const msg = checkIstioDuration(v);
    if (msg) error(p, msg);
  }

  function walkObject(v: unknown, s: ObjectSchema, p: FieldPath): void {
    if (!isPlainObject(v)) return typeError(p, `expected an object, got ${describe(v)}`);
    dropNulls(v);
    for (const k of Object.keys(v)) {
      if (Object.hasOwn(s.fields, k)) continue;
      // An open object (a Kubernetes object's parts Meshlet does not read) keeps fields it does
      // not list, unless one looks like a misspelling of a field Meshlet reads: that is the typo
      // that would silently change what it reads.
      const near = s.open ? nearestName(k, Object.keys(s.fields)) : undefined;
      if (!s.open || near !== undefined) {
        // A value error, not a type error: with the field removed the object has its declared
        // shape, so the semantic rules can still run and report everything else in one pass.
        error([...p, k], unknownFieldMessage(k, Object.keys(s.fields)));
        delete v[k];
      }
    }
    for (const r of s.required ?? []) {
      if (!Object.hasOwn(v, r)) typeError([...p, r], `${r} is required`);
    }
    for (const group of s.oneOf ?? []) {
      const set = group.filter((f) => Object.hasOwn(v, f));
      if (set.length > 1) error([...p, set[1] as string], `only one of ${group.join(', ')} may be set (found ${set.join(' and ')})`);
    }
    for (const [k, fs] of Object.entries(s.fields)) {
      if (!Object.hasOwn(v, k)) continue;
      if (fs.type === 'removed') {
        report.warn([...p, k], `${k} was removed from Istio's API (${fs.note}); ignored`);
        delete v[k];
      } else {
        walk(v[k], fs, [...p, k]);
      }
    }
  }
}

/** YAML `field:` with no value reads as null; the API server treats it as absent. */
function dropNulls(v: Record<string, unknown>): void {
  for (const [k, item] of Object.entries(v)) if (item === null) delete v[k];
}
