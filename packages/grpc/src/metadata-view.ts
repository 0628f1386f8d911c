// grpc-js Metadata as the mesh sees a request: route matching reads it as HTTP/2 headers (a
// gRPC call is POST /<service>/<method> with content-type application/grpc, as Envoy sees it),
// and route header mutations are applied to it through core's one implementation.

import type { Metadata } from '@grpc/grpc-js';
import { applyHeaderMutations, hasHeaderMutations, type CompiledRoute, type MutableHeaders, type RequestView } from '@meshlet/core';

type HeaderMutations = CompiledRoute['requestHeaders'];

/**
 * The request a route matcher sees for one call. Headers are read from the metadata when a
 * matcher asks, not copied up front: most routes look at one header or none. Binary (`-bin`)
 * metadata is left out: no matcher can compare it as text.
 */
export function metadataRequestView(authority: string, path: string, metadata: Metadata): MetadataView {
  return new MetadataView(authority, path, metadata);
}

export class MetadataView implements RequestView {
  readonly method = 'POST';
  readonly scheme = 'http';
  readonly authority: string;
  readonly path: string;
  readonly query = '';
  // Plain rather than #private: one view is made per call (request-lifecycle.ts in @meshlet/http says why).
  private readonly metadata: Metadata;
  /**
   * A matcher asked for something only this call's metadata answers (what is not the method,
   * path, authority or scheme): the decision is this call's, not the method's.
   */
  readMetadata = false;

  constructor(authority: string, path: string, metadata: Metadata) {
    this.authority = authority;
    this.path = path;
    this.metadata = metadata;
  }

  header(name: string): string | undefined {
    switch (name) {
      case ':method': return 'POST';
      case ':authority': case 'host': return this.authority;
      case ':path': return this.path;
      case ':scheme': return 'http';
    }
    this.readMetadata = true;
    if (!name.endsWith('-bin')) {
      const values = this.metadata.get(name);
      if (values.length === 1 && typeof values[0] === 'string') return values[0];
      if (values.length > 0) return values.filter((v): v is string => typeof v === 'string').join(',');
    }
    // What every gRPC request carries on the wire, as Envoy sees it.
    if (name === 'content-type') return 'application/grpc';
    if (name === 'te') return 'trailers';
    return undefined;
  }
}

/** Applies Envoy-style header mutations (route or weighted-cluster level) to metadata in place. */
export function mutateMetadata(metadata: Metadata, m: HeaderMutations): void {
  if (!hasHeaderMutations(m)) return;
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
