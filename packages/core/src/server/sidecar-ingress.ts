// What a Sidecar's ingress side means for a server helper, which is the workload and its
// inbound proxy in one process (istiod: SidecarScope ingress listeners,
// InboundConnectionPoolForPort):
//  - an ingress listener takes the workload's traffic on `port.number` (bound to `bind`) and
//    hands it to the application at `defaultEndpoint`. In-process there is no hop: a server
//    helper asked to listen at a listener's defaultEndpoint (127.0.0.1:8080, [::1]:8080,
//    0.0.0.0:8080, [::]:8080 or unix:///path) listens at the listener's own port instead, where
//    the mesh sends the traffic, and that port's policies apply;
//  - connection pool for a port: the ingress listener's `connectionPool`, else the Sidecar's
//    `inboundConnectionPool` (overridden, not merged). istiod would fall back to the
//    DestinationRule of a Service selecting the workload; a server helper does not know which
//    Service that is, so without a Sidecar setting no limit applies.

import type { ConnectionPoolSettings, IstioIngressListener, Sidecar } from '../istio/types.ts';

export interface IngressAddress {
  /** Where to listen instead: the ingress listener's bind (default: every address) and port. */
  readonly host: string;
  readonly port: number;
  /** Why, for the log. */
  readonly reason: string;
}

/** The ingress listener of `sidecar` whose defaultEndpoint is host:port (or the unix path), if any. */
export function ingressForEndpoint(sidecar: Sidecar | undefined, host: string, port: number | string): IngressAddress | undefined {
  for (const l of sidecar?.spec.ingress ?? []) {
    const ep = l.defaultEndpoint;
    if (!ep || l.port?.number === undefined) continue;
    if (!endpointMatches(ep, host, port)) continue;
    return {
      host: l.bind || '0.0.0.0',
      port: l.port.number,
      reason: `Sidecar ${sidecar!.metadata.namespace}/${sidecar!.metadata.name} ingress port ${l.port.number} sends the workload's traffic to ${ep}: listening at ${l.bind || '0.0.0.0'}:${l.port.number}, as the sidecar did, with no hop in between`,
    };
  }
  return undefined;
}

function endpointMatches(ep: string, host: string, port: number | string): boolean {
  if (typeof port === 'string') return ep === `unix://${port}`;
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(ep);
  if (!m || Number(m[3]) !== port) return false;
  const epHost = m[1] ?? m[2] ?? '';
  const any = (h: string) => h === '' || h === '0.0.0.0' || h === '::';
  const loopback = (h: string) => h === '127.0.0.1' || h === '::1' || h === 'localhost';
  return epHost === host || (any(epHost) && (any(host) || loopback(host))) || (loopback(epHost) && loopback(host));
}

/** The ingress listener for a port, if the Sidecar declares one. */
export function ingressListener(sidecar: Sidecar | undefined, port: number): IstioIngressListener | undefined {
  return sidecar?.spec.ingress?.find((l) => l.port?.number === port);
}

/** The inbound connection pool for `port` and where it came from; undefined when the Sidecar sets none. */
export function inboundConnectionPool(sidecar: Sidecar | undefined, port: number): { pool: ConnectionPoolSettings; source: string } | undefined {
  if (!sidecar) return undefined;
  const name = `Sidecar ${sidecar.metadata.namespace}/${sidecar.metadata.name}`;
  const own = ingressListener(sidecar, port)?.connectionPool;
  if (own) return { pool: own, source: `${name} ingress port ${port} connectionPool` };
  const top = sidecar.spec.inboundConnectionPool;
  return top ? { pool: top, source: `${name} inboundConnectionPool` } : undefined;
}
