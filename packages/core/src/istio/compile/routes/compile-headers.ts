// VirtualService header operations → Envoy header mutations (route.TranslateHeadersOperations):
// `set` overwrites (OVERWRITE_IF_EXISTS_OR_ADD), `add` appends (APPEND_IF_EXISTS_OR_ADD), each
// group sorted by header name, sets before adds. Pseudo-headers and `host` cannot be mutated
// this way and are dropped — except that setting `:authority`/`host` becomes a host rewrite
// (`set` winning over `add`).

import type { HeaderValueOption } from '../../../xds/resources.ts';
import type { HeaderOperations, Headers } from '../../types.ts';

export interface HeaderMutations {
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
  /** Authority to rewrite to, from a request `:authority`/`host` header; '' when none. */
  authority: string;
}

export function translateHeaders(h: Headers): HeaderMutations {
  const req = h.request ?? {};
  const resp = h.response ?? {};
  const reqSet = toOptions(req.set, false);
  const reqAdd = toOptions(req.add, true);
  return {
    requestHeadersToAdd: [...reqSet.options, ...reqAdd.options],
    requestHeadersToRemove: dropInternal(req.remove),
    responseHeadersToAdd: [...toOptions(resp.set, false).options, ...toOptions(resp.add, true).options],
    responseHeadersToRemove: dropInternal(resp.remove),
    authority: reqSet.authority || reqAdd.authority,
  };
}

function toOptions(headers: HeaderOperations['set'], append: boolean): { options: HeaderValueOption[]; authority: string } {
  let authority = '';
  const options: HeaderValueOption[] = [];
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (isAuthority(key)) authority = value;
    if (isInternal(key)) continue;
    options.push({ header: { key, value }, appendAction: append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD' });
  }
  options.sort((a, b) => (a.header.key < b.header.key ? -1 : a.header.key > b.header.key ? 1 : 0));
  return { options, authority };
}

function isInternal(key: string): boolean {
  return key.startsWith(':') || key.toLowerCase() === 'host';
}

function isAuthority(key: string): boolean {
  const k = key.toLowerCase();
  return k === ':authority' || k === 'host';
}

function dropInternal(keys: string[] | undefined): string[] {
  return (keys ?? []).filter((k) => !isInternal(k));
}

/** Sets the non-empty lists of `m` on a route or weighted cluster, appending to what is there. */
export function applyHeaderMutations(
  target: {
    requestHeadersToAdd?: HeaderValueOption[];
    requestHeadersToRemove?: string[];
    responseHeadersToAdd?: HeaderValueOption[];
    responseHeadersToRemove?: string[];
  },
  m: HeaderMutations,
): void {
  if (m.requestHeadersToAdd.length > 0) target.requestHeadersToAdd = [...(target.requestHeadersToAdd ?? []), ...m.requestHeadersToAdd];
  if (m.requestHeadersToRemove.length > 0) target.requestHeadersToRemove = [...(target.requestHeadersToRemove ?? []), ...m.requestHeadersToRemove];
  if (m.responseHeadersToAdd.length > 0) target.responseHeadersToAdd = [...(target.responseHeadersToAdd ?? []), ...m.responseHeadersToAdd];
  if (m.responseHeadersToRemove.length > 0) target.responseHeadersToRemove = [...(target.responseHeadersToRemove ?? []), ...m.responseHeadersToRemove];
}
