// The xDS protobuf codec: Envoy v3 messages between wire bytes and the proto3 JSON mapping
// that ../resources.ts describes, driven by a table generated ahead of time from the reference
// .proto files (scripts/gen-xds-codec.ts), so nothing parses .proto files at run time.
//
//   decodeMessage / decodeAny never throw: bad input from a control plane becomes a
//   DecodeError value naming the field, for the ADS client to NACK with.
//   encodeMessage / encodeAny throw EncodeError: their input is our own config.

import { CodecFailure, DecodeError, EncodeError } from './errors.ts';
import { findMessage, typeNameOfUrl, WKT_NONE } from './schema.ts';
import { decodeShared, decodeSharedSteps, decodeTop, decodeValue } from './message-decoder.ts';
import { SharedSubtrees } from './shared-subtrees.ts';
import { encodeAnyValue, encodeTop } from './message-encoder.ts';
import { WireWriter } from './wire-writer.ts';
import { WireReader } from './wire-reader.ts';

export { DecodeError, EncodeError } from './errors.ts';
export { SCHEMA_SOURCE } from './schema.gen.ts';

export type DecodeResult = { ok: true; value: any } | { ok: false; error: DecodeError };

/** A google.protobuf.Any in the JSON mapping: the type URL plus the message's fields. */
export interface AnyJson {
  '@type': string;
  [field: string]: unknown;
}

/** Whether the codec can encode/decode `typeName` (a full message name, or a type URL). */
export function isKnownType(typeName: string): boolean {
  return findMessage(typeNameOfUrl(typeName)) !== undefined;
}

/** Encodes `value` (JSON-mapping shape) as message `typeName`. Throws EncodeError. */
export function encodeMessage(typeName: string, value: object): Uint8Array {
  const desc = findMessage(typeName);
  if (!desc) throw new EncodeError(typeName, '', 'unknown message type');
  try {
    return encodeTop(desc, value);
  } catch (err) {
    throw toEncodeError(typeName, err);
  }
}

/** Decodes `bytes` as message `typeName` into the JSON-mapping shape. Never throws. */
export function decodeMessage(typeName: string, bytes: Uint8Array): DecodeResult {
  const desc = findMessage(typeName);
  if (!desc) return { ok: false, error: new DecodeError(typeName, '', 'unknown message type', 0) };
  try {
    return { ok: true, value: decodeTop(desc, bytes) };
  } catch (err) {
    return { ok: false, error: toDecodeError(typeName, err) };
  }
}

/**
 * Encodes `{ '@type': url, ...fields }` (or `{ '@type': url, '@bytes': bytes }` for a type the
 * codec does not know) into the two parts of a google.protobuf.Any.
 */
export function encodeAny(value: AnyJson): { typeUrl: string; value: Uint8Array } {
  const typeUrl = value?.['@type'];
  if (typeof typeUrl !== 'string' || typeUrl === '') throw new EncodeError('google.protobuf.Any', '', 'an Any needs a "@type" type URL');
  const typeName = typeNameOfUrl(typeUrl);
  const raw = value['@bytes'];
  if (raw instanceof Uint8Array) {
    if (Object.keys(value).some((k) => k !== '@type' && k !== '@bytes')) throw new EncodeError(typeName, '', '"@bytes" Any cannot also have fields');
    return { typeUrl, value: raw };
  }
  const desc = findMessage(typeName);
  if (!desc) throw new EncodeError(typeName, '', `type ${typeUrl} is not in the codec's schema; give its encoded bytes as "@bytes"`);
  try {
    const w = new WireWriter();
    encodeAnyValue(desc, value, w, 0);
    return { typeUrl, value: w.finish() };
  } catch (err) {
    throw toEncodeError(typeName, err);
  }
}

/**
 * Decodes an Any's parts into `{ '@type': typeUrl, ...fields }`. A type the codec does not know
 * is not an error: it comes back as `{ '@type', '@bytes' }` (check isKnownType first if the
 * caller needs a known one). Never throws.
 */
export function decodeAny(typeUrl: string, bytes: Uint8Array): DecodeResult {
  const typeName = typeNameOfUrl(typeUrl);
  const desc = findMessage(typeName);
  if (!desc) return { ok: true, value: { '@type': typeUrl, '@bytes': new Uint8Array(bytes) } };
  try {
    const value = decodeValue(desc, new WireReader(bytes), 1);
    if (desc.wkt !== WKT_NONE) return { ok: true, value: { '@type': typeUrl, value } };
    return { ok: true, value: { '@type': typeUrl, ...(value as object) } };
  } catch (err) {
    return { ok: false, error: toDecodeError(typeName, err) };
  }
}

/** Sub-messages the ADS client's resources share (decodeResourceValue). */
const resourceSubtrees = new SharedSubtrees();

/**
 * decodeAny for a resource that is never changed once decoded (the ADS client's): the message's
 * fields without "@type", where a sub-message equal byte for byte to one decoded recently is
 * that same object, shared with the resources holding it (shared-subtrees.ts). Far fewer
 * objects to hold and to collect at 10k resources. Never throws.
 */
export function decodeResourceValue(typeUrl: string, bytes: Uint8Array): DecodeResult {
  const typeName = typeNameOfUrl(typeUrl);
  const desc = findMessage(typeName);
  if (!desc) return { ok: true, value: { '@bytes': new Uint8Array(bytes) } };
  try {
    const value = decodeShared(desc, bytes, 1, resourceSubtrees);
    return { ok: true, value: desc.wkt !== WKT_NONE ? { value } : value };
  } catch (err) {
    return { ok: false, error: toDecodeError(typeName, err) };
  }
}

/**
 * decodeResourceValue in steps: yields between the elements of the resource's top-level repeated
 * message fields (message-decoder.ts decodeSharedSteps), for a resource too large to decode in
 * one turn of the event loop. The same result as decodeResourceValue. Never throws.
 */
export function* decodeResourceValueSteps(typeUrl: string, bytes: Uint8Array): Generator<void, DecodeResult> {
  const typeName = typeNameOfUrl(typeUrl);
  const desc = findMessage(typeName);
  if (!desc) return { ok: true, value: { '@bytes': new Uint8Array(bytes) } };
  try {
    const value = yield* decodeSharedSteps(desc, bytes, 1, resourceSubtrees);
    return { ok: true, value: desc.wkt !== WKT_NONE ? { value } : value };
  } catch (err) {
    return { ok: false, error: toDecodeError(typeName, err) };
  }
}

function toDecodeError(typeName: string, err: unknown): DecodeError {
  if (err instanceof CodecFailure) return new DecodeError(typeName, err.path(), err.detail, Math.max(err.offset, 0));
  // A bug in the codec, not bad input: still a result (the caller NACKs), with the cause kept.
  const detail = `internal decoder error: ${err instanceof Error ? err.message : String(err)}`;
  return new DecodeError(typeName, '', detail, 0, { cause: err });
}

function toEncodeError(typeName: string, err: unknown): unknown {
  if (err instanceof CodecFailure) return new EncodeError(typeName, err.path(), err.detail);
  return err;
}
