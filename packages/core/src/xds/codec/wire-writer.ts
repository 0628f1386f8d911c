// Protobuf wire primitives into one growable buffer. A nested message's length is not known
// until it has been written, so beginLength() reserves one byte and endLength() writes the
// real varint there, shifting the body right in the rare case (body >= 128 bytes) that the
// prefix needs more room. That keeps encoding single-pass with no per-message allocation.

const utf8 = new TextEncoder();
const TWO_32 = 4294967296;

export class WireWriter {
  buf: Uint8Array;
  pos = 0;
  private view: DataView | undefined;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
  }

  /** The bytes written so far (a copy sized exactly, so the big scratch buffer is not kept alive). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = undefined;
  }

  tag(fieldNumber: number, wireType: number): void {
    this.uint32(((fieldNumber << 3) | wireType) >>> 0);
  }

  /** An unsigned 32-bit varint. */
  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** A 64-bit varint from two uint32 halves (negative int32/int64 take all 10 bytes). */
  varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0 || lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  fixed32(value: number): void {
    this.ensure(4);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = value & 0xff;
    buf[p + 1] = (value >>> 8) & 0xff;
    buf[p + 2] = (value >>> 16) & 0xff;
    buf[p + 3] = (value >>> 24) & 0xff;
    this.pos = p + 4;
  }

  fixed64(lo: number, hi: number): void {
    this.fixed32(lo);
    this.fixed32(hi);
  }

  float(value: number): void {
    this.ensure(4);
    this.dataView().setFloat32(this.pos, value, true);
    this.pos += 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.dataView().setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  string(value: string): void {
    const n = value.length;
    if (n < 0x80) {
      // Short strings: try the ASCII fast path with a one-byte length prefix.
      this.ensure(1 + n);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    // General case: UTF-8 is at most 3 bytes per UTF-16 unit.
    const start = this.beginLength();
    this.ensure(n * 3);
    const { written } = utf8.encodeInto(value, this.buf.subarray(this.pos));
    this.pos += written;
    this.endLength(start);
  }

  /** Reserves a one-byte length prefix; returns where the body starts. */
  beginLength(): number {
    this.ensure(1);
    this.pos += 1;
    return this.pos;
  }

  /** Writes the length of the body that started at `start`, widening the prefix if needed. */
  endLength(start: number): void {
    const len = this.pos - start;
    if (len < 0x80) {
      this.buf[start - 1] = len;
      return;
    }
    let size = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(start + size - 1, start, this.pos);
    let p = start - 1;
    let v = len;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += size - 1;
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }
}

/** Splits an integer-valued number into two's-complement uint32 halves. */
export function splitInt64(value: number): [lo: number, hi: number] {
  const abs = Math.abs(value);
  let lo = abs % TWO_32 >>> 0;
  let hi = Math.floor(abs / TWO_32) >>> 0;
  if (value < 0) {
    lo = (~lo + 1) >>> 0;
    hi = ~hi >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  }
  return [lo, hi];
}

/** Splits a bigint (taken modulo 2^64) into uint32 halves. */
export function splitBigInt64(value: bigint): [lo: number, hi: number] {
  const u = BigInt.asUintN(64, value);
  return [Number(u & 0xffffffffn), Number(u >> 32n)];
}
