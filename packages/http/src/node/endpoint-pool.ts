// Keep-alive connections to one endpoint, for node:http requests (Envoy: one connection pool per
// host). A request waits here for a socket that is up: an idle one (most recent first), a new
// one while under the cluster's per-endpoint connection budget, else a place in the queue —
// the queue is Envoy's pending requests, admitted under max_pending_requests by the request
// before it comes here.
//
// A ClientRequest gives its socket back by emitting 'free' on it once the response is read and
// the request written (as with Node's own Agent). The socket then serves the next waiter, or
// idles: unref'd (an idle pool never keeps the process alive), closed after the idle timeout
// (the DestinationRule's idleTimeout, else the server's Keep-Alive hint less a second, else 4 s
// as undici does for MeshAgent), after maxRequestsPerConnection requests, or as soon as it
// sends anything unasked or fails.

import type { Socket } from 'node:net';
import type { EndpointState } from '@meshlet/core';
import type { Connector } from './connect.ts';

export interface PoolLimits {
  /** Connections to this endpoint at most (open and opening); undefined = no limit. */
  readonly maxConnections: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
  readonly idleTimeoutMs: number | undefined;
}

/** A request waiting for a socket. */
export interface SocketWaiter {
  /** Set when the request no longer wants one (timed out, aborted, failed). */
  readonly cancelled: boolean;
  onSocket(socket: Socket, reused: boolean): void;
  /** The connection opened for this waiter failed before it was up: nothing was sent. */
  onConnectError(err: Error): void;
}

const DEFAULT_IDLE_MS = 4_000;

interface Conn {
  readonly socket: Socket;
  uses: number;
  idle: boolean;
}

export class EndpointPool {
  readonly #endpoint: EndpointState;
  readonly #connect: Connector;
  readonly #limits: PoolLimits;
  readonly #conns = new Map<Socket, Conn>();
  /** Idle connections, most recently used last. */
  #idle: Conn[] = [];
  /** Connections open or opening. */
  #open = 0;
  #waiting: SocketWaiter[] = [];
  #closing = false;

  constructor(endpoint: EndpointState, connect: Connector, limits: PoolLimits) {
    this.#endpoint = endpoint;
    this.#connect = connect;
    this.#limits = limits;
  }

  /** True when nothing is open or waiting (the pool may be dropped). */
  get empty(): boolean {
    return this.#open === 0 && this.#waiting.length === 0;
  }

  acquire(w: SocketWaiter): void {
    for (let c = this.#idle.pop(); c; c = this.#idle.pop()) {
      if (!usable(c.socket)) { c.socket.destroy(); continue; }
      this.#hand(c, w, true);
      return;
    }
    const max = this.#limits.maxConnections;
    if (max === undefined || this.#open < max) this.#open1(w);
    else this.#waiting.push(w);
  }

  #open1(w: SocketWaiter): void {
    this.#open++;
    this.#connect(this.#endpoint, (err, socket) => {
      if (err || !socket) {
        this.#open--;
        w.onConnectError(err ?? new Error('connect failed'));
        this.#serveWaiting();
        return;
      }
      const c: Conn = { socket, uses: 0, idle: false };
      this.#conns.set(socket, c);
      socket.on('free', () => this.#release(c));
      socket.once('close', () => this.#closed(c));
      // Upgraded (101) and CONNECT sockets leave the pool: they belong to the caller now.
      socket.once('agentRemove', () => this.#forget(c));
      if (w.cancelled) this.#release(c);
      else this.#hand(c, w, false);
    });
  }

  #hand(c: Conn, w: SocketWaiter, reused: boolean): void {
    if (c.idle) {
      c.idle = false;
      c.socket.removeListener('data', onIdleData);
      c.socket.removeListener('error', onIdleError);
      c.socket.removeListener('timeout', onIdleTimeout);
      c.socket.setTimeout(0);
      c.socket.ref();
    }
    c.uses++;
    w.onSocket(c.socket, reused);
  }

  /** The request is done with the socket: next waiter, or idle, or closed. */
  #release(c: Conn): void {
    const s = c.socket;
    const keepAliveHint = hintMs(s);
    (s as { _httpMessage?: unknown })._httpMessage = null;
    const max = this.#limits.maxRequestsPerConnection;
    if (!usable(s) || (max !== undefined && c.uses >= max)) {
      s.destroy();
      return;
    }
    for (let w = this.#waiting.shift(); w; w = this.#waiting.shift()) {
      if (w.cancelled) continue;
      this.#hand(c, w, true);
      return;
    }
    if (this.#closing) {
      s.destroy();
      return;
    }
    c.idle = true;
    s.unref();
    s.on('data', onIdleData);
    s.on('error', onIdleError);
    s.on('timeout', onIdleTimeout);
    s.setTimeout(Math.min(this.#limits.idleTimeoutMs ?? Infinity, keepAliveHint ?? DEFAULT_IDLE_MS));
    this.#idle.push(c);
  }

  #closed(c: Conn): void {
    if (!this.#conns.delete(c.socket)) return;
    this.#open--;
    if (c.idle) this.#idle = this.#idle.filter((x) => x !== c);
    this.#serveWaiting();
  }

  #forget(c: Conn): void {
    if (!this.#conns.delete(c.socket)) return;
    this.#open--;
    this.#serveWaiting();
  }

  /** A connection slot opened: the next live waiter gets a new connection. */
  #serveWaiting(): void {
    const max = this.#limits.maxConnections;
    while (this.#waiting.length > 0 && (max === undefined || this.#open < max)) {
      const w = this.#waiting.shift()!;
      if (!w.cancelled) this.#open1(w);
    }
  }

  /**
   * No new requests (its cluster's transport was replaced or dropped): idle connections close
   * now; requests already waiting here are still served, and each connection closes once no
   * one waits for it.
   */
  close(): void {
    this.#closing = true;
    for (const c of this.#idle) c.socket.destroy();
    this.#idle = [];
  }

  destroy(err: Error | undefined): void {
    this.close();
    for (const w of this.#waiting.splice(0)) if (!w.cancelled) w.onConnectError(err ?? new Error(`the connection pool of ${this.#endpoint.key} was destroyed`));
    for (const c of this.#conns.values()) c.socket.destroy(err);
  }
}

function usable(s: Socket): boolean {
  return !s.destroyed && s.writable && s.readableLength === 0;
}

// A server that speaks on an idle connection would answer the next request with stale bytes:
// close it instead.
function onIdleData(this: Socket): void {
  this.destroy();
}

function onIdleError(this: Socket): void {
  this.destroy();
}

function onIdleTimeout(this: Socket): void {
  this.destroy();
}

/** The server's `Keep-Alive: timeout=N`, less a second so the client closes first (Node's Agent does the same). */
function hintMs(s: Socket): number | undefined {
  const res = (s as { _httpMessage?: { res?: { headers?: Record<string, unknown> } } })._httpMessage?.res;
  const v = res?.headers?.['keep-alive'];
  if (typeof v !== 'string') return undefined;
  const m = /timeout=(\d+)/.exec(v);
  return m ? Math.max(0, Number(m[1]) * 1000 - 1000) : undefined;
}
