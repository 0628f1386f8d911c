// Envoy's request mirroring: a fire-and-forget copy of the request to the mirror cluster, with
// the Host suffixed "-shadow" (reviews:9080 → reviews-shadow:9080) unless the policy sets
// disable_shadow_host_suffix_append, as istiod does for VirtualService mirrors. The copy's response is
// read and dropped, and its failures never reach the caller. Only a body held in memory can be
// copied; a streamed body is not mirrored (it can be read once, by the real request).

import type { Dispatcher } from 'undici';
import type { Mesh, MutableHeaders } from '@meshlet/core';
import type { ClusterTransports } from './cluster-transports.ts';
import { isReplayableBody } from './request-headers.ts';

export function shadowHost(host: string): string {
  const i = host.lastIndexOf(':');
  if (i > 0 && !host.endsWith(']')) return `${host.slice(0, i)}-shadow${host.slice(i)}`;
  return `${host}-shadow`;
}

const DISCARD: Dispatcher.DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};

export function sendMirrors(
  mesh: Mesh,
  mirrors: readonly { cluster: string; perMillion: number; keepHost: boolean }[],
  opts: Dispatcher.DispatchOptions,
  path: string,
  headers: MutableHeaders,
  transports: ClusterTransports,
  random: () => number = Math.random,
): void {
  if (mirrors.length === 0 || !isReplayableBody(opts.body)) return;
  for (const m of mirrors) {
    if (random() * 1_000_000 >= m.perMillion) continue;
    const cluster = mesh.snapshot.clusters.get(m.cluster);
    const endpoint = cluster?.loadBalancer.pick();
    if (!cluster || !endpoint) continue;
    const host = typeof headers['host'] === 'string' ? headers['host'] : '';
    try {
      const target = transports.target(cluster, endpoint);
      target.pool.dispatch(
        { ...opts, origin: target.origin, path, headers: m.keepHost ? headers : { ...headers, host: shadowHost(host) } as Record<string, string | string[]> },
        DISCARD,
      );
    } catch {
      // A mirror never affects the real request.
    }
  }
}
