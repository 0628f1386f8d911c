// undici accepts request headers as a record, a flat [name, value, ...] array, or an iterable of
// [name, value] pairs. The mesh needs them once as a lower-case record: for matching, and to
// mutate per attempt.

import type { MutableHeaders } from '@meshlet/core';

export function toHeaderRecord(headers: unknown): MutableHeaders {
  const out: MutableHeaders = {};
  if (headers == null) return out;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as [string, unknown][]) add(out, String(pair[0]), pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) add(out, String(headers[i]), headers[i + 1]);
    }
    return out;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, unknown]>) add(out, String(pair[0]), pair[1]);
    return out;
  }
  // A plain record, the usual form: for-in, with no entry arrays or closure per request.
  const record = headers as Record<string, unknown>;
  for (const k in record) if (Object.hasOwn(record, k)) add(out, k, record[k]);
  return out;
}

function add(out: MutableHeaders, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  const key = name.toLowerCase();
  const v = Array.isArray(value) ? value.map(String) : String(value);
  const cur = out[key];
  if (cur === undefined) out[key] = v;
  else out[key] = ([] as string[]).concat(cur, v);
}

/** A body that can be sent again on a retry: absent, or held whole in memory. */
export function isReplayableBody(body: unknown): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer;
}
