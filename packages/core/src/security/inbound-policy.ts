// The policy a server helper enforces, when it comes from the control plane: xDS mode
// subscribes to the server's own inbound listener (gRFC A36, the bootstrap's
// server_listener_resource_name_template filled with the listening address) and translates it
// (server-listener.ts) into an mTLS mode and RBAC filters. In embedded mode there is no such
// listener; PeerAuthentication and AuthorizationPolicy objects decide instead.
//
// Until the listener has arrived, and while the control plane says it does not exist or has
// only sent versions that were rejected, the server is "not serving" (A36): it refuses
// connections rather than guess a policy. A later rejected version keeps the last good one.

import type { ServerListenerPolicy } from './server-listener.ts';

export type InboundPolicyState =
  | { readonly status: 'serving'; readonly listener: string; readonly policy: ServerListenerPolicy }
  | { readonly status: 'not-serving'; readonly listener: string; readonly reason: string };

export interface InboundPolicyWatch {
  /** The listener's resource name, e.g. `xds.istio.io/grpc/lds/inbound/0.0.0.0:8080`. */
  readonly listener: string;
  current(): InboundPolicyState;
  /** Resolves once the control plane has answered for the listener, or the initial fetch timed out. */
  readonly ready: Promise<void>;
  /**
   * Resolves once the listener is serving (gRFC A36: an xDS server listens only then), or when
   * the watch or the mesh is closed first; no time limit. Check current() after.
   */
  untilServing(): Promise<void>;
  close(): void;
}

/** How a config source starts such a watch for a listening address. */
export type InboundDemand = (host: string, port: number) => InboundPolicyWatch;

/** The A36 listener name for a listening address: `%s` in the template becomes `host:port` (`[v6]:port`). */
export function serverListenerName(template: string, host: string, port: number): string {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  // xdstp: names are URIs, so the address is percent-encoded there.
  return template.replaceAll('%s', template.startsWith('xdstp:') ? encodeURIComponent(address) : address);
}
