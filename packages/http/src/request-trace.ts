// The span a routed request gets, for both HTTP adapters: the decision's attributes on one
// CLIENT span (observe mode says so), or nothing at all when no SDK is listening.

import { decisionAttributes } from '@meshlet/core/adapter';
import type { Decision, Mesh, MutableHeaders, RequestTrace } from '@meshlet/core';
import { NO_TRACE } from './no-trace.ts';

/** `headers` and `path` (with the query) feed the Telemetry API's custom tags and tag overrides. */
export function startRequestTrace(mesh: Mesh, d: Exclude<Decision, { kind: 'passthrough' }>, method: string, url: string, host: string, port: number, headers: MutableHeaders, path: string): RequestTrace {
  const telemetry = mesh.telemetry;
  // No SDK listening: skip building the attributes too (they cost as much as routing).
  if (!telemetry || telemetry.idle()) return NO_TRACE;
  const attrs = decisionAttributes(d);
  if (mesh.mode === 'observe') attrs['meshlet.mode'] = 'observe';
  return telemetry.startRequest({ protocol: 'http', method, url, serverAddress: host, serverPort: port, mesh: attrs, headers, path });
}
