// A Sidecar's inbound connection pool (./sidecar-ingress.ts) as limits on one server helper,
// the way the sidecar's inbound side applied them in front of the application:
//  - tcp.maxConnections: connections accepted at once; one more is closed at once;
//  - http.http2MaxRequests: requests in progress at once; one more is answered as Envoy's
//    inbound cluster answers an overflow (HTTP 503 with x-envoy-overloaded; gRPC UNAVAILABLE)
//    and never reaches the handler;
//  - http.maxRequestsPerConnection: a connection is closed after that many requests;
//  - http.idleTimeout (else tcp.idleTimeout): a connection with no request in progress for that
//    long (after its first request) is closed;
//  - tcp.maxConnectionDuration: a connection is closed (gracefully, once its requests are done)
//    that long after its first request.
// Requests and connections are counted only while a limit applies: no Sidecar, no bookkeeping.
// http1MaxPendingRequests and maxRetries have nothing to act on in-process (no queue to the
// application, no retries inbound) and are ignored.

import type { ConnectionPoolSettings } from '../istio/types.ts';
import { parseDurationNanos } from '../istio/compile/common/compile-duration.ts';

export interface InboundLimits {
  /** What set them, for messages: `Sidecar ns/name inboundConnectionPool`. */
  readonly source: string;
  readonly maxConnections: number | undefined;
  readonly maxRequests: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
  readonly idleTimeoutMs: number | undefined;
  readonly maxConnectionDurationMs: number | undefined;
}

export function inboundLimits(pool: ConnectionPoolSettings, source: string): InboundLimits {
  // Istio cannot tell 0 from unset: only positive values limit.
  const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
  const ms = (d: string | undefined) => {
    const nanos = d === undefined ? undefined : parseDurationNanos(d);
    return nanos !== undefined && nanos > 0 ? Math.max(1, Math.round(nanos / 1e6)) : undefined;
  };
  return {
    source,
    maxConnections: positive(pool.tcp?.maxConnections),
    maxRequests: positive(pool.http?.http2MaxRequests),
    maxRequestsPerConnection: positive(pool.http?.maxRequestsPerConnection),
    idleTimeoutMs: ms(pool.http?.idleTimeout) ?? ms(pool.tcp?.idleTimeout),
    maxConnectionDurationMs: ms(pool.tcp?.maxConnectionDuration),
  };
}

/** Counts one server helper's connections and requests against the limits in force for their port. */
export class InboundGate {
  readonly #limits: (port: number) => InboundLimits | undefined;
  #connections = 0;
  #requests = 0;

  constructor(limits: (port: number) => InboundLimits | undefined) {
    this.#limits = limits;
  }

  limits(port: number): InboundLimits | undefined {
    return this.#limits(port);
  }

  /** Takes a connection slot; the reason it is refused when the limit is reached. Call closeConnection() once for each slot taken. */
  openConnection(port: number): string | undefined {
    const l = this.#limits(port);
    if (l?.maxConnections !== undefined && this.#connections >= l.maxConnections) {
      return `connection refused: ${this.#connections} connections are open, the limit is tcp.maxConnections=${l.maxConnections} (${l.source})`;
    }
    this.#connections++;
    return undefined;
  }

  closeConnection(): void {
    this.#connections--;
  }

  /** Takes a request slot: the release function, or the reason the request overflows. */
  startRequest(port: number): (() => void) | string {
    const l = this.#limits(port);
    if (l?.maxRequests !== undefined && this.#requests >= l.maxRequests) {
      return `upstream overflow: ${this.#requests} requests in progress, the limit is http.http2MaxRequests=${l.maxRequests} (${l.source})`;
    }
    this.#requests++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#requests--;
    };
  }

  get connections(): number {
    return this.#connections;
  }

  get requests(): number {
    return this.#requests;
  }
}

interface ConnectionState {
  active: number;
  served: number;
  closing: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  lifetime: NodeJS.Timeout | undefined;
}

/** A request admitted on a connection: release it when the response is done. */
export interface AdmittedRequest {
  release(): void;
  /** This is the connection's last request (maxRequestsPerConnection reached, or its maxConnectionDuration passed): close it after the response. */
  readonly last: boolean;
}

const UNLIMITED: AdmittedRequest = Object.freeze({ release: () => {}, last: false });

/** What a connection is to the server: an HTTP/1 socket, an HTTP/2 session. `close` ends it. */
export type ConnectionKey = NodeJS.EventEmitter;

/**
 * The per-connection half of the limits, for a server helper that owns its sockets: connection
 * slots (accept), then per connection — the object its requests name, an HTTP/1 socket or an
 * HTTP/2 session — requests per connection, and idle and lifetime timers counted from its first
 * request. `end(key)` closes a connection once it has no request in progress (HTTP/2: GOAWAY).
 */
export class InboundConnections {
  readonly gate: InboundGate;
  readonly #state = new WeakMap<ConnectionKey, ConnectionState>();
  readonly #end: (key: ConnectionKey) => void;

  constructor(gate: InboundGate, end: (key: ConnectionKey) => void) {
    this.gate = gate;
    this.#end = end;
  }

  /** Takes a slot for a new connection on `port`: the refusal reason when over tcp.maxConnections. */
  accept(socket: NodeJS.EventEmitter, port: number): string | undefined {
    // Connections opened while no limit applies are not counted (nor, later, released).
    if (!this.gate.limits(port)) return undefined;
    const refusal = this.gate.openConnection(port);
    if (refusal) return refusal;
    socket.once('close', () => this.gate.closeConnection());
    return undefined;
  }

  /** Admits a request on connection `key`: the request, or the overflow reason (http2MaxRequests). */
  request(key: ConnectionKey | undefined, port: number): AdmittedRequest | string {
    const limits = this.gate.limits(port);
    if (!limits) return UNLIMITED;
    const release = this.gate.startRequest(port);
    if (typeof release === 'string') return release;
    if (!key) return { release, last: false };
    const st = this.#stateOf(key, limits);
    clearTimeout(st.idleTimer);
    st.active++;
    st.served++;
    if (limits.maxRequestsPerConnection !== undefined && st.served >= limits.maxRequestsPerConnection) st.closing = true;
    const last = st.closing;
    let done = false;
    return {
      last,
      release: () => {
        if (done) return;
        done = true;
        release();
        st.active--;
        if (st.active > 0) return;
        if (st.closing) this.#end(key);
        else this.#idle(key, st, limits);
      },
    };
  }

  #stateOf(key: ConnectionKey, limits: InboundLimits): ConnectionState {
    let st = this.#state.get(key);
    if (st) return st;
    const created: ConnectionState = { active: 0, served: 0, closing: false, idleTimer: undefined, lifetime: undefined };
    st = created;
    this.#state.set(key, st);
    if (limits.maxConnectionDurationMs !== undefined) {
      created.lifetime = setTimeout(() => {
        created.closing = true;
        if (created.active === 0) this.#end(key);
      }, limits.maxConnectionDurationMs);
      created.lifetime.unref();
    }
    key.once('close', () => {
      clearTimeout(created.lifetime);
      clearTimeout(created.idleTimer);
    });
    return st;
  }

  #idle(key: ConnectionKey, st: ConnectionState, limits: InboundLimits): void {
    if (limits.idleTimeoutMs === undefined) return;
    st.idleTimer = setTimeout(() => {
      if (st.active === 0) this.#end(key);
    }, limits.idleTimeoutMs);
    st.idleTimer.unref();
  }
}
