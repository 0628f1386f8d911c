// Responses the mesh answers itself, with no network hop: fault aborts, direct responses and
// redirects. What they say is decided here for both HTTP adapters; sendLocalReply hands one to
// an undici handler exactly as a server's response would arrive (the node:http adapter writes
// the same reply onto an in-memory socket: node/reply-socket.ts).

import type { Dispatcher } from 'undici';
import { redirectPath } from '@meshlet/core/adapter';
import type { FaultDraw, RedirectActionConfig } from '@meshlet/core';

export interface LocalReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Envoy's fault-filter abort: the HTTP status with "fault filter abort", or a gRPC status in trailers-only form. */
export function faultAbortReply(fault: FaultDraw): LocalReply {
  if (fault.abortGrpcStatus !== undefined) {
    return {
      status: fault.abortStatus ?? 200,
      headers: { 'content-type': 'application/grpc', 'grpc-status': String(fault.abortGrpcStatus), 'grpc-message': 'fault filter abort' },
      body: '',
    };
  }
  return { status: fault.abortStatus ?? 200, headers: {}, body: 'fault filter abort' };
}

// Envoy builds the Location from the request, replacing what the redirect sets.
export function redirectLocation(r: RedirectActionConfig, origin: { readonly protocol: string; readonly hostname: string; readonly port: string }, pathAndQuery: string): string {
  const q = pathAndQuery.indexOf('?');
  let path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 || r.stripQuery ? '' : pathAndQuery.slice(q);
  path = redirectPath(r, path);
  const scheme = r.scheme ?? origin.protocol.slice(0, -1);
  const host = r.host ?? origin.hostname;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const port = r.port ?? (r.scheme !== undefined ? defaultPort : origin.port ? Number(origin.port) : defaultPort);
  const hostPort = port === defaultPort ? host : `${host}:${port}`;
  return `${scheme}://${hostPort}${path}${query}`;
}

export function sendLocalReply(
  handler: Dispatcher.DispatchHandler,
  controller: Dispatcher.DispatchController,
  status: number,
  headers: Record<string, string>,
  body: string,
  method: string,
): void {
  const bytes = Buffer.from(body);
  const all: Record<string, string> = { 'content-length': String(bytes.length), ...headers };
  if (bytes.length > 0 && !all['content-type']) all['content-type'] = 'text/plain';
  handler.onResponseStart?.(controller, status, all, '');
  if (controller.aborted) return;
  if (bytes.length > 0 && method !== 'HEAD') handler.onResponseData?.(controller, bytes);
  if (controller.aborted) return;
  handler.onResponseEnd?.(controller, {});
}
