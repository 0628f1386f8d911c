// Bounds-checked reading of protobuf wire primitives. Every read checks against `limit`, the
// end of the innermost length-delimited region being decoded, so a lying length can never
// make a nested message read its parent's bytes, and nothing allocates based on a length
// before checking the bytes are really there. Failures throw CodecFailure, which the API
// boundary turns into a DecodeError result.

import { CodecFailure } from './errors.ts';
import { WIRE_END_GROUP, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_START_GROUP, WIRE_VARINT } from './schema.ts';

// Non-fatal: invalid UTF-8 becomes U+FFFD rather than failing the whole resource (as protobufjs
// and grpc-js-xds do). ignoreBOM keeps a leading U+FEFF that is part of the string's value.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const TWO_32 = 4294967296;

export class WireReader {
  readonly buf: Uint8Array;
  pos = 0;
  /** End of the region currently being read. */
  limit: number;
  /** High 32 bits of the last varint64/fixed64 read (low bits are returned). */
  hi = 0;
  private view: DataView | undefined;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.limit = buf.length;
  }

  fail(detail: string, at = this.pos): never {
    throw new CodecFailure(detail, at);
  }

  /** A varint's low 32 bits (as a uint32); higher bits are consumed and dropped. */
  varint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    // Fast path: one byte (tags, small lengths, booleans, small enums).
    if (pos < this.limit) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.limit) this.fail('truncated varint', this.pos);
      const b = buf[pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    return this.fail('varint longer than 10 bytes', this.pos);
  }

  /** A full 64-bit varint: returns the low 32 bits (uint32) and leaves the high 32 in `hi`. */
  varint64(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.limit) this.fail('truncated varint', this.pos);
      const b = buf[pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (i * 7);
      else if (i === 4) {
        // Bits 28..34: four go to lo, three to hi.
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (i * 7 - 32);
      if (b < 0x80) {
        this.pos = pos;
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    return this.fail('varint longer than 10 bytes', this.pos);
  }

  fixed32(): number {
    if (this.pos + 4 > this.limit) this.fail('truncated fixed32');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** Little-endian 64 bits: returns the low 32 bits and leaves the high 32 in `hi`. */
  fixed64(): number {
    if (this.pos + 8 > this.limit) this.fail('truncated fixed64');
    const lo = this.fixed32();
    this.hi = this.fixed32();
    return lo;
  }

  float(): number {
    if (this.pos + 4 > this.limit) this.fail('truncated float');
    const v = this.dataView().getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.limit) this.fail('truncated double');
    const v = this.dataView().getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the end offset of the region it announces. */
  lengthEnd(): number {
    const start = this.pos;
    const len = this.varint32();
    // varint32 drops high bits, so re-check a 5+ byte prefix did not encode >= 2^32.
    if (this.pos - start > 5 || (this.pos - start === 5 && this.buf[start + 4]! > 0x0f)) this.fail('length prefix too large', start);
    const end = this.pos + len;
    if (end > this.limit) this.fail(`length ${len} runs past the end of the enclosing data (${this.limit - this.pos} bytes left)`, start);
    return end;
  }

  /**
   * A length-delimited byte string, copied so the result never aliases the input buffer, and
   * always a plain Uint8Array (Buffer#slice would alias, and return a Buffer).
   */
  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const out = new Uint8Array(this.buf.subarray(this.pos, end));
    this.pos = end;
    return out;
  }

  /**
   * A length-delimited byte string as a view of the input, no copy: for a discovery response's
   * resources, which at 10k resources would otherwise be 10k young allocations to copy and
   * collect. What keeps a view keeps the whole response buffer, which the client holds anyway
   * while any resource in it is current.
   */
  alias(): Uint8Array {
    const end = this.lengthEnd();
    const b = this.buf;
    const out = new Uint8Array(b.buffer, b.byteOffset + this.pos, end - this.pos);
    this.pos = end;
    return out;
  }

  string(): string {
    const end = this.lengthEnd();
    const buf = this.buf;
    let pos = this.pos;
    // Very short ASCII strings are cheaper to build by hand than to hand to TextDecoder; anything
    // else goes to TextDecoder. Not past 12 characters: from 13 on, V8 makes each `+=` a cons
    // string pointing at the previous one, so a 24-character name was a chain of 12 objects,
    // kept for as long as the decoded resource was.
    if (end - pos <= 12) {
      let s = '';
      for (; pos < end; pos++) {
        const c = buf[pos]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (pos === end) {
        this.pos = end;
        return s;
      }
      pos = this.pos;
    }
    this.pos = end;
    return utf8.decode(buf.subarray(pos, end));
  }

  /** Skips one field's value of wire type `wireType` (an unknown field). */
  skip(wireType: number, fieldNumber: number, depth: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.limit) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.limit) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      case WIRE_START_GROUP: {
        // proto2 groups never appear in Envoy's proto3 API, but a well-formed one is still
        // skippable; its nesting counts against the same depth limit as messages.
        if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
        for (;;) {
          if (this.pos >= this.limit) this.fail(`unterminated group ${fieldNumber}`);
          const tag = this.varint32();
          const wt = tag & 7;
          if (wt === WIRE_END_GROUP) {
            if (tag >>> 3 !== fieldNumber) this.fail(`group ${fieldNumber} closed by end-group ${tag >>> 3}`);
            return;
          }
          this.skip(wt, tag >>> 3, depth + 1);
        }
      }
      case WIRE_END_GROUP:
        return this.fail(`unexpected end-group tag for field ${fieldNumber}`);
      default:
        return this.fail(`invalid wire type ${wireType} for field ${fieldNumber}`);
    }
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }
}

/** How deep messages (Any and Struct included) may nest before decoding gives up. */
export const MAX_DEPTH = 100;

/** Two's-complement 64-bit value (lo, hi as uint32) to a JS number; exact up to 2^53. */
export function int64ToNumber(lo: number, hi: number): number {
  if (hi & 0x80000000) {
    // Negate: ~x + 1 across both halves.
    let nlo = (~lo + 1) >>> 0;
    let nhi = ~hi >>> 0;
    if (nlo === 0) nhi = (nhi + 1) >>> 0;
    return -(nhi * TWO_32 + nlo);
  }
  return hi * TWO_32 + lo;
}

export function uint64ToNumber(lo: number, hi: number): number {
  return hi * TWO_32 + lo;
}

/** ZigZag-decoded 64-bit value to a JS number. */
export function sint64ToNumber(lo: number, hi: number): number {
  const sign = -(lo & 1);
  const zlo = ((lo >>> 1) | (hi << 31)) ^ sign;
  const zhi = (hi >>> 1) ^ sign;
  return int64ToNumber(zlo >>> 0, zhi >>> 0);
}
