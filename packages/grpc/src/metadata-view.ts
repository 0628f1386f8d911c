// grpc-js Metadata as the mesh sees a request: route matching reads it as HTTP/2 headers (a
// gRPC call is POST /<service>/<method> with content-type application/grpc, as Envoy sees it),
// and route header mutations are applied to it through core's one implementation.

import type { Metadata } from '@grpc/grpc-js';
import { applyHeaderMutations, requestView, type CompiledRoute, type MutableHeaders, type RequestView } from '@meshlet/core';

type HeaderMutations = CompiledRoute['requestHeaders'];

/** The request a route matcher sees for one call. Binary (`-bin`) metadata is left out: no matcher can compare it as text. */
export function metadataRequestView(authority: string, path: string, metadata: Metadata): RequestView {
  const headers: Record<string, string | string[]> = { 'content-type': 'application/grpc', te: 'trailers' };
  const all = metadata.toJSON();
  for (const key in all) {
    if (key.endsWith('-bin')) continue;
    const values = all[key] as string[];
    if (values.length > 0) headers[key] = values.length === 1 ? values[0]! : values;
  }
  return requestView('POST', 'http', authority, path, headers);
}

/** Applies Envoy-style header mutations (route or weighted-cluster level) to metadata in place. */
export function mutateMetadata(metadata: Metadata, m: HeaderMutations): void {
  if (m.set.length === 0 && m.remove.length === 0) return;
  // Pseudo-headers are the transport's; grpc-js owns them.
  const names = new Set<string>();
  for (const n of m.remove) if (!n.startsWith(':')) names.add(n);
  for (const [n] of m.set) if (!n.startsWith(':')) names.add(n);
  const view: MutableHeaders = {};
  for (const n of names) {
    const values = metadata.get(n).filter((v): v is string => typeof v === 'string');
    if (values.length > 0) view[n] = values.length === 1 ? values[0]! : values;
  }
  applyHeaderMutations(view, m);
  for (const n of names) {
    metadata.remove(n);
    const v = view[n];
    if (v === undefined) continue;
    for (const value of Array.isArray(v) ? v : [v]) metadata.add(n, value);
  }
}
