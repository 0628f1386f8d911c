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

export interface SotwResponseEnvelope {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly RawResource[];
}

export interface DeltaResponseEnvelope {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly RawResource[];
  readonly removedResources: readonly string[];
}

export type EnvelopeResult<T> = { ok: true; value: T } | { ok: false; error: string };

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

let lastTypeUrl = '';
let lastTypeUrlBytes = new Uint8Array(0);

/**
 * An Any's type URL. Every resource of a response carries the same one: compared with the last
 * one read rather than decoded again (10k 80-byte strings per response, otherwise).
 */
function readTypeUrl(r: WireReader): string {
  const start = r.pos;
  const end = r.lengthEnd();
  const from = r.pos;
  const known = lastTypeUrlBytes;
  if (end - from === known.length) {
    let i = 0;
    while (i < known.length && r.buf[from + i] === known[i]) i++;
    if (i === known.length) {
      r.pos = end;
      return lastTypeUrl;
    }
  }
  r.pos = start;
  lastTypeUrl = r.string();
  lastTypeUrlBytes = new Uint8Array(r.buf.subarray(from, end));
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

/** DiscoveryResponse: 1 version_info, 2 resources (Any), 4 type_url, 5 nonce. Never throws. */
export function readSotwResponse(bytes: Uint8Array): EnvelopeResult<SotwResponseEnvelope> {
  return drain(readSotwResponseSteps(bytes));
}

/** readSotwResponse yielding every ENVELOPE_STEP resources, for a caller that slices its work. */
export function* readSotwResponseSteps(bytes: Uint8Array): Generator<void, EnvelopeResult<SotwResponseEnvelope>> {
  const r = new WireReader(bytes);
  let versionInfo = '';
  let typeUrl = '';
  let nonce = '';
  const resources: RawResource[] = [];
  try {
    while (r.pos < r.limit) {
      const tag = r.varint32();
      const no = tag >>> 3;
      const wt = tag & 7;
      if (wt === WIRE_LEN && no === 1) versionInfo = r.string();
      else if (wt === WIRE_LEN && no === 2) {
        if (resources.push(readAny(r)) % ENVELOPE_STEP === 0) yield;
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
