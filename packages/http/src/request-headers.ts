// undici accepts request headers as a record, a flat [name, value, ...] array, or an iterable of
// [name, value] pairs. The mesh needs them once as a lower-case record: for matching, and to
// mutate per attempt.

import { isIP } from 'node:net';
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

// undici derives each request's TLS server name from its Host header, testing whether the host is
// an IP address with Node's isIP — on a name like a mesh service's, both of Node's address
// regular expressions, the IPv6 one long, on every request (~1.7 µs each in a young process).
// The mesh knows the answer for a Host it has seen: the name, or undefined for an IP address
// (undici then decides itself, as before). The Hosts are the few services a process calls;
// bounded anyway.
const SERVER_NAMES_KEPT = 512;
const serverNames = new Map<string, string | undefined>();

/** The TLS server name undici would take from this Host header value; undefined for an IP address. */
export function serverNameOf(host: string): string | undefined {
  let name = serverNames.get(host);
  if (name !== undefined || serverNames.has(host)) return name;
  const hostname = host.startsWith('[') ? host.slice(1, Math.max(1, host.indexOf(']'))) : host.includes(':') ? host.slice(0, host.indexOf(':')) : host;
  name = hostname === '' || isIP(hostname) !== 0 ? undefined : hostname;
  if (serverNames.size >= SERVER_NAMES_KEPT) serverNames.clear();
  serverNames.set(host, name);
  return name;
}
