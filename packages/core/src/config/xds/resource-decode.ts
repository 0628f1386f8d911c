// One resource of an ADS response, from wire bytes to a validated value — or to the NACK
// message that names it. Each resource is handled alone, so one bad resource never hides the
// good ones beside it; nothing here throws, since it runs inside the stream's data handler.

import { decodeResourceValue, decodeResourceValueSteps } from '../../xds/codec/index.ts';
import { peekResourceName, type RawResource } from '../../xds/discovery-envelope.ts';
import type { ResourceType } from './resource-types.ts';
import type { ResourceHolder } from './last-response.ts';

/** One resource of a response, decoded and validated (error set when it is not usable). */
export interface ResourceUpdate {
  readonly name: string;
  readonly version: string;
  readonly value: unknown;
  readonly error: string | undefined;
  /** The resource's encoded bytes, kept to recognise it when it comes again. */
  readonly bytes: Uint8Array;
  /** Byte for byte the version the client already holds: not decoded again. */
  readonly unchanged: boolean;
  /** Unchanged and found in place in a SotW resend: what holds it (the handler's own, from holderOf). */
  readonly holder?: ResourceHolder;
}

/**
 * Resources at least this large are decoded in steps (between the elements of their top-level
 * lists): about a millisecond of decoding. Smaller ones, nearly all, in one go.
 */
const STEPPED_DECODE_BYTES = 32 * 1024;

/** Decodes and validates one resource; the name comes from the value, the envelope, or the raw bytes. */
export function decodeResource(type: ResourceType, raw: RawResource, version: string): ResourceUpdate {
  const steps = decodeResourceSteps(type, raw, version);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * decodeResource in steps: a large resource (a sidecar's route table holding 10k virtual hosts)
 * yields within its decoding and validation, so the caller can give the event loop a turn.
 */
export function* decodeResourceSteps(type: ResourceType, raw: RawResource, version: string): Generator<void, ResourceUpdate> {
  const fallbackName = raw.name || peekResourceName(raw.bytes) || '';
  if (raw.typeUrl !== type.typeUrl) {
    return { name: fallbackName, version, value: undefined, error: `${type.kind} ${fallbackName}: resource type ${raw.typeUrl} in a ${type.short} response`, bytes: raw.bytes, unchanged: false };
  }
  // Never changed once decoded, so its sub-messages may be shared with other resources'.
  const decoded = raw.bytes.byteLength >= STEPPED_DECODE_BYTES ? yield* decodeResourceValueSteps(raw.typeUrl, raw.bytes) : decodeResourceValue(raw.typeUrl, raw.bytes);
  if (!decoded.ok) {
    const e = decoded.error;
    return { name: fallbackName, version, value: undefined, error: `${type.kind} ${fallbackName}: ${e.message}`, bytes: raw.bytes, unchanged: false };
  }
  const value = decoded.value as Record<string, unknown>;
  const name = type.nameOf(value);
  if (raw.name && name && raw.name !== name) {
    return { name: raw.name, version, value: undefined, error: `${type.kind} ${raw.name}: the resource inside is named ${name}`, bytes: raw.bytes, unchanged: false };
  }
  // Validation returns results, but this runs inside the stream's data handler, where an
  // exception (a translator bug on some input nobody foresaw) would be an uncaught error in the
  // client's process: it becomes this resource's NACK instead.
  let valid: ReturnType<ResourceType['validate']>;
  try {
    valid = type.validateSteps ? yield* type.validateSteps(value) : type.validate(value);
  } catch (err) {
    valid = { ok: false, error: `${type.kind} ${name || fallbackName}: cannot be validated: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { name: name || fallbackName, version, value, error: valid.ok ? undefined : valid.error, bytes: raw.bytes, unchanged: false };
}

/** Byte-for-byte equality of two encoded resources. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
