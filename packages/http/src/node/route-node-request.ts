// How a node:http request meets the mesh. An http.Agent is handed each ClientRequest in its
// constructor (addRequest), before the caller has finished with it: superagent sets headers
// after http.request() returns, every client may still write. The headers are final, and still
// writable, at the moment Node renders the request's head (ClientRequest#_implicitHeader, on the
// first write, end() or flushHeaders()), so the decision is taken there: the request's method,
// path, Host and headers go through the same core decision as MeshAgent's; a forwarded request
// gets the route's header and path rewrites and the trace context while they can still change,
// then the head is written (into the request's buffer: nothing leaves before a socket is given)
// and NodeMeshRequest takes it from there. Until a socket is assigned, Node emits nothing for a
// destroyed request, so destroy() is watched too and ends the request the way Node's own Agent
// would (an 'error', then 'close').
//
// A request whose head Node wrote in its constructor (headers given as an array, or with
// Expect) is decided at once from what it has, without rewrites or a trace header.

import type { ClientRequest, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { requestView } from '@meshlet/core/adapter';
import type { Decision, Mesh, MutableHeaders, RequestTrace, RequestView } from '@meshlet/core';
import { redirectLocation, type LocalReply } from '../local-reply.ts';
import { startRequestTrace } from '../request-trace.ts';
import { localAddress } from '../source-address.ts';
import { NodeMeshRequest, type NodePools } from './node-request.ts';
import { ReplySocket } from './reply-socket.ts';

/** ClientRequest internals this module relies on (stable since Node 0.x; Node 22–24 checked by the tests). */
interface NodeClientRequest extends ClientRequest {
  _header: string | null;
  _implicitHeader(): void;
  errored: Error | null;
}

export interface RouteContext {
  readonly mesh: Mesh;
  readonly scheme: 'http' | 'https';
  readonly defaultPort: number;
  /** The agent was closed: its requests fail, as MeshAgent's do. */
  closed(): boolean;
  /** Where a forwarded request's attempts get their connections. */
  pools(req: ClientRequest, options: RequestOptions): NodePools;
  /** The agent's own pooling, for hosts outside the mesh and observe mode. */
  passthrough(req: ClientRequest, options: RequestOptions): void;
}

export function addMeshRequest(ctx: RouteContext, req: ClientRequest, options: RequestOptions): void {
  if (ctx.closed()) {
    (req.onSocket as (s: Socket | undefined, e?: Error) => void).call(req, undefined, new Error(`Mesh${ctx.scheme === 'https' ? 'Https' : 'Http'}Agent is closed`));
    return;
  }
  if (options.socketPath !== undefined || ctx.mesh.closed) {
    ctx.passthrough(req, options);
    return;
  }
  new PendingNodeRequest(ctx, req as NodeClientRequest, options).watch();
}

class PendingNodeRequest {
  readonly #ctx: RouteContext;
  readonly #req: NodeClientRequest;
  readonly #options: RequestOptions;
  readonly #host: string;
  readonly #port: number;
  /** Set once the request is NodeMeshRequest's. */
  #forwarded: NodeMeshRequest | undefined;
  /** Set once something else owns the request: the agent's pool, a local reply, an error. */
  #handedOff = false;

  constructor(ctx: RouteContext, req: NodeClientRequest, options: RequestOptions) {
    this.#ctx = ctx;
    this.#req = req;
    this.#options = options;
    this.#host = String(options.host ?? options.hostname ?? 'localhost');
    this.#port = Number(options.port) || ctx.defaultPort;
  }

  watch(): void {
    const req = this.#req;
    const proto = Object.getPrototypeOf(req) as NodeClientRequest;
    req.destroy = (err?: Error) => {
      proto.destroy.call(req, err);
      this.#destroyed();
      return req;
    };
    if (req._header) {
      this.#route(false);
      return;
    }
    req._implicitHeader = () => {
      delete (req as Partial<NodeClientRequest>)._implicitHeader;
      if (req.destroyed) {
        proto._implicitHeader.call(req);
        return;
      }
      this.#route(true);
    };
  }

  /** Decides; `writable`: the head is not written yet (this runs where Node writes it). */
  #route(writable: boolean): void {
    const req = this.#req;
    const { mesh, scheme } = this.#ctx;
    const headers = headerRecord(req.getHeaders());
    const host = this.#host;
    const port = this.#port;
    const authority = typeof headers['host'] === 'string' ? headers['host'] : port === this.#ctx.defaultPort ? host : `${host}:${port}`;
    // A service that routes every request alike: no view of the request to build (decide.ts).
    const at = mesh.hostRoute(host, port, authority);
    if (at?.fixed !== undefined) {
      this.#execute(at.fixed, undefined, authority, headers, writable);
      return;
    }
    const view = requestView(req.method, scheme, authority, req.path, headers);
    const d = mesh.decide(view, host, port, at);
    if (d.kind === 'passthrough' && mesh.fetchesOnDemand) {
      // xDS mode fetches a service's config on its first use. The head cannot wait (Node
      // writes it now), so this first request is routed without the route's rewrites.
      if (writable) this.#writeHead();
      mesh.ensureService(host, port).then(
        () => { if (!req.destroyed) this.#execute(mesh.decide(view, host, port), view, authority, headers, false); },
        (err: unknown) => this.#failWith(err instanceof Error ? err : new Error(String(err))),
      );
      return;
    }
    this.#execute(d, view, authority, headers, writable);
  }

  /** `view`: undefined for a fixed decision, which has no hash policy to read it. */
  #execute(d: Decision, view: RequestView | undefined, authority: string, headers: MutableHeaders, writable: boolean): void {
    const { mesh, scheme } = this.#ctx;
    const req = this.#req;
    if (d.kind === 'passthrough') {
      if (writable) this.#writeHead();
      this.#handOff();
      return;
    }
    const url = `${scheme}://${authority}${req.path}`;
    const trace = startRequestTrace(mesh, d, req.method, url, this.#host, this.#port, headers, req.path);
    if (mesh.mode === 'observe') {
      // The decision is recorded; the request goes out as if the mesh were absent.
      if (writable) this.#writeHead();
      observe(req, trace);
      this.#handOff();
      return;
    }
    switch (d.kind) {
      case 'error':
        if (writable) this.#writeHead();
        trace.end({ error: d.error });
        this.#failWith(d.error);
        return;
      case 'direct':
        if (writable) this.#writeHead();
        trace.end({ status: d.action.status });
        this.#reply({ status: d.action.status, headers: {}, body: d.action.body });
        return;
      case 'redirect': {
        if (writable) this.#writeHead();
        trace.end({ status: d.action.status });
        const location = redirectLocation(d.action, { protocol: `${scheme}:`, hostname: this.#host, port: String(this.#port) }, req.path);
        this.#reply({ status: d.action.status, headers: { location }, body: '' });
        return;
      }
      case 'forward': {
        const request = new NodeMeshRequest(mesh, d, req, this.#ctx.pools(req, this.#options), trace, d.action.hash?.(view ?? requestView(req.method, scheme, authority, req.path, headers), localAddress()), this.#host, this.#port);
        if (writable) {
          request.prepare(headers);
          this.#writeHead();
        }
        this.#forwarded = request;
        request.begin();
        return;
      }
    }
  }

  #writeHead(): void {
    (Object.getPrototypeOf(this.#req) as NodeClientRequest)._implicitHeader.call(this.#req);
  }

  #handOff(): void {
    this.#handedOff = true;
    this.#ctx.passthrough(this.#req, this.#options);
  }

  #reply(reply: LocalReply): void {
    this.#handedOff = true;
    this.#req.onSocket(new ReplySocket(reply, this.#req.method) as unknown as Socket);
  }

  /** Fails the request as a connection error would: 'error' with `err`, then 'close'. */
  #failWith(err: Error): void {
    if (this.#handedOff) return;
    this.#handedOff = true;
    (this.#req.onSocket as (s: Socket | undefined, e?: Error) => void).call(this.#req, undefined, err);
  }

  #destroyed(): void {
    if (this.#forwarded) {
      this.#forwarded.callerDestroyed();
      return;
    }
    if (this.#handedOff) return;
    // Destroyed before it was routed: Node's own Agent would report it once a socket came.
    this.#handedOff = true;
    (this.#req.onSocket as (s: Socket | undefined) => void).call(this.#req, undefined);
  }
}

/** The request's headers as the router reads them: lower-case names, string values. */
function headerRecord(h: Record<string, number | string | string[] | undefined>): MutableHeaders {
  const out: MutableHeaders = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    out[k] = typeof v === 'number' ? String(v) : v;
  }
  return out;
}

/** Observe mode: the request's outcome ends its span. */
function observe(req: ClientRequest, trace: RequestTrace): void {
  let status: number | undefined;
  let complete = false;
  req.prependListener('response', (res) => {
    status = res.statusCode;
    res.once('end', () => { complete = true; });
  });
  req.once('close', () => {
    if (complete || (status !== undefined && (req as NodeClientRequest).errored === null)) trace.end({ ...(status !== undefined && { status }) });
    else trace.end({ ...(status !== undefined && { status }), error: (req as NodeClientRequest).errored ?? new Error('request closed before its response') });
  });
}
