// Traces and metrics through @opentelemetry/api only (an optional peer dependency: no SDK in the
// packages, and nothing at all when the API is not installed). Names follow the stable HTTP and
// RPC semantic conventions; the mesh adds its own attributes under `meshlet.*` and its own
// counters, so a span says which rule sent a request where, and why it failed.
//
// Span layout: one CLIENT span per logical request, and (with spans: 'all') one per attempt as
// its child, carrying `http.request.resend_count` on retries. The W3C traceparent sent upstream
// is the attempt span's. Beside undici's auto-instrumentation, which already makes a span per
// attempt, choose spans: 'request' so nothing is counted twice.
//
// Telemetry objects (telemetry-policy.ts, set with setPolicy) shape this per request:
// randomSamplingPercentage decides for requests with no sampling decision yet (an unsampled one
// records no span and sends `traceparent` with the sampled flag off, so the upstream does not
// sample either), disableSpanReporting drops the spans, disableContextPropagation stops the
// headers, customTags become attributes of the request span, and metric overrides disable an
// instrument or remove/upsert its attributes.

import type * as OTel from '@opentelemetry/api';
import type { MeshSnapshot } from '../snapshot/mesh-snapshot.ts';
import type { Attributes, MeterProviderLike, OpenTelemetryApi, TracerProviderLike } from './otel-types.ts';
import type { TagContext } from './tag-expression.ts';
import { applyTagOverrides, DEFAULT_TELEMETRY_POLICY, type TelemetryPolicy } from './telemetry-policy.ts';

export interface TelemetryOptions {
  /** Which client spans Meshlet emits (default 'all'). */
  spans?: 'all' | 'request' | 'none';
  /** Record metrics (default true). */
  metrics?: boolean;
  /** Defaults to the global providers the application's SDK registered. */
  tracerProvider?: TracerProviderLike;
  meterProvider?: MeterProviderLike;
}

type Api = typeof OTel;
type Attrs = Attributes;

const SCOPE = '@meshlet/core';
/** Where @opentelemetry/api 1.x keeps the registered globals (tracer provider, propagator...). */
const OTEL_REGISTRY = Symbol.for('opentelemetry.js.api.1');

/** What one logical request looks like to telemetry, before it is sent. */
export interface RequestInfo {
  protocol: 'http' | 'grpc';
  method: string;
  url: string;
  serverAddress: string;
  serverPort: number;
  /** Mesh attributes of the decision: route, cluster, subset, fault... */
  mesh: Attrs;
  /** Request headers (custom tags and tag overrides read them). */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Path with the query (tag overrides read it). */
  path?: string;
}

export interface AttemptTrace {
  /** Adds traceparent (and any other propagated fields) to the attempt's request headers. */
  inject(headers: Record<string, string | string[]>): void;
  end(result: { status?: number; error?: Error; retryReason?: string }): void;
}

export interface RequestTrace {
  attempt(n: number, endpoint: { address: string; port: number; key: string }): AttemptTrace;
  /**
   * Adds the request span's traceparent to headers written once for every attempt (node:http:
   * the header is written before the first attempt starts and cannot change per attempt).
   */
  inject(headers: Record<string, string | string[]>): void;
  event(name: string, attrs?: Attrs): void;
  /** Ends the request: its status, or the error that ended it. */
  end(result: { status?: number; grpcStatus?: number; error?: Error }): void;
}

const NOOP_ATTEMPT: AttemptTrace = { inject() {}, end() {} };
const NOOP_REQUEST: RequestTrace = { attempt: () => NOOP_ATTEMPT, inject() {}, event() {}, end() {} };

export class MeshTelemetry {
  readonly #api: Api;
  readonly #spans: 'all' | 'request' | 'none';
  readonly #tracer: OTel.Tracer | undefined;
  readonly #httpDuration: OTel.Histogram | undefined;
  readonly #rpcDuration: OTel.Histogram | undefined;
  readonly #retries: OTel.Counter | undefined;
  readonly #overflows: OTel.Counter | undefined;
  readonly #faults: OTel.Counter | undefined;
  readonly #configUpdates: OTel.Counter | undefined;
  readonly #configRejected: OTel.Counter | undefined;
  readonly #requests: OTel.Counter | undefined;
  #policy: TelemetryPolicy = DEFAULT_TELEMETRY_POLICY;
  /** Draws in [0, 100) for randomSamplingPercentage; replaceable for tests. */
  readonly #random: () => number;
  readonly #meter: OTel.Meter | undefined;
  // What idle() reads on every request: plain fields, not #private ones (a #field read is a
  // keyed look-up until V8 optimises the caller).
  /** The global provider a late-registered SDK plugs into; checked per request (see idle). */
  private readonly tracerProvider: OTel.TracerProvider | undefined = undefined;
  declare private readonly noopTracerProvider: OTel.TracerProvider;
  /** Meters never change provider after creation, so a no-op meter stays a no-op. */
  declare private readonly metricsIdle: boolean;
  /** The propagation API, read from the module namespace once (a namespace read costs ~20 ns). */
  declare private readonly propagation: OTel.PropagationAPI;
  /** The global propagator as last seen, and whether it propagates nothing (see propagatorIdle). */
  private propagator: unknown = undefined;
  private propagatesNothing = true;

  /** Loads @opentelemetry/api if the application has it; undefined when it does not. */
  static async load(options: TelemetryOptions = {}): Promise<MeshTelemetry | undefined> {
    let api: Api;
    try {
      api = await import('@opentelemetry/api');
    } catch {
      return undefined;
    }
    return new MeshTelemetry(api, options);
  }

  /** `api` is the @opentelemetry/api module; typed loosely so the public types never import it. */
  constructor(otelApi: OpenTelemetryApi, options: TelemetryOptions & { random?: () => number } = {}) {
    const api = otelApi as Api;
    this.#api = api;
    this.propagation = api.propagation;
    this.#random = options.random ?? (() => Math.random() * 100);
    this.#spans = options.spans ?? 'all';
    this.noopTracerProvider = new api.ProxyTracerProvider().getDelegate();
    if (this.#spans !== 'none') {
      this.tracerProvider = (options.tracerProvider as OTel.TracerProvider | undefined) ?? api.trace.getTracerProvider();
      this.#tracer = this.tracerProvider.getTracer(SCOPE);
    }
    if (options.metrics !== false) {
      const meter = ((options.meterProvider as OTel.MeterProvider | undefined) ?? api.metrics.getMeterProvider()).getMeter(SCOPE);
      this.#meter = meter;
      this.#httpDuration = meter.createHistogram('http.client.request.duration', {
        unit: 's',
        description: 'Duration of HTTP client requests, over all attempts.',
        advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
      });
      this.#rpcDuration = meter.createHistogram('rpc.client.call.duration', { unit: 's', description: 'Duration of RPC client calls, over all attempts.' });
      this.#retries = meter.createCounter('meshlet.client.retries', { description: 'Retries the mesh sent, by cluster and reason.' });
      this.#overflows = meter.createCounter('meshlet.client.overflows', { description: 'Requests failed fast by a circuit-breaker limit or the error-rate breaker.' });
      this.#faults = meter.createCounter('meshlet.client.faults', { description: 'Injected faults (delay, abort).' });
      this.#configUpdates = meter.createCounter('meshlet.config.updates', { description: 'Config snapshots applied.' });
      this.#configRejected = meter.createCounter('meshlet.config.rejected', { description: 'Config objects or xDS resources rejected (NACKed).' });
      this.#requests = meter.createCounter('meshlet.client.requests', { description: 'Requests sent through the mesh (Istio\'s istio_requests_total, REQUEST_COUNT).' });
    }
    const noopHistogram = api.createNoopMeter().createHistogram('noop').constructor;
    this.metricsIdle = this.#httpDuration === undefined || this.#httpDuration.constructor === noopHistogram;
  }

  /**
   * True when nothing would record or carry what a request's telemetry produces: no tracing
   * SDK behind the (proxy) tracer, metrics off or no-op, no propagator. Then a request skips
   * telemetry entirely; building attributes and no-op spans per request cost about as much as
   * the rest of Meshlet's hot path. Checked per request, so an SDK registered later is seen.
   */
  idle(): boolean {
    if (!this.metricsIdle) return false;
    const p = this.tracerProvider as (OTel.TracerProvider & { getDelegate?: () => OTel.TracerProvider }) | undefined;
    if (p && (p.getDelegate ? p.getDelegate() : p) !== this.noopTracerProvider) return false;
    return this.propagatorIdle();
  }

  /**
   * Whether the global propagator sends no field. Asking `propagation.fields()` per request
   * went through a namespace read, two API calls and a new array from the no-op propagator:
   * 0.25–0.4 µs a call before V8 optimises it (a young process), 0.06–0.15 µs this way; warm,
   * both are ~20 ns, nearly all the symbol-keyed read of globalThis that V8 does not cache.
   * Here the registry is read once and the answer is kept per propagator object: registering or
   * disabling one replaces the object in the registry, and a propagator's fields are fixed once
   * it is built (W3C and Composite ones compute them in their constructor). The registry's
   * layout is the contract between copies of API 1.x loaded in one process, so it holds for
   * every version the peer range allows; fields() itself still decides (it also applies the
   * API's version check), only less often.
   */
  private propagatorIdle(): boolean {
    const registered = (globalThis as { [OTEL_REGISTRY]?: { propagation?: unknown } })[OTEL_REGISTRY]?.propagation;
    if (registered === undefined) return true;
    if (registered !== this.propagator) {
      this.propagator = registered;
      this.propagatesNothing = this.propagation.fields().length === 0;
    }
    return this.propagatesNothing;
  }

  /**
   * Observable gauges read the mesh's counters at collection time: no cost on the request path.
   * Given anything with the snapshot in force (the Mesh passes itself), so telemetry needs
   * nothing of the mesh above it.
   */
  observe(mesh: { readonly snapshot: MeshSnapshot }): void {
    const meter = this.#meter;
    if (!meter) return;
    const active = meter.createObservableGauge('meshlet.cluster.active_requests', { description: 'Requests in flight per cluster.' });
    const ejected = meter.createObservableGauge('meshlet.outlier.ejections_active', { description: 'Hosts ejected by outlier detection now.' });
    const ejections = meter.createObservableCounter('meshlet.outlier.ejections', { description: 'Outlier ejections so far.' });
    const version = meter.createObservableGauge('meshlet.config.version', { description: 'Version of the mesh snapshot in force.' });
    meter.addBatchObservableCallback((r) => {
      const snapshot = mesh.snapshot;
      r.observe(version, snapshot.version);
      for (const c of snapshot.clusters.values()) {
        const s = c.runtime.stats();
        const attrs = { 'meshlet.cluster': c.name };
        r.observe(active, s.upstream_rq_active, attrs);
        r.observe(ejected, s['outlier_detection.ejections_active'], attrs);
        r.observe(ejections, s['outlier_detection.ejections_total'], attrs);
      }
    }, [active, ejected, ejections, version]);
  }

  /** The Telemetry settings in force (compiled from Telemetry objects); applies to the next request. */
  setPolicy(policy: TelemetryPolicy): void {
    this.#policy = policy;
  }

  get policy(): TelemetryPolicy {
    return this.#policy;
  }

  /** Records on a counter unless a Telemetry override disabled it, with its tag overrides. */
  #count(counter: OTel.Counter | undefined, name: string, attrs: Attrs): void {
    if (!counter) return;
    const o = this.#policy.metrics.get(name);
    if (o?.disabled) return;
    counter.add(1, applyTagOverrides(attrs, o, () => bareContext(attrs)));
  }

  configApplied(source: string, rejected: number): void {
    this.#configUpdates?.add(1, { 'meshlet.config.source': source.split(':')[0]! });
    if (rejected > 0) this.#configRejected?.add(rejected, { 'meshlet.config.source': source.split(':')[0]! });
  }

  retried(cluster: string, reason: string): void {
    this.#count(this.#retries, 'meshlet.client.retries', { 'meshlet.cluster': cluster, 'meshlet.retry.reason': reason });
  }

  overflowed(cluster: string, limit: string): void {
    this.#count(this.#overflows, 'meshlet.client.overflows', { 'meshlet.cluster': cluster, 'meshlet.overflow.limit': limit });
  }

  faultInjected(kind: 'delay' | 'abort'): void {
    this.#count(this.#faults, 'meshlet.client.faults', { 'meshlet.fault.type': kind });
  }

  /** Starts the logical request's span (a child of the caller's active context). */
  startRequest(info: RequestInfo): RequestTrace {
    if (this.idle()) return NOOP_REQUEST;
    const started = performance.now();
    const api = this.#api;
    const tracing = this.#policy.tracing;
    let parent = api.context.active();
    let traced = !tracing.disableSpanReporting;
    // Envoy's random sampling applies only when no decision was made upstream of this request.
    if (traced && tracing.randomSamplingPercentage !== undefined && !api.trace.getSpanContext(parent)) {
      if (!(this.#random() < tracing.randomSamplingPercentage)) {
        traced = false;
        // Carry the "not sampled" decision on, as the sidecar does.
        const { randomBytes } = process.getBuiltinModule('node:crypto');
        parent = api.trace.setSpanContext(parent, { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: api.TraceFlags.NONE });
      }
    }
    const propagate = !tracing.disableContextPropagation;
    const attrs: Attrs = {
      ...(info.protocol === 'http'
        ? { 'http.request.method': info.method, 'url.full': info.url }
        : { 'rpc.system': 'grpc', 'rpc.method': info.method }),
      'server.address': info.serverAddress,
      'server.port': info.serverPort,
      ...info.mesh,
    };
    for (const tag of tracing.customTags) {
      const v = tag.value(info.headers);
      if (v !== undefined) attrs[tag.name] = v;
    }
    const span = traced ? this.#tracer?.startSpan(info.method, { kind: api.SpanKind.CLIENT, attributes: attrs }, parent) : undefined;
    const spanCtx = span ? api.trace.setSpan(parent, span) : parent;
    const histogramName = info.protocol === 'http' ? 'http.client.request.duration' : 'rpc.client.call.duration';
    const histogram = this.#policy.metrics.get(histogramName)?.disabled ? undefined : info.protocol === 'http' ? this.#httpDuration : this.#rpcDuration;
    const tracer = traced && this.#spans === 'all' ? this.#tracer : undefined;
    const policy = this.#policy;
    // Sampled out or not reported: still carry the decision (and count the request).
    if (!span && !histogram && !this.#requests && traced) return NOOP_REQUEST;
    return {
      attempt: (n, endpoint) => {
        const attemptAttrs: Attrs = {
          ...(info.protocol === 'http' ? { 'http.request.method': info.method } : { 'rpc.system': 'grpc', 'rpc.method': info.method }),
          'server.address': info.serverAddress,
          'server.port': info.serverPort,
          'network.peer.address': endpoint.address,
          'network.peer.port': endpoint.port,
          'meshlet.endpoint': endpoint.key,
          ...(n > 1 && { 'http.request.resend_count': n - 1 }),
        };
        const a = tracer?.startSpan(info.method, { kind: api.SpanKind.CLIENT, attributes: attemptAttrs }, spanCtx);
        const injectCtx = a ? api.trace.setSpan(spanCtx, a) : spanCtx;
        return {
          inject: (headers) => { if (propagate) api.propagation.inject(injectCtx, headers, HEADER_SETTER); },
          end: (r) => {
            if (!a) return;
            if (r.status !== undefined) a.setAttribute('http.response.status_code', r.status);
            if (r.retryReason) a.setAttribute('meshlet.retry.reason', r.retryReason);
            if (r.error) {
              a.setAttribute('error.type', errorType(r.error));
              a.setStatus({ code: api.SpanStatusCode.ERROR, message: r.error.message });
            } else if (r.status !== undefined && r.status >= 500) {
              a.setAttribute('error.type', String(r.status));
              a.setStatus({ code: api.SpanStatusCode.ERROR });
            }
            a.end();
          },
        };
      },
      inject: (headers) => api.propagation.inject(spanCtx, headers, HEADER_SETTER),
      event: (name, eventAttrs) => span?.addEvent(name, eventAttrs),
      end: (r) => {
        const metricAttrs: Attrs = info.protocol === 'http'
          ? { 'http.request.method': info.method, 'server.address': info.serverAddress, 'server.port': info.serverPort }
          : { 'rpc.system': 'grpc', 'rpc.method': info.method, 'server.address': info.serverAddress, 'server.port': info.serverPort };
        if (info.mesh['meshlet.cluster'] !== undefined) metricAttrs['meshlet.cluster'] = info.mesh['meshlet.cluster'];
        if (r.status !== undefined) metricAttrs['http.response.status_code'] = r.status;
        if (r.grpcStatus !== undefined) metricAttrs['rpc.grpc.status_code'] = r.grpcStatus;
        if (r.error) metricAttrs['error.type'] = errorType(r.error);
        else if (r.status !== undefined && r.status >= 500) metricAttrs['error.type'] = String(r.status);
        const ctx = (): TagContext => ({
          method: info.method, host: info.serverAddress, path: info.path ?? '', scheme: info.protocol === 'http' ? 'http' : 'grpc', port: info.serverPort,
          headers: info.headers, status: r.status, grpcStatus: r.grpcStatus,
          cluster: info.mesh['meshlet.cluster'] as string | undefined, route: info.mesh['meshlet.route'] as string | undefined,
        });
        histogram?.record((performance.now() - started) / 1000, applyTagOverrides(metricAttrs, policy.metrics.get(histogramName), ctx));
        const count = policy.metrics.get('meshlet.client.requests');
        if (!count?.disabled) this.#requests?.add(1, applyTagOverrides(metricAttrs, count, ctx));
        if (!span) return;
        if (r.status !== undefined) span.setAttribute('http.response.status_code', r.status);
        if (r.error || (r.status !== undefined && r.status >= 500)) {
          span.setAttribute('error.type', r.error ? errorType(r.error) : String(r.status));
          span.setStatus({ code: api.SpanStatusCode.ERROR, ...(r.error && { message: r.error.message }) });
        }
        span.end();
      },
    };
  }
}

const HEADER_SETTER: OTel.TextMapSetter<Record<string, string | string[]>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** What a counter outside a request can offer tag expressions: its cluster, nothing else. */
function bareContext(attrs: Attrs): TagContext {
  const cluster = attrs['meshlet.cluster'];
  return { method: '', host: '', path: '', scheme: '', port: 0, headers: undefined, status: undefined, grpcStatus: undefined, cluster: typeof cluster === 'string' ? cluster : undefined, route: undefined };
}

/** `error.type`: the mesh's error code, or the error's class name. */
function errorType(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.name || 'Error';
}
