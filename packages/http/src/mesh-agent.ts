// MeshAgent: an undici Dispatcher that sends each request where the mesh says. Pass it as
// `dispatcher` to undici or fetch, or install it globally. Hosts the mesh does not know go out
// through an ordinary Agent unchanged (Istio's ALLOW_ANY outbound policy).

import { Agent, Dispatcher } from 'undici';
import { requestView } from '@meshlet/core/adapter';
import type { Decision, ForwardDecision, Mesh, MutableHeaders, RequestTrace, RequestView, TokenProvider } from '@meshlet/core';
import { ClusterTransports } from './cluster-transports.ts';
import { ClosingDispatcher } from './closing-dispatcher.ts';
import { MeshRequest } from './mesh-request.ts';
import { redirectLocation, sendLocalReply } from './local-reply.ts';
import { toHeaderRecord } from './request-headers.ts';
import { startRequestTrace } from './request-trace.ts';
import { localAddress } from './source-address.ts';

export interface MeshAgentOptions {
  mesh: Mesh;
  /**
   * Options for the undici pools that carry mesh traffic (one per endpoint, with the cluster's
   * connection settings over these), and for the passthrough Agent. `factory`, as an Agent's,
   * makes each endpoint's dispatcher.
   */
  connections?: Agent.Options;
  /** Where requests to hosts outside the mesh go; an ordinary Agent by default. */
  passthrough?: Dispatcher;
  /**
   * A bearer token for requests routed to a cluster (`authorization: Bearer <token>`, unless the
   * request has an `authorization` header already), for servers that check JWTs
   * (RequestAuthentication). tokenFile(path) from @meshlet/core reads a token file and follows
   * its rotation. Undefined sends none.
   */
  token?: TokenProvider;
}

export class MeshAgent extends ClosingDispatcher {
  readonly mesh: Mesh;
  // Plain fields, not #private ones, for what every request reads: request-lifecycle.ts says why.
  private readonly transports: ClusterTransports;
  private readonly passthrough: Dispatcher;
  private readonly token: TokenProvider | undefined;
  private closed = false;
  readonly #ownsPassthrough: boolean;
  readonly #unsubscribe: () => void;

  constructor(opts: MeshAgentOptions) {
    super();
    this.mesh = opts.mesh;
    this.transports = new ClusterTransports(opts.connections, opts.mesh.credentials);
    this.passthrough = opts.passthrough ?? new Agent(opts.connections);
    this.#ownsPassthrough = opts.passthrough === undefined;
    this.token = opts.token;
    this.#unsubscribe = this.mesh.subscribe((s) => this.transports.reconcile(s));
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.closed) throw new Error('MeshAgent is closed');
    const origin = opts.origin === undefined ? undefined : typeof opts.origin === 'string' ? parseOrigin(opts.origin) : originOf(opts.origin);
    // Only plain-HTTP requests are routed: the application speaks plain HTTP to the logical
    // service and the mesh decides about TLS per cluster (DestinationRule tls). An https:// URL
    // means the caller already chose TLS to a concrete host, so it goes out as it is.
    if (!origin || origin.protocol !== 'http:') {
      // REGISTRY_ONLY still holds: a host outside the registry is refused whatever the scheme.
      const blocked = origin && this.mesh.mode !== 'observe' ? this.mesh.outboundRefusal(origin.hostname, origin.port ? Number(origin.port) : origin.protocol === 'https:' ? 443 : 80) : undefined;
      if (blocked) {
        failFast(handler, blocked);
        return true;
      }
      return this.passthrough.dispatch(opts, handler);
    }
    const headers = toHeaderRecord(opts.headers);
    const port = origin.portNumber;
    // The logical Host the upstream must see, kept in the record every attempt copies.
    if (headers['host'] === undefined) headers['host'] = origin.host;
    const authority = typeof headers['host'] === 'string' ? headers['host'] : origin.host;
    // Most services route every request alike (one plain route): then nothing about the
    // request is read, and no view of it is built.
    const at = this.mesh.hostRoute(origin.hostname, port, authority);
    if (at?.fixed !== undefined) return this.execute(opts, handler, origin, port, headers, undefined, at.fixed);
    const view = requestView(opts.method, 'http', authority, opts.path, headers);
    const d = this.mesh.decide(view, origin.hostname, port, at);
    if (d.kind === 'passthrough' && this.mesh.fetchesOnDemand) {
      this.afterServiceFetch(opts, handler, origin, port, headers, view);
      return true;
    }
    return this.execute(opts, handler, origin, port, headers, view, d);
  }

  // The rare paths that wait for a promise have their own methods: a closure in dispatch() or
  // execute() would make V8 allocate a context for their arguments on every request.

  /**
   * xDS mode fetches a service's config on its first use: wait for the control plane's answer
   * before deciding the host is outside the mesh, or the first request to every service would
   * go out unrouted.
   */
  private afterServiceFetch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, origin: Origin, port: number, headers: MutableHeaders, view: RequestView): void {
    this.mesh.ensureService(origin.hostname, port).then(
      () => this.execute(opts, handler, origin, port, headers, view, this.mesh.decide(view, origin.hostname, port)),
      (err: unknown) => failFast(handler, err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** `view`: undefined for a fixed decision, which has no hash policy to read it. */
  private execute(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, origin: Origin, port: number, headers: MutableHeaders, view: RequestView | undefined, d: Decision): boolean {
    const trace = d.kind === 'passthrough' ? undefined : startRequestTrace(this.mesh, d, opts.method, origin.href, origin.hostname, port, headers, opts.path);
    if (this.mesh.mode === 'observe') {
      // Observe mode: the decision is recorded, the request goes out as if the mesh were absent.
      return this.passthrough.dispatch(opts, trace ? observed(handler, trace) : handler);
    }
    switch (d.kind) {
      case 'passthrough':
        return this.passthrough.dispatch(opts, handler);
      case 'error':
        trace!.end({ error: d.error });
        failFast(handler, d.error);
        return true;
      case 'direct':
        trace!.end({ status: d.action.status });
        localReply(handler, opts.method, d.action.status, {}, d.action.body);
        return true;
      case 'redirect':
        trace!.end({ status: d.action.status });
        localReply(handler, opts.method, d.action.status, { location: redirectLocation(d.action, origin, opts.path) }, '');
        return true;
      case 'forward': {
        const token = this.token && headers['authorization'] === undefined ? this.token(d.cluster.name) : undefined;
        if (token === undefined || typeof token === 'string') {
          if (token) headers['authorization'] = `Bearer ${token}`;
          this.forward(opts, handler, headers, view, d, trace!);
        } else {
          this.afterToken(token, opts, handler, headers, view, d, trace!);
        }
        return true;
      }
    }
  }

  /** A token provider still reading its token: the request goes once it has one. */
  private afterToken(token: Promise<string | undefined>, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, headers: MutableHeaders, view: RequestView | undefined, d: ForwardDecision, trace: RequestTrace): void {
    token.then((t) => {
      if (t) headers['authorization'] = `Bearer ${t}`;
      this.forward(opts, handler, headers, view, d, trace);
    }, (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      trace.end({ error: e });
      failFast(handler, e);
    });
  }

  private forward(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, headers: MutableHeaders, view: RequestView | undefined, d: ForwardDecision, trace: RequestTrace): void {
    const hasher = d.action.hash;
    const hash = hasher === undefined ? undefined : hasher(view ?? requestView(opts.method, 'http', String(headers['host']), opts.path, headers), localAddress());
    new MeshRequest(this.mesh, d, opts, headers, handler, this.transports, trace, hash).start();
  }

  protected override async shutdown(err: Error | null, force: boolean): Promise<void> {
    if (this.closed && !force) return;
    this.closed = true;
    this.#unsubscribe();
    if (force) {
      await this.transports.destroy(err ?? undefined);
      if (this.#ownsPassthrough) await this.passthrough.destroy(err);
    } else {
      await this.transports.close();
      if (this.#ownsPassthrough) await this.passthrough.close();
    }
  }
}

/** Wraps a caller's handler so the request's outcome ends its (observe-mode) span. */
function observed(handler: Dispatcher.DispatchHandler, trace: RequestTrace): Dispatcher.DispatchHandler {
  let status: number | undefined;
  return {
    ...handler,
    onRequestStart: (c, ctx) => handler.onRequestStart?.(c, ctx),
    onResponseStart: (c, s, h, m) => { status = s; handler.onResponseStart?.(c, s, h, m); },
    onResponseData: (c, chunk) => handler.onResponseData?.(c, chunk),
    onResponseEnd: (c, t) => { trace.end({ ...(status !== undefined && { status }) }); handler.onResponseEnd?.(c, t); },
    onResponseError: (c, e) => { trace.end({ error: e }); handler.onResponseError?.(c, e); },
  };
}

/** The parts of a request's origin routing reads, as plain strings (a URL's getters build a new string on every read). */
interface Origin {
  readonly protocol: string;
  /** host[:port] */
  readonly host: string;
  readonly hostname: string;
  /** As written; '' for the scheme's default. */
  readonly port: string;
  readonly portNumber: number;
  readonly href: string;
}

function originOf(url: URL): Origin {
  return { protocol: url.protocol, host: url.host, hostname: url.hostname, port: url.port, portNumber: url.port ? Number(url.port) : 80, href: url.href };
}

// undici hands every request its origin as a string; parsing it is the costliest single step
// of routing a request, and the same few origins come back again and again. The parsed origins
// are only read, never changed. Bounded, since callers may name any number of hosts.
const ORIGINS_KEPT = 512;
const parsedOrigins = new Map<string, Origin>();

function parseOrigin(origin: string): Origin {
  let parsed = parsedOrigins.get(origin);
  if (parsed) return parsed;
  parsed = originOf(new URL(origin));
  if (parsedOrigins.size >= ORIGINS_KEPT) parsedOrigins.clear();
  parsedOrigins.set(origin, parsed);
  return parsed;
}

function failFast(handler: Dispatcher.DispatchHandler, error: Error): void {
  const controller = staticController();
  handler.onRequestStart?.(controller, {});
  if (!controller.aborted) handler.onResponseError?.(controller, error);
}

function localReply(handler: Dispatcher.DispatchHandler, method: string, status: number, headers: Record<string, string>, body: string): void {
  const controller = staticController();
  handler.onRequestStart?.(controller, {});
  if (!controller.aborted) sendLocalReply(handler, controller, status, headers, body, method);
}

/** A controller for replies with no connection behind them: abort just marks it. */
function staticController(): Dispatcher.DispatchController {
  let aborted = false;
  let reason: Error | null = null;
  return {
    get aborted() { return aborted; },
    get paused() { return false; },
    get reason() { return reason; },
    abort(r: Error) { aborted = true; reason = r; },
    pause() {},
    resume() {},
  };
}
