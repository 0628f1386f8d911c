// Decoders and translators return typed results instead of throwing: a bad resource is a value
// the caller reports (a NACK, a config problem), never an exception that escapes a timer.

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: string): Result<T> {
  return { ok: false, error };
}
