// One upstream host as the data path sees it: its address (fixed), its weight and health in the
// current config, and counters that survive config changes. A snapshot swap keeps the same
// EndpointState for an address that is still present, so in-flight counts stay true.

import type { Locality } from '../xds/resources.ts';
import type { EndpointTransport } from '../security/cluster-tls.ts';

export class EndpointState {
  readonly address: string;
  readonly port: number;
  /** 'host:port', the key of this endpoint everywhere. */
  readonly key: string;
  /** Requests in flight to this endpoint (least-request balancing reads it). */
  active = 0;
  weight = 1;
  healthy = true;
  locality: Locality | undefined;
  /** EDS priority of the endpoint's locality group (0 is the most preferred). */
  priority = 0;
  /** loadBalancingWeight of the endpoint's locality group; read only by locality-weighted balancing. */
  localityWeight = 0;
  /**
   * When the host last became usable (ms since epoch): added to a cluster that already had
   * hosts, or returned from ejection. Slow start ramps its weight up from here; 0 = long ago.
   */
  usableSince = 0;
  labels: Readonly<Record<string, string>> = {};
  /** `envoy.transport_socket_match` metadata: picks a cluster's per-endpoint transport socket (auto-mTLS). */
  socketMatch: Readonly<Record<string, string>> | undefined = undefined;
  /** endpointTransport()'s last answer, valid for that cluster config, metadata and certificate epoch (it runs per request). */
  tlsMemo: { readonly cluster: object; readonly epoch: number; readonly match: object | undefined; readonly transport: EndpointTransport } | undefined = undefined;

  // Outlier detection (resilience/outlier-detector.ts owns these).
  /** Time (ms since epoch) until which the host is ejected; 0 when it is not. */
  ejectedUntil = 0;
  /** Ejections so far, decayed while healthy: the ejection-time multiplier. */
  ejections = 0;
  /** When the host was last returned to service (ms since epoch), for decaying `ejections`. */
  lastUnejected = 0;
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveLocalOrigin = 0;

  constructor(address: string, port: number) {
    this.address = address;
    this.port = port;
    this.key = endpointKey(address, port);
  }

  /** The socket path of a Unix domain socket endpoint ('unix:/path'), else undefined. */
  get socketPath(): string | undefined {
    return this.address.startsWith('unix:') ? this.address.slice(5) : undefined;
  }

  #origins: [string, string] | undefined;

  /** The origin a transport dials for this endpoint ('http://10.0.0.1:80'), built once. */
  origin(tls: boolean): string {
    const host = this.address.startsWith('unix:') ? 'localhost' : this.key;
    this.#origins ??= [`http://${host}`, `https://${host}`];
    return this.#origins[tls ? 1 : 0];
  }
}

export function endpointKey(address: string, port: number): string {
  if (address.startsWith('unix:')) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
