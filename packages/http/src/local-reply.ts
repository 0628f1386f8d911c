// Responses the mesh answers itself, with no network hop: fault aborts, direct responses and
// redirects. They go through the caller's handler exactly as a server's response would.

import type { Dispatcher } from 'undici';

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
