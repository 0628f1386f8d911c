// Wire bytes to the proto3 JSON mapping (see ../resources.ts): json field names, enums by
// name, 64-bit integers as numbers, well-known types in their JSON forms, Any expanded when
// its type is in the table. Absent fields stay absent; no defaults are filled in, so a reader
// can tell "unset" from "set to the default" wherever the wire can.
//
// Failures throw CodecFailure, each enclosing field adding its path segment as it unwinds;
// index.ts turns that into a DecodeError result. Nothing here trusts a length or a nesting
// depth from the input.

import { prependSegment } from './errors.ts';
import {
  enumAt, findMessage, messageAt,
  K_BOOL, K_BYTES, K_DOUBLE, K_ENUM, K_FIXED32, K_FIXED64, K_FLOAT, K_INT32, K_INT64, K_MESSAGE,
  K_SFIXED32, K_SFIXED64, K_SINT32, K_SINT64, K_STRING, K_UINT32, K_UINT64, KIND_NAMES,
  WIRE_LEN, WKT_ANY, WKT_DURATION, WKT_FIELD_MASK, WKT_LIST_VALUE, WKT_NONE, WKT_STRUCT, WKT_TIMESTAMP,
  WKT_VALUE, WKT_WRAPPER,
  typeNameOfUrl, type FieldDesc, type MessageDesc,
} from './schema.ts';
import { int64ToNumber, MAX_DEPTH, sint64ToNumber, uint64ToNumber, WireReader } from './wire-reader.ts';
import { formatDuration, formatFieldMask, formatTimestamp } from './well-known-types.ts';
import { hashBytes, MAX_SHARED_BYTES, type SharedSubtrees } from './shared-subtrees.ts';

/** Set while decodeShared runs: sub-messages seen before are shared, not decoded again. */
let shared: SharedSubtrees | undefined;

/** Decodes the message spanning r.pos..r.limit into its JSON-mapping value. */
export function decodeValue(desc: MessageDesc, r: WireReader, depth: number): unknown {
  if (depth > MAX_DEPTH) r.fail(`nesting deeper than ${MAX_DEPTH} levels`);
  switch (desc.wkt) {
    case WKT_NONE: {
      const out: Record<string, unknown> = {};
      decodeFields(desc, r, depth, out);
      if (desc.lists.length > 0) trimLists(desc, out);
      return out;
    }
    case WKT_ANY: return decodeAnyBody(r, depth);
    case WKT_DURATION: return share(secondsNanos(r, 'Duration', formatDuration));
    case WKT_TIMESTAMP: return secondsNanos(r, 'Timestamp', formatTimestamp);
    case WKT_WRAPPER: return decodeWrapper(desc, r, depth);
    case WKT_STRUCT: return decodeStruct(r, depth);
    case WKT_VALUE: return decodeJsonValue(r, depth);
    case WKT_LIST_VALUE: return decodeListValue(r, depth);
    case WKT_FIELD_MASK: {
      const paths: string[] = [];
      readFieldsRaw(r, (no, wt) => {
        if (no === 1 && wt === WIRE_LEN) paths.push(r.string());
        else return false;
        return true;
      }, depth);
      return formatFieldMask(paths);
    }
    default:
      return r.fail(`unhandled well-known type ${desc.fullName}`);
  }
}

/**
 * Replaces each list `out` holds with an exact-size copy. A list grown by push keeps room for
 * 17 elements after its first (~150 bytes): with one or two elements, as most lists of a
 * resource have (routes, clusters, endpoints, domains, filters), that room was most of the
 * bytes a decoded resource kept — for as long as the resource is held, and copied by every
 * scavenge while a large snapshot applies.
 */
function trimLists(desc: MessageDesc, out: Record<string, unknown>): void {
  for (const name of desc.lists) {
    const arr = out[name] as unknown[] | undefined;
    if (arr !== undefined) out[name] = arr.slice();
  }
}

/** Decodes fields into `out` (a fresh object, or an earlier occurrence being merged into). */
function decodeFields(desc: MessageDesc, r: WireReader, depth: number, out: Record<string, unknown>): void {
  const limit = r.limit;
  while (r.pos < limit) decodeField(desc, r, depth, out);
}

/** Decodes the one field at r.pos into `out`; returns its descriptor (undefined when skipped as unknown). */
function decodeField(desc: MessageDesc, r: WireReader, depth: number, out: Record<string, unknown>): FieldDesc | undefined {
  const tagAt = r.pos;
  const tag = r.varint32();
  const no = tag >>> 3;
  const wt = tag & 7;
  if (no === 0) r.fail('field number 0', tagAt);
  const f = desc.byNumber.get(no);
  if (f === undefined) {
    r.skip(wt, no, depth); // unknown (or deliberately left out of the table): skipped
    return undefined;
  }
  try {
    if (f.map) decodeMapEntry(f, wt, r, depth, out);
    else if (f.repeated) decodeRepeated(f, wt, r, depth, out);
    else {
      if (wt !== f.wireType) wrongWireType(r, f, wt, tagAt);
      if (f.oneof >= 0) clearOtherMembers(desc, f, out);
      if (f.kind === K_MESSAGE) {
        const sub = messageAt(f.typeIndex);
        const prev = out[f.name];
        // A repeated occurrence of a singular message merges into the first (proto rules);
        // well-known types have JSON forms that cannot be merged, so the last one wins.
        if (sub.wkt === WKT_NONE && prev !== undefined && typeof prev === 'object' && prev !== null) {
          // A shared object is never changed: the merge goes into a copy of it.
          const into = shared === undefined ? prev : (out[f.name] = structuredClone(prev));
          withRegion(r, depth, () => decodeFields(sub, r, depth + 1, into as Record<string, unknown>));
        } else {
          out[f.name] = decodeNested(sub, r, depth);
        }
      } else {
        const v = readScalar(f, r);
        // A default value on the wire reads as absent where the field has no presence, so the
        // result is the canonical JSON form whichever encoder wrote the bytes.
        if (!f.explicitPresence && isDefaultScalar(f, v)) delete out[f.name];
        else out[f.name] = v;
      }
    }
  } catch (err) {
    prependSegment(err, f.name);
    throw err;
  }
  return f;
}

/** Zero/empty scalars, as decoded (an enum's 0 has become its name). */
function isDefaultScalar(f: FieldDesc, v: unknown): boolean {
  if (f.kind === K_ENUM) return v === 0 || v === null || (typeof v === 'string' && enumAt(f.typeIndex).numbers.get(v) === 0);
  if (typeof v === 'number') return v === 0 && 1 / v > 0; // -0 is a distinct double value
  if (typeof v === 'string') return v === '';
  if (typeof v === 'boolean') return !v;
  return v instanceof Uint8Array && v.length === 0;
}

function clearOtherMembers(desc: MessageDesc, f: FieldDesc, out: Record<string, unknown>): void {
  // The last oneof member on the wire wins, and the JSON shows only the one that is set.
  for (const m of desc.oneofMembers[f.oneof]!) if (m !== f && m.name in out) delete out[m.name];
}

function wrongWireType(r: WireReader, f: FieldDesc, wt: number, at: number): never {
  const kind = f.map ? 'map' : KIND_NAMES[f.kind];
  return r.fail(`wire type ${wt} does not fit ${f.repeated ? 'repeated ' : ''}${kind} field ${f.number} (expected ${f.wireType})`, at);
}

/** Runs `body` over the length-delimited region that starts at r.pos. */
function withRegion<T>(r: WireReader, depth: number, body: () => T): T {
  const end = r.lengthEnd();
  if (depth + 1 > MAX_DEPTH) r.fail(`nesting deeper than ${MAX_DEPTH} levels`);
  const saved = r.limit;
  r.limit = end;
  const v = body();
  if (r.pos !== end) r.fail('message did not end at its length');
  r.limit = saved;
  return v;
}

function decodeNested(desc: MessageDesc, r: WireReader, depth: number): unknown {
  // withRegion inlined: this is the per-message hot path, and a closure here is an allocation.
  const end = r.lengthEnd();
  const saved = r.limit;
  const start = r.pos;
  let hash = 0;
  if (shared !== undefined && end - start <= MAX_SHARED_BYTES) {
    hash = hashBytes(r.buf, start, end);
    const known = shared.find(desc, r.buf, start, end, depth, hash);
    if (known !== undefined) {
      r.pos = end;
      return known;
    }
  }
  r.limit = end;
  const v = decodeValue(desc, r, depth + 1);
  r.limit = saved;
  if (shared !== undefined && end - start <= MAX_SHARED_BYTES && typeof v === 'object' && v !== null) shared.remember(desc, r.buf, start, end, depth, hash, v);
  return v;
}

/** The one copy of a string that repeats across resources (type URLs, "0s", cluster names), while sharing. */
function share(s: string): string {
  return shared === undefined ? s : shared.intern(s);
}

/**
 * decodeTop for results nobody changes afterwards: sub-messages equal byte for byte to ones in
 * `table` are those decoded objects (shared-subtrees.ts). The top-level object is always new.
 */
export function decodeShared(desc: MessageDesc, bytes: Uint8Array, depth: number, table: SharedSubtrees): unknown {
  shared = table;
  try {
    return decodeValue(desc, new WireReader(bytes), depth);
  } finally {
    shared = undefined;
  }
}

/**
 * decodeShared in steps, for one large resource (a sidecar's RouteConfiguration holds a virtual
 * host per service: 10k of them is a 400 ms decode): yields after each element of the message's
 * top-level repeated message fields, so the caller can stop between elements when its turn of
 * the event loop is spent. Same value, same sharing, same errors (thrown) as decodeShared; the
 * shared table is in force only while a step runs, since other decodes may run between steps.
 */
export function* decodeSharedSteps(desc: MessageDesc, bytes: Uint8Array, depth: number, table: SharedSubtrees): Generator<void, unknown> {
  if (desc.wkt !== WKT_NONE) return decodeShared(desc, bytes, depth, table);
  const r = new WireReader(bytes);
  if (depth > MAX_DEPTH) r.fail(`nesting deeper than ${MAX_DEPTH} levels`);
  const out: Record<string, unknown> = {};
  const limit = r.limit;
  while (r.pos < limit) {
    let f: FieldDesc | undefined;
    shared = table;
    try {
      f = decodeField(desc, r, depth, out);
    } finally {
      shared = undefined;
    }
    if (f !== undefined && f.repeated && !f.map && f.kind === K_MESSAGE) yield;
  }
  if (desc.lists.length > 0) trimLists(desc, out);
  return out;
}

function decodeRepeated(f: FieldDesc, wt: number, r: WireReader, depth: number, out: Record<string, unknown>): void {
  let arr = out[f.name] as unknown[] | undefined;
  if (arr === undefined) out[f.name] = arr = [];
  try {
    if (f.kind === K_MESSAGE) {
      if (wt !== WIRE_LEN) wrongWireType(r, f, wt, r.pos);
      arr.push(decodeNested(messageAt(f.typeIndex), r, depth));
    } else if (wt === WIRE_LEN && f.wireType !== WIRE_LEN) {
      // Packed run; accepted whether or not the schema says packed, as the spec requires.
      const end = r.lengthEnd();
      const saved = r.limit;
      r.limit = end;
      while (r.pos < end) arr.push(readScalar(f, r));
      r.limit = saved;
      if (arr.length === 0) delete out[f.name]; // an empty run is an empty list: left out
    } else {
      if (wt !== f.wireType) wrongWireType(r, f, wt, r.pos);
      arr.push(readScalar(f, r));
    }
  } catch (err) {
    prependSegment(err, `[${arr.length}]`);
    throw err;
  }
}

function decodeMapEntry(f: FieldDesc, wt: number, r: WireReader, depth: number, out: Record<string, unknown>): void {
  if (wt !== WIRE_LEN) wrongWireType(r, f, wt, r.pos);
  let map = out[f.name] as Record<string, unknown> | undefined;
  if (map === undefined) out[f.name] = map = {};
  let key: unknown;
  let value: unknown;
  let keyDesc: FieldDesc | undefined;
  try {
    withRegion(r, depth, () => {
      while (r.pos < r.limit) {
        const tagAt = r.pos;
        const tag = r.varint32();
        const no = tag >>> 3;
        const etw = tag & 7;
        if (no === 1) {
          keyDesc ??= mapKeyField(f);
          if (etw !== keyDesc.wireType) wrongWireType(r, keyDesc, etw, tagAt);
          key = readMapKey(keyDesc, r);
        } else if (no === 2) {
          if (etw !== f.wireType) wrongWireType(r, f, etw, tagAt);
          value = f.kind === K_MESSAGE ? decodeNested(messageAt(f.typeIndex), r, depth + 1) : readScalar(f, r);
        } else {
          if (no === 0) r.fail('field number 0', tagAt);
          r.skip(etw, no, depth + 1);
        }
      }
    });
  } catch (err) {
    prependSegment(err, key === undefined ? '[?]' : `[${JSON.stringify(String(key))}]`);
    throw err;
  }
  // Missing key or value means the default (empty string/0/false; empty message).
  const k = key === undefined ? defaultMapKey(f.keyKind) : String(key);
  if (value === undefined) value = defaultValue(f);
  setKey(map, k, value);
}

/** Assigns without letting a "__proto__" key from the wire replace the object's prototype. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

const mapKeyFields = new WeakMap<FieldDesc, FieldDesc>();
/** A FieldDesc for a map's key, so the scalar reader can be reused for it. */
function mapKeyField(f: FieldDesc): FieldDesc {
  let k = mapKeyFields.get(f);
  if (!k) {
    const kind = f.keyKind;
    const wireType = kind === K_STRING ? WIRE_LEN : kind === K_FIXED64 || kind === K_SFIXED64 ? 1 : kind === K_FIXED32 || kind === K_SFIXED32 ? 5 : 0;
    k = { ...f, kind, typeIndex: -1, map: false, keyKind: 0, wireType, name: f.name + ' key' };
    mapKeyFields.set(f, k);
  }
  return k;
}

/**
 * A map key as the object key it becomes. 64-bit keys are printed exactly from their bits
 * (a key is a string anyway, so there is no reason to round it through a double).
 */
function readMapKey(k: FieldDesc, r: WireReader): string {
  switch (k.kind) {
    case K_INT64: case K_SFIXED64: case K_UINT64: case K_FIXED64: case K_SINT64: {
      const lo = k.kind === K_INT64 || k.kind === K_UINT64 || k.kind === K_SINT64 ? r.varint64() : r.fixed64();
      let bits = (BigInt(r.hi) << 32n) | BigInt(lo);
      if (k.kind === K_SINT64) bits = (bits >> 1n) ^ -(bits & 1n);
      else if (k.kind !== K_UINT64 && k.kind !== K_FIXED64) bits = BigInt.asIntN(64, bits);
      return bits.toString();
    }
    default:
      return String(readScalar(k, r));
  }
}

function defaultMapKey(kind: number): string {
  return kind === K_STRING ? '' : kind === K_BOOL ? 'false' : '0';
}

function defaultValue(f: FieldDesc): unknown {
  switch (f.kind) {
    case K_MESSAGE: {
      const sub = messageAt(f.typeIndex);
      // An empty message in its JSON form: wrappers/durations/timestamps have zero values.
      if (sub.wkt === WKT_NONE || sub.wkt === WKT_ANY) return {};
      const r = new WireReader(new Uint8Array(0));
      return decodeValue(sub, r, 0);
    }
    case K_STRING: return '';
    case K_BYTES: return new Uint8Array(0);
    case K_BOOL: return false;
    case K_ENUM: {
      const e = enumAt(f.typeIndex);
      return e.isNullValue ? null : (e.names.get(0) ?? 0);
    }
    default: return 0;
  }
}

function readScalar(f: FieldDesc, r: WireReader): unknown {
  switch (f.kind) {
    case K_STRING: return share(r.string());
    case K_INT32: return r.varint32() | 0;
    case K_UINT32: return r.varint32();
    case K_BOOL: return r.varint64() !== 0 || r.hi !== 0;
    case K_ENUM: {
      const n = r.varint32() | 0;
      const e = enumAt(f.typeIndex);
      if (e.isNullValue) return null; // NullValue's JSON form (CEL constants use it)
      // Unknown numbers are kept as numbers, so a newer control plane's value is visible.
      return e.names.get(n) ?? n;
    }
    case K_INT64: { const lo = r.varint64(); return int64ToNumber(lo, r.hi); }
    case K_UINT64: { const lo = r.varint64(); return uint64ToNumber(lo, r.hi); }
    case K_SINT32: { const v = r.varint32(); return (v >>> 1) ^ -(v & 1); }
    case K_SINT64: { const lo = r.varint64(); return sint64ToNumber(lo, r.hi); }
    case K_DOUBLE: return r.double();
    case K_FLOAT: return r.float();
    case K_FIXED32: return r.fixed32();
    case K_SFIXED32: return r.fixed32() | 0;
    case K_FIXED64: { const lo = r.fixed64(); return uint64ToNumber(lo, r.hi); }
    case K_SFIXED64: { const lo = r.fixed64(); return int64ToNumber(lo, r.hi); }
    case K_BYTES: return r.bytes();
    default: return r.fail(`field ${f.number} has no scalar kind`);
  }
}

/**
 * Walks the raw fields of the current region, handing each to `onField`; fields it declines
 * (returns false) are skipped. Used by the well-known types, whose few fields are read by hand.
 */
function readFieldsRaw(r: WireReader, onField: (no: number, wt: number, tagAt: number) => boolean, depth: number): void {
  while (r.pos < r.limit) {
    const tagAt = r.pos;
    const tag = r.varint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) r.fail('field number 0', tagAt);
    if (!onField(no, wt, tagAt)) r.skip(wt, no, depth);
  }
}

function expectWire(r: WireReader, wt: number, want: number, what: string, at: number): void {
  if (wt !== want) r.fail(`wire type ${wt} does not fit ${what} (expected ${want})`, at);
}

function secondsNanos(r: WireReader, what: string, format: (s: number, n: number) => string | { error: string }): string {
  let seconds = 0;
  let nanos = 0;
  const start = r.pos;
  readFieldsRaw(r, (no, wt, at) => {
    if (no === 1) {
      expectWire(r, wt, 0, `${what}.seconds`, at);
      const lo = r.varint64();
      seconds = int64ToNumber(lo, r.hi);
    } else if (no === 2) {
      expectWire(r, wt, 0, `${what}.nanos`, at);
      nanos = r.varint32() | 0;
    } else return false;
    return true;
  }, 0);
  const s = format(seconds, nanos);
  return typeof s === 'string' ? s : r.fail(s.error, start);
}

function decodeWrapper(desc: MessageDesc, r: WireReader, depth: number): unknown {
  const f = desc.byNumber.get(1)!;
  let value: unknown;
  readFieldsRaw(r, (no, wt, at) => {
    if (no !== 1) return false;
    if (wt !== f.wireType) wrongWireType(r, f, wt, at);
    value = readScalar(f, r);
    return true;
  }, depth);
  // An empty wrapper is present with the default value: that presence is the point of wrappers.
  return value === undefined ? defaultValue(f) : value;
}

function decodeStruct(r: WireReader, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  readFieldsRaw(r, (no, wt, at) => {
    if (no !== 1) return false;
    expectWire(r, wt, WIRE_LEN, 'Struct.fields', at);
    let key = '';
    let value: unknown = null;
    try {
      withRegion(r, depth, () => readFieldsRaw(r, (eno, ewt, eat) => {
        if (eno === 1) {
          expectWire(r, ewt, WIRE_LEN, 'Struct.fields key', eat);
          key = share(r.string());
        } else if (eno === 2) {
          expectWire(r, ewt, WIRE_LEN, 'Struct.fields value', eat);
          value = withRegion(r, depth + 1, () => decodeJsonValue(r, depth + 2));
        } else return false;
        return true;
      }, depth + 1));
    } catch (err) {
      prependSegment(err, key);
      throw err;
    }
    setKey(out, key, value);
    return true;
  }, depth);
  return out;
}

function decodeListValue(r: WireReader, depth: number): unknown[] {
  const out: unknown[] = [];
  readFieldsRaw(r, (no, wt, at) => {
    if (no !== 1) return false;
    expectWire(r, wt, WIRE_LEN, 'ListValue.values', at);
    try {
      out.push(withRegion(r, depth, () => decodeJsonValue(r, depth + 1)));
    } catch (err) {
      prependSegment(err, `[${out.length}]`);
      throw err;
    }
    return true;
  }, depth);
  return out.slice(); // exact size: see trimLists
}

/** google.protobuf.Value: the last kind on the wire wins; no kind at all reads as null. */
function decodeJsonValue(r: WireReader, depth: number): unknown {
  if (depth > MAX_DEPTH) r.fail(`nesting deeper than ${MAX_DEPTH} levels`);
  let value: unknown = null;
  readFieldsRaw(r, (no, wt, at) => {
    switch (no) {
      case 1: expectWire(r, wt, 0, 'Value.null_value', at); r.varint64(); value = null; return true;
      case 2: expectWire(r, wt, 1, 'Value.number_value', at); value = r.double(); return true;
      case 3: expectWire(r, wt, WIRE_LEN, 'Value.string_value', at); value = share(r.string()); return true;
      case 4: expectWire(r, wt, 0, 'Value.bool_value', at); value = r.varint64() !== 0 || r.hi !== 0; return true;
      case 5: expectWire(r, wt, WIRE_LEN, 'Value.struct_value', at); value = withRegion(r, depth, () => decodeStruct(r, depth + 1)); return true;
      case 6: expectWire(r, wt, WIRE_LEN, 'Value.list_value', at); value = withRegion(r, depth, () => decodeListValue(r, depth + 1)); return true;
      default: return false;
    }
  }, depth);
  return value;
}

/** The body of a google.protobuf.Any: { '@type', ...fields } when the type is known. */
function decodeAnyBody(r: WireReader, depth: number): Record<string, unknown> {
  let typeUrl: string | undefined;
  let valueStart = -1;
  let valueEnd = -1;
  readFieldsRaw(r, (no, wt, at) => {
    if (no === 1) {
      expectWire(r, wt, WIRE_LEN, 'Any.type_url', at);
      typeUrl = share(r.string());
    } else if (no === 2) {
      expectWire(r, wt, WIRE_LEN, 'Any.value', at);
      const end = r.lengthEnd();
      valueStart = r.pos;
      valueEnd = end;
      r.pos = end;
    } else return false;
    return true;
  }, depth);
  // An empty type_url or value on the wire is the default, read as absent (as for any proto3
  // scalar): an Any holding only those re-encodes to no bytes, so it must decode as the empty one.
  if (!typeUrl && valueEnd <= valueStart) return {};
  const url = typeUrl ?? '';
  const saved = { pos: r.pos, limit: r.limit };
  const inner = findMessage(typeNameOfUrl(url));
  if (!inner) {
    // Unknown type: keep the bytes so the value survives a decode/encode round trip.
    return { '@type': url, '@bytes': valueStart < 0 ? new Uint8Array(0) : new Uint8Array(r.buf.subarray(valueStart, valueEnd)) };
  }
  r.pos = valueStart < 0 ? 0 : valueStart;
  r.limit = valueStart < 0 ? 0 : valueEnd;
  let value: unknown;
  try {
    value = decodeValue(inner, r, depth + 1);
  } catch (err) {
    prependSegment(err, `<${inner.fullName.slice(inner.fullName.lastIndexOf('.') + 1)}>`);
    throw err;
  }
  r.pos = saved.pos;
  r.limit = saved.limit;
  // Well-known types with their own JSON form (Any included) go under "value", as the JSON
  // mapping specifies; other messages spread their fields beside "@type".
  if (inner.wkt !== WKT_NONE) return { '@type': url, value };
  return { '@type': url, ...(value as Record<string, unknown>) };
}


/** Decodes `bytes` as `desc` from the top. */
export function decodeTop(desc: MessageDesc, bytes: Uint8Array): unknown {
  const r = new WireReader(bytes);
  return decodeValue(desc, r, 0);
}
