// The proto3 JSON mapping (see ../resources.ts) to wire bytes: the inverse of
// message-decoder.ts. Fields are written in field-number order, default scalar values are
// left out unless the field tracks presence (oneof members, proto3 `optional`), and wrapper,
// Duration, Struct and Any values take their JSON forms. Anything that does not fit the schema
// (an unknown key, a string where a number belongs, two members of one oneof) throws, naming
// the field: what we encode is our own config, and a silent drop there would be a bug.

import { CodecFailure, prependSegment } from './errors.ts';
import {
  enumAt, findMessage, messageAt,
  K_BOOL, K_BYTES, K_DOUBLE, K_ENUM, K_FIXED32, K_FIXED64, K_FLOAT, K_INT32, K_INT64, K_MESSAGE,
  K_SFIXED32, K_SFIXED64, K_SINT32, K_SINT64, K_STRING, K_UINT32, K_UINT64, KIND_NAMES,
  WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WKT_ANY, WKT_DURATION, WKT_FIELD_MASK, WKT_LIST_VALUE,
  WKT_NONE, WKT_STRUCT, WKT_TIMESTAMP, WKT_VALUE, WKT_WRAPPER, wireTypeOf,
  typeNameOfUrl, type FieldDesc, type MessageDesc,
} from './schema.ts';
import { MAX_DEPTH } from './wire-reader.ts';
import { splitBigInt64, splitInt64, WireWriter } from './wire-writer.ts';
import { parseDuration, parseFieldMask, parseTimestamp } from './well-known-types.ts';

const fail = (detail: string): never => {
  throw new CodecFailure(detail);
};

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : v instanceof Uint8Array ? 'bytes' : typeof v === 'string' ? `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}` : typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;

/** Writes the body (no tag or length) of message `desc` holding `value`. */
export function encodeBody(desc: MessageDesc, value: unknown, w: WireWriter, depth: number): void {
  if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
  switch (desc.wkt) {
    case WKT_NONE: return encodeFields(desc, value, w, depth);
    case WKT_ANY: return encodeAnyBody(value, w, depth);
    case WKT_DURATION: return encodeSecondsNanos(typeof value === 'string' ? parseDuration(value) : { error: `expected a Duration string like "1.5s", got ${describe(value)}` }, w);
    case WKT_TIMESTAMP: return encodeSecondsNanos(typeof value === 'string' ? parseTimestamp(value) : { error: `expected an RFC 3339 timestamp string, got ${describe(value)}` }, w);
    case WKT_WRAPPER: {
      // The wrapper's presence is carried by the enclosing field; its value follows proto3 rules.
      const f = desc.byNumber.get(1)!;
      if (value !== null && value !== undefined && !isDefaultScalar(f, value)) encodeSingular(f, value, w, depth);
      return;
    }
    case WKT_STRUCT: return encodeStruct(value, w, depth);
    case WKT_VALUE: return encodeJsonValue(value, w, depth);
    case WKT_LIST_VALUE: return encodeListValue(value, w, depth);
    case WKT_FIELD_MASK: {
      if (typeof value !== 'string') fail(`expected a FieldMask string like "a.b,c", got ${describe(value)}`);
      for (const p of parseFieldMask(value as string)) {
        w.tag(1, WIRE_LEN);
        w.string(p);
      }
      return;
    }
    default:
      fail(`unhandled well-known type ${desc.fullName}`);
  }
}

function encodeFields(desc: MessageDesc, value: unknown, w: WireWriter, depth: number): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    fail(`expected an object for ${desc.fullName}, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;
  // Collect the set fields, checking every key belongs to the schema.
  const present: FieldDesc[] = [];
  let sorted = true;
  let last = 0;
  let oneofSeen: FieldDesc[] | undefined;
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined) continue;
    const f = desc.byName.get(key);
    if (f === undefined) {
      if (key === '@type' && typeof v === 'string' && typeNameOfUrl(v) === desc.fullName) continue;
      fail(key === '@type' ? `"@type" ${JSON.stringify(v)} does not name ${desc.fullName}` : `unknown field "${key}" in ${desc.fullName}`);
    }
    // JSON null means "not set", except for a NullValue field, where null is the value.
    if (v === null && !(f!.kind === K_ENUM && enumAt(f!.typeIndex).isNullValue)) continue;
    if (f!.oneof >= 0) {
      const other = (oneofSeen ??= [])[f!.oneof];
      if (other) fail(`"${other.name}" and "${f!.name}" are both set, but only one field of oneof ${desc.oneofs[f!.oneof]} may be`);
      oneofSeen[f!.oneof] = f!;
    }
    if (f!.number < last) sorted = false;
    last = f!.number;
    present.push(f!);
  }
  if (!sorted) present.sort((a, b) => a.number - b.number);
  for (const f of present) {
    const v = obj[f.name];
    try {
      if (f.map) encodeMap(f, v, w, depth);
      else if (f.repeated) encodeRepeated(f, v, w, depth);
      else if (f.kind === K_MESSAGE) {
        w.tag(f.number, WIRE_LEN);
        const start = w.beginLength();
        encodeBody(messageAt(f.typeIndex), v, w, depth + 1);
        w.endLength(start);
      } else if (f.explicitPresence || !isDefaultScalar(f, v)) {
        encodeSingular(f, v, w, depth);
      }
    } catch (err) {
      prependSegment(err, f.name);
      throw err;
    }
  }
}

/** Whether a scalar holds its proto3 default, which is not written for implicit-presence fields. */
function isDefaultScalar(f: FieldDesc, v: unknown): boolean {
  switch (f.kind) {
    case K_STRING: return v === '';
    case K_ENUM: return v === 0 || v === null || (typeof v === 'string' && enumAt(f.typeIndex).numbers.get(v) === 0);
    case K_BOOL: return v === false;
    case K_BYTES: return (v instanceof Uint8Array && v.length === 0) || v === '';
    case K_DOUBLE: case K_FLOAT: return v === 0 && 1 / v > 0; // -0 is not the default (proto3 compares bits)
    default: return v === 0 || v === '0' || v === 0n;
  }
}

/** One tagged value of a non-repeated field (or one element of an unpacked repeated one). */
function encodeSingular(f: FieldDesc, v: unknown, w: WireWriter, depth: number): void {
  if (f.kind === K_MESSAGE) {
    w.tag(f.number, WIRE_LEN);
    const start = w.beginLength();
    encodeBody(messageAt(f.typeIndex), v, w, depth + 1);
    w.endLength(start);
    return;
  }
  w.tag(f.number, f.wireType);
  writeScalar(f.kind, f.typeIndex, v, w);
}

function encodeRepeated(f: FieldDesc, v: unknown, w: WireWriter, depth: number): void {
  if (!Array.isArray(v)) fail(`expected an array, got ${describe(v)}`);
  const arr = v as unknown[];
  if (arr.length === 0) return;
  if (f.packed) {
    w.tag(f.number, WIRE_LEN);
    const start = w.beginLength();
    for (let i = 0; i < arr.length; i++) {
      try {
        const e = arr[i];
        if (e === undefined || (e === null && !(f.kind === K_ENUM && enumAt(f.typeIndex).isNullValue))) fail('null element in a repeated field');
        writeScalar(f.kind, f.typeIndex, e, w);
      } catch (err) {
        prependSegment(err, `[${i}]`);
        throw err;
      }
    }
    w.endLength(start);
    return;
  }
  for (let i = 0; i < arr.length; i++) {
    try {
      const e = arr[i];
      if (e === null || e === undefined) fail('null element in a repeated field');
      encodeSingular(f, e, w, depth);
    } catch (err) {
      prependSegment(err, `[${i}]`);
      throw err;
    }
  }
}

function encodeMap(f: FieldDesc, v: unknown, w: WireWriter, depth: number): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`expected an object (map), got ${describe(v)}`);
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined) continue;
    try {
      if (value === null) fail('null map value');
      w.tag(f.number, WIRE_LEN);
      const start = w.beginLength();
      // Key and value are always both written, as protoc and protobufjs do for map entries.
      w.tag(1, wireTypeOf(f.keyKind));
      writeScalar(f.keyKind, -1, mapKey(f.keyKind, key), w);
      if (f.kind === K_MESSAGE) {
        w.tag(2, WIRE_LEN);
        const inner = w.beginLength();
        encodeBody(messageAt(f.typeIndex), value, w, depth + 1);
        w.endLength(inner);
      } else {
        w.tag(2, f.wireType);
        writeScalar(f.kind, f.typeIndex, value, w);
      }
      w.endLength(start);
    } catch (err) {
      prependSegment(err, `[${JSON.stringify(key)}]`);
      throw err;
    }
  }
}

/** Object keys are strings; turn them back into the map's key kind. */
function mapKey(kind: number, key: string): unknown {
  if (kind === K_STRING) return key;
  if (kind === K_BOOL) {
    if (key === 'true') return true;
    if (key === 'false') return false;
    return fail(`map key ${JSON.stringify(key)} is not a bool`);
  }
  return key; // integer kinds accept decimal strings
}

function writeScalar(kind: number, typeIndex: number, v: unknown, w: WireWriter): void {
  switch (kind) {
    case K_STRING:
      if (typeof v !== 'string') fail(`expected a string, got ${describe(v)}`);
      w.string(v as string);
      return;
    case K_BOOL:
      if (typeof v !== 'boolean') fail(`expected a boolean, got ${describe(v)}`);
      w.uint32(v ? 1 : 0);
      return;
    case K_INT32: {
      const n = toInt(v, -0x80000000, 0x7fffffff, 'int32');
      // Negative int32 is sign-extended to a 10-byte varint.
      if (n < 0) w.varint64(n >>> 0, 0xffffffff);
      else w.uint32(n);
      return;
    }
    case K_UINT32: w.uint32(toInt(v, 0, 0xffffffff, 'uint32')); return;
    case K_SINT32: { const n = toInt(v, -0x80000000, 0x7fffffff, 'sint32'); w.uint32(((n << 1) ^ (n >> 31)) >>> 0); return; }
    case K_FIXED32: w.fixed32(toInt(v, 0, 0xffffffff, 'fixed32')); return;
    case K_SFIXED32: w.fixed32(toInt(v, -0x80000000, 0x7fffffff, 'sfixed32') >>> 0); return;
    case K_ENUM: {
      let n: number;
      if (v === null && enumAt(typeIndex).isNullValue) n = 0;
      else if (typeof v === 'string') {
        const e = enumAt(typeIndex);
        const found = e.numbers.get(v);
        if (found === undefined) return fail(`${JSON.stringify(v)} is not a value of enum ${e.fullName}`);
        n = found;
      } else n = toInt(v, -0x80000000, 0x7fffffff, 'enum');
      if (n < 0) w.varint64(n >>> 0, 0xffffffff);
      else w.uint32(n);
      return;
    }
    case K_INT64: case K_SINT64: case K_UINT64: case K_FIXED64: case K_SFIXED64: {
      let [lo, hi] = toInt64(v, kind === K_UINT64 || kind === K_FIXED64);
      if (kind === K_SINT64) {
        // ZigZag: (n << 1) ^ (n >> 63) across the two halves.
        const sign = hi >> 31;
        const zhi = ((hi << 1) | (lo >>> 31)) ^ sign;
        const zlo = (lo << 1) ^ sign;
        lo = zlo >>> 0;
        hi = zhi >>> 0;
      }
      if (kind === K_FIXED64 || kind === K_SFIXED64) w.fixed64(lo, hi);
      else w.varint64(lo, hi);
      return;
    }
    case K_DOUBLE: w.double(toFloat(v)); return;
    case K_FLOAT: w.float(toFloat(v)); return;
    case K_BYTES:
      if (v instanceof Uint8Array) w.bytes(v);
      else if (typeof v === 'string') w.bytes(fromBase64(v));
      else fail(`expected bytes (Uint8Array or base64 string), got ${describe(v)}`);
      return;
    default:
      fail(`no scalar kind ${KIND_NAMES[kind] ?? kind}`);
  }
}

function toInt(v: unknown, min: number, max: number, what: string): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = Number(v); // proto3 JSON allows quoted integers
  else if (typeof v === 'bigint') n = Number(v);
  else return fail(`expected an integer (${what}), got ${describe(v)}`);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${String(v)} is not a valid ${what}`);
  return n;
}

function toInt64(v: unknown, unsigned: boolean): [number, number] {
  const what = unsigned ? 'uint64' : 'int64';
  if (typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+$/.test(v))) {
    const b = BigInt(v as bigint | string);
    if (unsigned ? b < 0n || b >= 1n << 64n : b < -(1n << 63n) || b >= 1n << 63n) fail(`${String(v)} is not a valid ${what}`);
    return splitBigInt64(b);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail(`expected an integer (${what}), got ${describe(v)}`);
  // The top of each range is not a double: the maximum decodes as 2^64 (2^63) once rounded,
  // so that one value is taken back as the maximum, keeping decode → encode total.
  if (unsigned ? v === 2 ** 64 : v === 2 ** 63) return unsigned ? [0xffffffff, 0xffffffff] : [0xffffffff, 0x7fffffff];
  if (unsigned ? v < 0 || v > 2 ** 64 : v < -(2 ** 63) || v > 2 ** 63) fail(`${v} is not a valid ${what}`);
  return splitInt64(v);
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return fail(`expected a number, got ${describe(v)}`);
}

function fromBase64(text: string): Uint8Array {
  // The JSON mapping writes bytes as base64 (standard or URL-safe alphabet, padding optional).
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) fail('bytes string is not base64');
  return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

function encodeSecondsNanos(parsed: { seconds: number; nanos: number } | { error: string }, w: WireWriter): void {
  if ('error' in parsed) return fail(parsed.error);
  if (parsed.seconds !== 0) {
    w.tag(1, WIRE_VARINT);
    const [lo, hi] = splitInt64(parsed.seconds);
    w.varint64(lo, hi);
  }
  if (parsed.nanos !== 0) {
    w.tag(2, WIRE_VARINT);
    writeScalar(K_INT32, -1, parsed.nanos, w);
  }
}

function encodeStruct(value: unknown, w: WireWriter, depth: number): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    fail(`expected a plain object for Struct, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue; // as JSON.stringify does
    try {
      w.tag(1, WIRE_LEN);
      const entry = w.beginLength();
      w.tag(1, WIRE_LEN);
      w.string(key);
      w.tag(2, WIRE_LEN);
      const inner = w.beginLength();
      encodeJsonValue(v, w, depth + 2);
      w.endLength(inner);
      w.endLength(entry);
    } catch (err) {
      prependSegment(err, key);
      throw err;
    }
  }
}

function encodeListValue(value: unknown, w: WireWriter, depth: number): void {
  if (!Array.isArray(value)) fail(`expected an array for ListValue, got ${describe(value)}`);
  const arr = value as unknown[];
  for (let i = 0; i < arr.length; i++) {
    try {
      w.tag(1, WIRE_LEN);
      const start = w.beginLength();
      encodeJsonValue(arr[i] === undefined ? null : arr[i], w, depth + 1);
      w.endLength(start);
    } catch (err) {
      prependSegment(err, `[${i}]`);
      throw err;
    }
  }
}

/** A JSON value as google.protobuf.Value; every kind is a oneof member, so zero values are written. */
function encodeJsonValue(v: unknown, w: WireWriter, depth: number): void {
  if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
  if (v === null) {
    w.tag(1, WIRE_VARINT);
    w.uint32(0);
  } else if (typeof v === 'number') {
    w.tag(2, WIRE_FIXED64);
    w.double(v);
  } else if (typeof v === 'string') {
    w.tag(3, WIRE_LEN);
    w.string(v);
  } else if (typeof v === 'boolean') {
    w.tag(4, WIRE_VARINT);
    w.uint32(v ? 1 : 0);
  } else if (Array.isArray(v)) {
    w.tag(6, WIRE_LEN);
    const start = w.beginLength();
    encodeListValue(v, w, depth + 1);
    w.endLength(start);
  } else if (typeof v === 'object' && !(v instanceof Uint8Array)) {
    w.tag(5, WIRE_LEN);
    const start = w.beginLength();
    encodeStruct(v, w, depth + 1);
    w.endLength(start);
  } else {
    fail(`${describe(v)} is not a JSON value`);
  }
}

/** An Any body from { '@type', ...fields } or { '@type', '@bytes' }. */
export function encodeAnyBody(value: unknown, w: WireWriter, depth: number): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`expected an Any object with "@type", got ${describe(value)}`);
  const obj = value as Record<string, unknown>;
  const url = obj['@type'];
  if (url === undefined && Object.keys(obj).length === 0) return; // the empty Any
  const raw = obj['@bytes'];
  // An empty type URL only makes sense beside raw bytes (a decoded Any that had none).
  if (typeof url !== 'string' || (url === '' && raw === undefined)) return fail('an Any needs a "@type" type URL');
  if (url !== '') {
    w.tag(1, WIRE_LEN);
    w.string(url);
  }
  if (raw !== undefined) {
    if (!(raw instanceof Uint8Array)) fail(`"@bytes" must be a Uint8Array, got ${describe(raw)}`);
    for (const k of Object.keys(obj)) if (k !== '@type' && k !== '@bytes') fail(`"@bytes" Any cannot also have field "${k}"`);
    if ((raw as Uint8Array).length > 0) {
      w.tag(2, WIRE_LEN);
      w.bytes(raw as Uint8Array);
    }
    return;
  }
  const inner = findMessage(typeNameOfUrl(url));
  if (!inner) return fail(`type ${url} is not in the codec's schema; give its encoded bytes as "@bytes"`);
  const start0 = w.pos;
  w.tag(2, WIRE_LEN);
  const start = w.beginLength();
  encodeAnyValue(inner, obj, w, depth + 1);
  w.endLength(start);
  // proto3 leaves out an empty `value`; drop the tag and zero length we wrote.
  if (w.pos === start) w.pos = start0;
}

/** The message inside an Any (its `value` bytes), from the Any's JSON object. */
export function encodeAnyValue(inner: MessageDesc, obj: Record<string, unknown>, w: WireWriter, depth: number): void {
  try {
    if (inner.wkt !== WKT_NONE) {
      for (const k of Object.keys(obj)) if (k !== '@type' && k !== 'value') fail(`unknown field "${k}" in an Any holding ${inner.fullName} (its JSON form goes in "value")`);
      encodeBody(inner, obj['value'], w, depth);
    } else {
      encodeFields(inner, obj, w, depth); // encodeFields accepts the matching "@type" key
    }
  } catch (err) {
    prependSegment(err, `<${inner.fullName.slice(inner.fullName.lastIndexOf('.') + 1)}>`);
    throw err;
  }
}

/** Encodes `value` as message `desc` from the top. */
export function encodeTop(desc: MessageDesc, value: unknown): Uint8Array {
  const w = new WireWriter();
  encodeBody(desc, value, w, 0);
  return w.finish();
}
