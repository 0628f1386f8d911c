// Envoy's request_headers_to_add / _remove, compiled to a small list and applied to a plain
// lower-case header record. Removal runs before additions, as in Envoy.

import type { HeaderValueOption } from '../xds/resources.ts';
import { MatchCompileError } from '../xds/string-matcher.ts';

export interface HeaderMutations {
  /** [lower-case name, value, mode]. */
  readonly set: readonly (readonly [string, string, 'append' | 'overwrite' | 'add-if-absent' | 'overwrite-if-exists'])[];
  readonly remove: readonly string[];
}

export const NO_HEADER_MUTATIONS: HeaderMutations = Object.freeze({ set: [], remove: [] });

/** Whether `m` sets or removes any header. */
export function hasHeaderMutations(m: HeaderMutations): boolean {
  return m.set.length > 0 || m.remove.length > 0;
}

export function compileHeaderMutations(add: readonly HeaderValueOption[] | undefined, remove: readonly string[] | undefined): HeaderMutations {
  if (!add?.length && !remove?.length) return NO_HEADER_MUTATIONS;
  // Envoy requires `header` and a non-empty key; a control plane's resource without them is
  // rejected (the translator turns this into a NACK naming the route) rather than crashing.
  (add ?? []).forEach((o, i) => {
    if (!o.header?.key) throw new MatchCompileError(`headersToAdd[${i}].header.key: required (the header to set)`);
  });
  return {
    set: (add ?? []).map((o) => [o.header.key.toLowerCase(), o.header.value ?? '', appendMode(o)] as const), // proto3 leaves an empty value out
    remove: (remove ?? []).map((h) => h.toLowerCase()),
  };
}

function appendMode(o: HeaderValueOption): 'append' | 'overwrite' | 'add-if-absent' | 'overwrite-if-exists' {
  switch (o.appendAction) {
    case 'OVERWRITE_IF_EXISTS_OR_ADD': return 'overwrite';
    case 'ADD_IF_ABSENT': return 'add-if-absent';
    case 'OVERWRITE_IF_EXISTS': return 'overwrite-if-exists';
    case 'APPEND_IF_EXISTS_OR_ADD': return 'append';
  }
  // The deprecated `append` wrapper: absent means append, as Envoy reads it.
  return o.append === false ? 'overwrite' : 'append';
}

export type MutableHeaders = Record<string, string | string[]>;

export function applyHeaderMutations(headers: MutableHeaders, m: HeaderMutations): void {
  if (m === NO_HEADER_MUTATIONS) return;
  for (const name of m.remove) delete headers[name];
  for (const [name, value, mode] of m.set) {
    const current = headers[name];
    switch (mode) {
      case 'overwrite': headers[name] = value; break;
      case 'add-if-absent': if (current === undefined) headers[name] = value; break;
      case 'overwrite-if-exists': if (current !== undefined) headers[name] = value; break;
      case 'append':
        if (current === undefined) headers[name] = value;
        else headers[name] = Array.isArray(current) ? [...current, value] : [current, value];
        break;
    }
  }
}
