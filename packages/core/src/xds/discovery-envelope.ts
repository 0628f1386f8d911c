// The outer layer of ADS messages, read without decoding the resources inside. A response is
// split into its envelope fields and one raw (type URL, bytes) pair per resource, so each
// resource is decoded and validated on its own: one undecodable Listener is NACKed by name
// while its siblings in the same response still apply (gRFC A46), instead of one bad byte
// failing the whole response. Requests, which carry no resources, go through the codec whole.
//
// Field numbers are envoy/service/discovery/v3/discovery.proto's; the codec's schema test
// checks the same protos, and these few are repeated here because this reader skips the codec.

import { CodecFailure } from './codec/errors.ts';
import { WireReader } from './codec/wire-reader.ts';
import { WireWriter } from './codec/wire-writer.ts';
import { WIRE_LEN } from './codec/schema.ts';
import { decodeMessage, encodeMessage, type DecodeResult } from './codec/index.ts';

export const DISCOVERY_REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';
export const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
export const DELTA_DISCOVERY_REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
export const DELTA_DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';

/** One resource still in wire form: the Any's type URL and value bytes. */
export interface RawResource {
  readonly typeUrl: string;
  readonly bytes: Uint8Array;
  /** Delta only: the name and version the envelope gives. */
  readonly name?: string;
  readonly version?: string;
}

/**
 * A SotW response's resources as where they lie in its bytes: no object per resource until one
 * is asked for. A resend of 10k assignments, nearly all held already, is compared span by span
 * with what the client holds (one native compare each) and leaves nothing per resource behind
 * for the garbage collector, where a view and an object each were 20k young objects per push
 * that lived until the response was handled.
 */
export class ResourceSpans {
  /** The response's bytes, as a Buffer (compare with offsets, no view made). */
  readonly whole: Buffer;
  #length = 0;
  /**
   * Per resource, in sixes: where its Any field starts and ends, where its type URL starts and
   * ends (read when asked for: a resource found unchanged by runs never needs it), where its
   * value starts and ends. A typed array: off the JS heap, nothing for the collector to visit
   * (responses are far below 2 GiB).
   */
  #bounds = new Int32Array(6 * 64);

  constructor(bytes: Uint8Array) {
    this.whole = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.#length;
  }

  /** Adds a resource; returns how many there are now. */
  push(fieldStart: number, fieldEnd: number, typeStart: number, typeEnd: number, start: number, end: number): number {
    let b = this.#bounds;
    const at = 6 * this.#length;
    if (at + 6 > b.length) {
      b = new Int32Array(2 * b.length);
      b.set(this.#bounds);
      this.#bounds = b;
    }
    b[at] = fieldStart;
    b[at + 1] = fieldEnd;
    b[at + 2] = typeStart;
    b[at + 3] = typeEnd;
    b[at + 4] = start;
    b[at + 5] = end;
    return ++this.#length;
  }

  typeUrlAt(i: number): string {
    return typeUrlIn(this.whole, this.#bounds[6 * i + 2]!, this.#bounds[6 * i + 3]!);
  }

  startAt(i: number): number {
    return this.#bounds[6 * i + 4]!;
  }

  endAt(i: number): number {
    return this.#bounds[6 * i + 5]!;
  }

  /**
   * How many leading and trailing resources are byte for byte those of `previous` (a resend of
   * the same type), each Any whole, type URL included: found by comparing runs of bytes (a few
   * native compares over at most twice the response), not resource by resource — a SotW EDS
   * push resends every assignment of the mesh for one that changed. Leading resource i is
   * previous's i; trailing one i is previous's i - length + previous.length.
   */
  sameEnds(previous: ResourceSpans): { head: number; tail: number } {
    const n = this.length;
    const m = previous.length;
    if (n === 0 || m === 0) return { head: 0, tail: 0 };
    const nb = this.#bounds;
    const ob = previous.#bounds;
    const ns = nb[0]!;
    const os = ob[0]!;
    const ne = nb[6 * n - 5]!;
    const oe = ob[6 * m - 5]!;
    // Head: the first k Anys are equal when the bytes from the first one's start to the k-th's
    // end are; identical bytes parse alike, so previous's k-th ends at the same offset. Equal
    // up to `lo` resources is known, so each probe compares only the bytes past it.
    let lo = 0;
    let hi = Math.min(n, m);
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const from = lo === 0 ? 0 : nb[6 * lo - 5]! - ns;
      const to = nb[6 * mid - 5]! - ns;
      if (os + to <= oe && this.whole.compare(previous.whole, os + from, os + to, ns + from, ns + to) === 0) lo = mid;
      else hi = mid - 1;
    }
    const head = lo;
    // Tail: bytes alone do not say where previous's Anys start when read from the end, so the
    // k-th from last must also start at the same distance from the end in both.
    lo = 0;
    hi = Math.min(n, m) - head;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const from = ne - nb[6 * (n - mid)]!;
      const to = lo === 0 ? 0 : ne - nb[6 * (n - lo)]!;
      if (oe - ob[6 * (m - mid)]! === from && this.whole.compare(previous.whole, oe - from, oe - to, ne - from, ne - to) === 0) lo = mid;
      else hi = mid - 1;
    }
    return { head, tail: lo };
  }

  /** Resource i's bytes: a view of the response. */
  bytesAt(i: number): Uint8Array {
    const w = this.whole;
    return new Uint8Array(w.buffer, w.byteOffset + this.startAt(i), this.endAt(i) - this.startAt(i));
  }
}

export interface SotwResponseSpans {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: ResourceSpans;
}

export interface DeltaResponseEnvelope {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly RawResource[];
  readonly removedResources: readonly string[];
}

export type EnvelopeResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** google.protobuf.Any, noted as a span of the response. */
function readAnySpan(r: WireReader, into: ResourceSpans, fieldStart: number): number {
  const end = r.lengthEnd();
  const saved = r.limit;
  r.limit = end;
  let typeFrom = 0;
  let typeTo = 0;
  let from = 0;
  let to = 0;
  while (r.pos < end) {
    const tag = r.varint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1 && wt === WIRE_LEN) {
      typeTo = r.lengthEnd();
      typeFrom = r.pos;
      r.pos = typeTo;
    } else if (no === 2 && wt === WIRE_LEN) {
      to = r.lengthEnd();
      from = r.pos;
      r.pos = to;
    } else r.skip(wt, no, 1);
  }
  r.limit = saved;
  return into.push(fieldStart, end, typeFrom, typeTo, from, to);
}

/** google.protobuf.Any: 1 type_url, 2 value. */
function readAny(r: WireReader): { typeUrl: string; bytes: Uint8Array } {
  const end = r.lengthEnd();
  const saved = r.limit;
  r.limit = end;
  let typeUrl = '';
  let bytes: Uint8Array = new Uint8Array(0);
  while (r.pos < end) {
    const tag = r.varint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1 && wt === WIRE_LEN) typeUrl = readTypeUrl(r);
    else if (no === 2 && wt === WIRE_LEN) bytes = r.alias();
    else r.skip(wt, no, 1);
  }
  r.limit = saved;
  return { typeUrl, bytes };
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
let lastTypeUrl = '';
let lastTypeUrlBytes = new Uint8Array(0);

/**
 * An Any's type URL. Every resource of a response carries the same one: compared with the last
 * one read rather than decoded again (10k 80-byte strings per response, otherwise).
 */
function readTypeUrl(r: WireReader): string {
  const end = r.lengthEnd();
  const from = r.pos;
  r.pos = end;
  return typeUrlIn(r.buf, from, end);
}

/** The type URL at [from, end) of `buf` (UTF-8, as WireReader#string reads it: never throws). */
function typeUrlIn(buf: Uint8Array, from: number, end: number): string {
  const known = lastTypeUrlBytes;
  if (end - from === known.length) {
    let i = 0;
    while (i < known.length && buf[from + i] === known[i]) i++;
    if (i === known.length) return lastTypeUrl;
  }
  lastTypeUrl = utf8.decode(buf.subarray(from, end));
  lastTypeUrlBytes = new Uint8Array(buf.subarray(from, end));
  return lastTypeUrl;
}

function failure(what: string, err: unknown): { ok: false; error: string } {
  if (err instanceof CodecFailure) return { ok: false, error: `${what}: ${err.detail} at byte ${err.offset}` };
  return { ok: false, error: `${what}: ${err instanceof Error ? err.message : String(err)}` };
}

/**
 * Resources read between two yields of a stepped envelope read: a 10k-resource response's
 * envelope took 41–56 ms of main-thread CPU read in one go (one small object and one view per
 * resource, and the scavenge that sets off), more than the whole budget of a turn.
 */
const ENVELOPE_STEP = 512;

/** Runs a stepped read to its end (for callers that do not slice their work). */
function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * DiscoveryResponse: 1 version_info, 2 resources (Any), 4 type_url, 5 nonce, its resources as
 * spans (ResourceSpans). Never throws.
 */
export function readSotwResponse(bytes: Uint8Array): EnvelopeResult<SotwResponseSpans> {
  return drain(readSotwSpansSteps(bytes));
}

/** readSotwResponse yielding every ENVELOPE_STEP resources, for a caller that slices its work. */
export function* readSotwSpansSteps(bytes: Uint8Array): Generator<void, EnvelopeResult<SotwResponseSpans>> {
  const r = new WireReader(bytes);
  let versionInfo = '';
  let typeUrl = '';
  let nonce = '';
  const resources = new ResourceSpans(bytes);
  try {
    while (r.pos < r.limit) {
      const fieldStart = r.pos;
      const tag = r.varint32();
      const no = tag >>> 3;
      const wt = tag & 7;
      if (wt === WIRE_LEN && no === 1) versionInfo = r.string();
      else if (wt === WIRE_LEN && no === 2) {
        if (readAnySpan(r, resources, fieldStart) % ENVELOPE_STEP === 0) yield;
      } else if (wt === WIRE_LEN && no === 4) typeUrl = r.string();
      else if (wt === WIRE_LEN && no === 5) nonce = r.string();
      else r.skip(wt, no, 0);
    }
  } catch (err) {
    return failure('DiscoveryResponse', err);
  }
  return { ok: true, value: { versionInfo, typeUrl, nonce, resources } };
}

/** envoy.service.discovery.v3.Resource: 1 version, 2 resource (Any), 3 name. */
function readDeltaResource(r: WireReader): RawResource {
  const end = r.lengthEnd();
  const saved = r.limit;
  r.limit = end;
  let version = '';
  let name = '';
  let any: { typeUrl: string; bytes: Uint8Array } = { typeUrl: '', bytes: new Uint8Array(0) };
  while (r.pos < end) {
    const tag = r.varint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (wt === WIRE_LEN && no === 1) version = r.string();
    else if (wt === WIRE_LEN && no === 2) any = readAny(r);
    else if (wt === WIRE_LEN && no === 3) name = r.string();
    else r.skip(wt, no, 1);
  }
  r.limit = saved;
  return { typeUrl: any.typeUrl, bytes: any.bytes, name, version };
}

/**
 * DeltaDiscoveryResponse: 1 system_version_info, 2 resources, 4 type_url, 5 nonce,
 * 6 removed_resources. Never throws.
 */
export function readDeltaResponse(bytes: Uint8Array): EnvelopeResult<DeltaResponseEnvelope> {
  return drain(readDeltaResponseSteps(bytes));
}

/** readDeltaResponse yielding every ENVELOPE_STEP resources or removed names. */
export function* readDeltaResponseSteps(bytes: Uint8Array): Generator<void, EnvelopeResult<DeltaResponseEnvelope>> {
  const r = new WireReader(bytes);
  let systemVersionInfo = '';
  let typeUrl = '';
  let nonce = '';
  const resources: RawResource[] = [];
  const removedResources: string[] = [];
  try {
    while (r.pos < r.limit) {
      const tag = r.varint32();
      const no = tag >>> 3;
      const wt = tag & 7;
      if (wt === WIRE_LEN && no === 1) systemVersionInfo = r.string();
      else if (wt === WIRE_LEN && no === 2) {
        if (resources.push(readDeltaResource(r)) % ENVELOPE_STEP === 0) yield;
      } else if (wt === WIRE_LEN && no === 4) typeUrl = r.string();
      else if (wt === WIRE_LEN && no === 5) nonce = r.string();
      else if (wt === WIRE_LEN && no === 6) {
        if (removedResources.push(r.string()) % ENVELOPE_STEP === 0) yield;
      } else r.skip(wt, no, 0);
    }
  } catch (err) {
    return failure('DeltaDiscoveryResponse', err);
  }
  return { ok: true, value: { systemVersionInfo, typeUrl, nonce, resources, removedResources } };
}

/**
 * The name inside a resource that failed to decode, read from field 1 — where Listener,
 * RouteConfiguration, Cluster and ClusterLoadAssignment all keep it — so the NACK can still
 * say which resource was bad. Undefined when even that cannot be read.
 */
export function peekResourceName(bytes: Uint8Array): string | undefined {
  const r = new WireReader(bytes);
  try {
    while (r.pos < r.limit) {
      const tag = r.varint32();
      if (tag >>> 3 === 1 && (tag & 7) === WIRE_LEN) return r.string();
      r.skip(tag & 7, tag >>> 3, 0);
    }
  } catch {
    // Garbage bytes: no name to report.
  }
  return undefined;
}

// ---- requests and whole responses, through the codec ----------------------------------------

/** Wire bytes of a DiscoveryRequest / DeltaDiscoveryRequest given in the JSON mapping. */
export function encodeRequest(delta: boolean, request: object): Uint8Array {
  return encodeMessage(delta ? DELTA_DISCOVERY_REQUEST : DISCOVERY_REQUEST, request);
}

/**
 * A SotW DiscoveryRequest's resource_names (field 3) on their own, to append to the rest of a
 * request: fields may come in any order, and a repeated field's entries concatenate. A client
 * repeats the same 10k names in every ACK; encoded once per change of the list, not per request.
 */
export function encodeResourceNames(names: readonly string[]): Uint8Array {
  // Written with the wire writer, not through the schema-driven codec: 10k names through the
  // generic encoder were most of a 20–30 ms turn when CDS brought the EDS subscription.
  const w = new WireWriter(names.length * 48 + 16);
  for (const name of names) {
    w.tag(RESOURCE_NAMES_FIELD, WIRE_LEN);
    w.string(name);
  }
  return w.finish();
}

/** DiscoveryRequest.resource_names. */
const RESOURCE_NAMES_FIELD = 3;

export function decodeRequest(delta: boolean, bytes: Uint8Array): DecodeResult {
  return decodeMessage(delta ? DELTA_DISCOVERY_REQUEST : DISCOVERY_REQUEST, bytes);
}

export function encodeResponse(delta: boolean, response: object): Uint8Array {
  return encodeMessage(delta ? DELTA_DISCOVERY_RESPONSE : DISCOVERY_RESPONSE, response);
}
