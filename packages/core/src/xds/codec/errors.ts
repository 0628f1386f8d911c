// Errors of the xDS codec. Decoding reports a DecodeError as a value (decodeMessage never
// throws: bad bytes come from the network and become a NACK naming the field); encoding throws
// an EncodeError, since what it encodes is our own compiler's output and a bad field there is a bug.

import { MeshError } from '../../errors.ts';

/** Why a byte string is not a valid message of `typeName`, and where (`path`) it went wrong. */
export class DecodeError extends MeshError {
  /** The type decoding started from, e.g. "envoy.config.listener.v3.Listener". */
  readonly typeName: string;
  /** Field path in JSON names, e.g. "virtualHosts[0].routes[2].route.timeout"; "" at top level. */
  readonly path: string;
  /** What was wrong, without the location. */
  readonly detail: string;
  /** Byte offset in the outermost buffer where the problem was found. */
  readonly offset: number;
  constructor(typeName: string, path: string, detail: string, offset: number, options?: { cause?: unknown }) {
    super('MESHLET_XDS_DECODE', `cannot decode ${typeName}${path ? ` at ${path}` : ''}: ${detail} (byte ${offset})`, options);
    this.typeName = typeName;
    this.path = path;
    this.detail = detail;
    this.offset = offset;
  }
}

/** A value that does not fit the message schema it is being encoded as. */
export class EncodeError extends MeshError {
  readonly typeName: string;
  readonly path: string;
  readonly detail: string;
  constructor(typeName: string, path: string, detail: string) {
    super('MESHLET_XDS_ENCODE', `cannot encode ${typeName}${path ? ` at ${path}` : ''}: ${detail}`);
    this.typeName = typeName;
    this.path = path;
    this.detail = detail;
  }
}

/**
 * Internal: thrown inside the codec and turned into a DecodeError/EncodeError at the API
 * boundary. Each enclosing field prepends its path segment while the error unwinds, so the
 * common (valid input) path pays nothing for path tracking.
 */
export class CodecFailure extends Error {
  readonly detail: string;
  readonly offset: number;
  readonly segments: string[] = [];
  constructor(detail: string, offset = -1) {
    super(detail);
    this.detail = detail;
    this.offset = offset;
  }
  /** The segments joined into "a.b[0].c<Type>.d". */
  path(): string {
    let out = '';
    for (const s of this.segments) {
      if (out === '' || s.startsWith('[') || s.startsWith('<')) out += s;
      else out += '.' + s;
    }
    return out;
  }
}

/** Prepends a path segment to an unwinding CodecFailure; other errors pass through unchanged. */
export function prependSegment(err: unknown, segment: string): void {
  if (err instanceof CodecFailure) err.segments.unshift(segment);
}
