// Runtime view of the generated table (schema.gen.ts). Each type's descriptor string is
// expanded into field objects the first time that type is encoded or decoded, so importing the
// codec evaluates only string literals and a node that never sees, say, RBAC never pays for it.

import { TYPE_DEFS, TYPE_NAMES } from './schema.gen.ts';

// Scalar kinds, numbered so the codec can switch on small integers.
export const K_DOUBLE = 1;
export const K_FLOAT = 2;
export const K_INT64 = 3;
export const K_UINT64 = 4;
export const K_INT32 = 5;
export const K_FIXED64 = 6;
export const K_FIXED32 = 7;
export const K_BOOL = 8;
export const K_STRING = 9;
export const K_BYTES = 10;
export const K_UINT32 = 11;
export const K_SFIXED32 = 12;
export const K_SFIXED64 = 13;
export const K_SINT32 = 14;
export const K_SINT64 = 15;
export const K_ENUM = 16;
export const K_MESSAGE = 17;

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const SCALAR_LETTERS: Record<string, number> = {
  d: K_DOUBLE, f: K_FLOAT, l: K_INT64, L: K_UINT64, i: K_INT32, X: K_FIXED64, x: K_FIXED32,
  b: K_BOOL, s: K_STRING, y: K_BYTES, u: K_UINT32, g: K_SFIXED32, G: K_SFIXED64, z: K_SINT32, Z: K_SINT64,
};

/** Kind names as protobuf spells them, for the schema check and error messages. */
export const KIND_NAMES: readonly string[] = [
  '', 'double', 'float', 'int64', 'uint64', 'int32', 'fixed64', 'fixed32', 'bool', 'string', 'bytes',
  'uint32', 'sfixed32', 'sfixed64', 'sint32', 'sint64', 'enum', 'message',
];

/** The wire type a single (unpacked) value of each kind travels as. */
export function wireTypeOf(kind: number): number {
  switch (kind) {
    case K_DOUBLE: case K_FIXED64: case K_SFIXED64: return WIRE_FIXED64;
    case K_FLOAT: case K_FIXED32: case K_SFIXED32: return WIRE_FIXED32;
    case K_STRING: case K_BYTES: case K_MESSAGE: return WIRE_LEN;
    default: return WIRE_VARINT;
  }
}

// Well-known types with a special JSON mapping (everything else maps field by field).
export const WKT_NONE = 0;
export const WKT_ANY = 1;
export const WKT_DURATION = 2;
export const WKT_TIMESTAMP = 3;
export const WKT_STRUCT = 4;
export const WKT_VALUE = 5;
export const WKT_LIST_VALUE = 6;
export const WKT_FIELD_MASK = 7;
/** google.protobuf.*Value wrappers: JSON is the bare wrapped value. */
export const WKT_WRAPPER = 8;

const WKT_BY_NAME: Record<string, number> = {
  'google.protobuf.Any': WKT_ANY,
  'google.protobuf.Duration': WKT_DURATION,
  'google.protobuf.Timestamp': WKT_TIMESTAMP,
  'google.protobuf.Struct': WKT_STRUCT,
  'google.protobuf.Value': WKT_VALUE,
  'google.protobuf.ListValue': WKT_LIST_VALUE,
  'google.protobuf.FieldMask': WKT_FIELD_MASK,
  'google.protobuf.DoubleValue': WKT_WRAPPER,
  'google.protobuf.FloatValue': WKT_WRAPPER,
  'google.protobuf.Int64Value': WKT_WRAPPER,
  'google.protobuf.UInt64Value': WKT_WRAPPER,
  'google.protobuf.Int32Value': WKT_WRAPPER,
  'google.protobuf.UInt32Value': WKT_WRAPPER,
  'google.protobuf.BoolValue': WKT_WRAPPER,
  'google.protobuf.StringValue': WKT_WRAPPER,
  'google.protobuf.BytesValue': WKT_WRAPPER,
};

export interface FieldDesc {
  readonly number: number;
  /** The proto3 JSON name (lowerCamelCase), the key in the in-memory object. */
  readonly name: string;
  /** Element kind; for a map, the value's kind. */
  readonly kind: number;
  /** Message/enum type index for K_MESSAGE/K_ENUM (a map's value type), else -1. */
  readonly typeIndex: number;
  readonly repeated: boolean;
  /** Repeated scalars written packed (proto3's default for numeric kinds). */
  readonly packed: boolean;
  readonly map: boolean;
  /** A map's key kind, else 0. */
  readonly keyKind: number;
  /** Index into MessageDesc.oneofs, or -1. */
  readonly oneof: number;
  /** Whether a default value is still written when set (oneof members, proto3 `optional`). */
  readonly explicitPresence: boolean;
  /** Wire type of one element (WIRE_LEN for maps and messages). */
  readonly wireType: number;
}

export interface MessageDesc {
  readonly index: number;
  readonly fullName: string;
  /** Ordered by field number: the order fields are written in. */
  readonly fields: readonly FieldDesc[];
  readonly byNumber: ReadonlyMap<number, FieldDesc>;
  readonly byName: ReadonlyMap<string, FieldDesc>;
  readonly oneofs: readonly string[];
  /** Per oneof, its member fields. */
  readonly oneofMembers: readonly (readonly FieldDesc[])[];
  /** Names of the repeated (not map) fields: the decoder trims their arrays once a message is read. */
  readonly lists: readonly string[];
  readonly wkt: number;
}

export interface EnumDesc {
  readonly index: number;
  readonly fullName: string;
  /** Number to name; with aliases, the first name declared. */
  readonly names: ReadonlyMap<number, string>;
  readonly numbers: ReadonlyMap<string, number>;
  /** Names in declaration order, with their numbers (for the schema check). */
  readonly values: readonly (readonly [string, number])[];
  /** google.protobuf.NullValue, whose JSON form is null rather than a name. */
  readonly isNullValue: boolean;
}

const messages: (MessageDesc | undefined)[] = [];
const enums: (EnumDesc | undefined)[] = [];
let indexByName: Map<string, number> | undefined;

export const typeCount = (): number => TYPE_NAMES.length;

/** Index of a full type name (no leading dot), or -1 if the table does not hold it. */
export function typeIndexOf(fullName: string): number {
  if (!indexByName) indexByName = new Map(TYPE_NAMES.map((n, i) => [n, i]));
  return indexByName.get(fullName) ?? -1;
}

export function isEnumIndex(index: number): boolean {
  return TYPE_DEFS[index]?.startsWith('!') ?? false;
}

export function isMessageIndex(index: number): boolean {
  const def = TYPE_DEFS[index];
  return def !== undefined && !def.startsWith('!');
}

/** The message descriptor at `index`, expanded on first use. */
export function messageAt(index: number): MessageDesc {
  let desc = messages[index];
  if (!desc) {
    const def = TYPE_DEFS[index];
    const name = TYPE_NAMES[index];
    if (def === undefined || name === undefined || def.startsWith('!')) throw new Error(`schema: no message at index ${index}`);
    desc = expandMessage(index, name, def);
    messages[index] = desc;
  }
  return desc;
}

/** The enum descriptor at `index`, expanded on first use. */
export function enumAt(index: number): EnumDesc {
  let desc = enums[index];
  if (!desc) {
    const def = TYPE_DEFS[index];
    const name = TYPE_NAMES[index];
    if (def === undefined || name === undefined || !def.startsWith('!')) throw new Error(`schema: no enum at index ${index}`);
    desc = expandEnum(index, name, def);
    enums[index] = desc;
  }
  return desc;
}

/** The message descriptor for a full type name, or undefined if the table lacks it. */
export function findMessage(fullName: string): MessageDesc | undefined {
  const i = typeIndexOf(fullName);
  return i >= 0 && isMessageIndex(i) ? messageAt(i) : undefined;
}

/** "type.googleapis.com/envoy.config.listener.v3.Listener" → "envoy.config.listener.v3.Listener". */
export function typeNameOfUrl(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

export function typeNameAt(index: number): string {
  return TYPE_NAMES[index] ?? `#${index}`;
}

function expandMessage(index: number, fullName: string, def: string): MessageDesc {
  const bar = def.indexOf('|');
  const fieldPart = bar < 0 ? def : def.slice(0, bar);
  const oneofs = bar < 0 ? [] : def.slice(bar + 1).split(',');
  const fields: FieldDesc[] = [];
  if (fieldPart !== '') for (const spec of fieldPart.split(' ')) fields.push(parseField(spec, fullName));
  const oneofMembers: FieldDesc[][] = oneofs.map(() => []);
  for (const f of fields) if (f.oneof >= 0) oneofMembers[f.oneof]?.push(f);
  return {
    index,
    fullName,
    fields,
    byNumber: new Map(fields.map((f) => [f.number, f])),
    byName: new Map(fields.map((f) => [f.name, f])),
    oneofs,
    oneofMembers,
    lists: fields.filter((f) => f.repeated && !f.map).map((f) => f.name),
    wkt: WKT_BY_NAME[fullName] ?? WKT_NONE,
  };
}

/** Parses "<number>,<jsonName>,<kind>[*|#][~<oneof>][?]" (see the generator's header). */
function parseField(spec: string, owner: string): FieldDesc {
  const c1 = spec.indexOf(',');
  const c2 = spec.indexOf(',', c1 + 1);
  const number = Number(spec.slice(0, c1));
  const name = spec.slice(c1 + 1, c2);
  let p = c2 + 1;
  let map = false;
  let keyKind = 0;
  if (spec[p] === 'M') {
    map = true;
    keyKind = SCALAR_LETTERS[spec[p + 1] ?? ''] ?? 0;
    p += 2;
  }
  const letter = spec[p++] ?? '';
  let kind: number;
  let typeIndex = -1;
  if (letter === 'm' || letter === 'e') {
    kind = letter === 'm' ? K_MESSAGE : K_ENUM;
    const start = p;
    while (p < spec.length && spec.charCodeAt(p) >= 48 && spec.charCodeAt(p) <= 57) p++;
    typeIndex = Number(spec.slice(start, p));
  } else {
    kind = SCALAR_LETTERS[letter] ?? 0;
  }
  let repeated = false;
  let packed = false;
  let oneof = -1;
  let optional = false;
  while (p < spec.length) {
    const ch = spec[p++];
    if (ch === '*' || ch === '#') {
      repeated = true;
      packed = ch === '*' && kind !== K_STRING && kind !== K_BYTES && kind !== K_MESSAGE;
    } else if (ch === '~') {
      const start = p;
      while (p < spec.length && spec.charCodeAt(p) >= 48 && spec.charCodeAt(p) <= 57) p++;
      oneof = Number(spec.slice(start, p));
    } else if (ch === '?') {
      optional = true;
    }
  }
  if (!kind || !Number.isInteger(number) || (map && !keyKind)) throw new Error(`schema: bad field spec "${spec}" in ${owner}`);
  return {
    number,
    name,
    kind,
    typeIndex,
    repeated,
    packed,
    map,
    keyKind,
    oneof,
    explicitPresence: oneof >= 0 || optional,
    wireType: map ? WIRE_LEN : wireTypeOf(kind),
  };
}

function expandEnum(index: number, fullName: string, def: string): EnumDesc {
  const names = new Map<number, string>();
  const numbers = new Map<string, number>();
  const values: [string, number][] = [];
  let next = 0;
  for (const part of def.slice(1).split(',')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const num = eq < 0 ? next : Number(part.slice(eq + 1));
    if (!names.has(num)) names.set(num, name);
    numbers.set(name, num);
    values.push([name, num]);
    next = num + 1;
  }
  return { index, fullName, names, numbers, values, isNullValue: fullName === 'google.protobuf.NullValue' };
}
