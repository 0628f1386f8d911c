// The ADS client: one gRPC channel to the bootstrap's first xDS server, one stream at a time
// (SotW, or delta when the server lists the "delta" feature), and the per-resource cache.
//
// What it guarantees (SEMANTICS.md, xDS protocol):
// - each resource is decoded and validated on its own; a bad one is NACKed with a message
//   naming it and the field, and its last good version stays in force, while the good ones
//   in the same response apply (gRFC A46); duplicate names NACK the whole response;
// - SotW LDS/CDS responses are complete: a subscribed resource left out was deleted — unless
//   the server has "ignore_resource_deletion" (gRFC A53), which keeps the last good one;
// - a requested resource that does not arrive within 15 s is declared absent;
// - the stream reconnects with exponential back-off and jitter, reset after a stream that
//   delivered a response; while it is down nothing is dropped, so traffic keeps the last
//   good config.
// It does not decide what to subscribe to or when config is complete: xds-config-source.ts
// does, from `state`, when told something changed.

import * as grpc from '@grpc/grpc-js';
import type { Bootstrap, XdsServerConfig } from './bootstrap.ts';
import { channelCredentials } from './ads-service.ts';
import { AdsStream, type ResponseBatch, type StreamHandler } from './ads-stream.ts';
import type { LastResponse } from './last-response.ts';
import { Backoff, type BackoffOptions } from '../backoff.ts';
import { DEFAULT_RESPONSE_LIMITS, transportLimit, type ResponseLimits } from './response-limits.ts';
import { CLUSTER_LOAD_ASSIGNMENT, RESOURCE_TYPES, type ResourceType } from './resource-types.ts';
import { RequestTimer, ResourceWatchState, type ResourceWatch } from './resource-watch-state.ts';
import { ListenerDirectory } from './listener-directory.ts';
import type { Result } from '../../xds/translate-result.ts';
import { ok } from '../../xds/translate-result.ts';
import type { Logger } from '../../logger.ts';

export interface AdsClientOptions {
  logger: Logger;
  /**
   * Called (synchronously) after the cache changed; the caller coalesces. `assignments`, when
   * given, says the change was only new values for these ClusterLoadAssignments, each of which
   * already had an accepted value and no NACK (no name added or removed, no status changed): an
   * EDS push, which the config source can apply without walking the subscriptions again.
   */
  onChange: (assignments?: readonly string[]) => void;
  backoff?: BackoffOptions;
  /** How long a requested resource may stay unanswered before it is declared absent (gRFC A27: 15 s). */
  doesNotExistMs?: number;
  /** How resources are read (validated, referenced): the proxyless set, or the sidecar profile's. */
  types?: readonly ResourceType[];
  /** The node sent on each stream's first request; default: the bootstrap's. */
  node?: object;
  /** Keep the server's listener names on a second, wildcard LDS stream (listener-directory.ts). */
  listenerDirectory?: boolean;
  /** Bounds on one response (response-limits.ts); defaults far above a real mesh. */
  limits?: ResponseLimits;
}

export const USER_AGENT_VERSION = '0.1.0';
/** Features this client declares in its node (gRPC's and Envoy's names). */
export const CLIENT_FEATURES: readonly string[] = ['envoy.lb.does_not_support_overprovisioning', 'xds.config.resource-in-sotw'];
/** What `meshlet xds` reads to know the client is Meshlet's (xds-server/client-identity.ts). */
export const MESHLET_USER_AGENT = 'meshlet';

export class AdsClient implements StreamHandler {
  readonly state = new ResourceWatchState();
  readonly server: XdsServerConfig;
  readonly bootstrap: Bootstrap;
  readonly #client: grpc.Client;
  readonly #opts: AdsClientOptions;
  readonly #backoff: Backoff;
  readonly #doesNotExistMs: number;
  readonly #limits: ResponseLimits;
  readonly #node: object;
  readonly #types: ReadonlyMap<string, ResourceType>;
  /** Each type's last response, in order, kept across streams (last-response.ts). */
  readonly #lastResponses = new Map<string, LastResponse>();
  /** The names last asked for, per type ('*' = wildcard); replayed on every new stream. */
  readonly #subscriptions = new Map<string, readonly string[] | '*'>();
  #stream: AdsStream | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  #lastError: string | undefined;
  #connectedSince: number | undefined;
  /** Bumped on every change to a value or status; the config source publishes on change. */
  generation = 0;

  /** Types the server has answered at least once (a wildcard subscription is only known then). */
  readonly answered = new Set<string>();

  static create(bootstrap: Bootstrap, opts: AdsClientOptions): Result<AdsClient> {
    const server = bootstrap.xdsServers[0]!;
    const creds = channelCredentials(server.channelCreds, `xDS bootstrap ${bootstrap.origin}: xds_servers[0]`);
    if (!creds.ok) return creds;
    return ok(new AdsClient(bootstrap, creds.value, opts));
  }

  private constructor(bootstrap: Bootstrap, creds: grpc.ChannelCredentials, opts: AdsClientOptions) {
    this.bootstrap = bootstrap;
    this.server = bootstrap.xdsServers[0]!;
    this.#opts = opts;
    this.#backoff = new Backoff(opts.backoff);
    this.#doesNotExistMs = opts.doesNotExistMs ?? 15_000;
    this.#limits = opts.limits ?? DEFAULT_RESPONSE_LIMITS;
    // A 1,000-service snapshot is larger than grpc-js's 4 MB default message limit; the bound
    // is ours (twice the size a response may have to be NACKed rather than dropped).
    this.#client = new grpc.Client(this.server.serverUri, creds, {
      'grpc.max_receive_message_length': transportLimit(this.#limits),
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    this.#types = new Map((opts.types ?? RESOURCE_TYPES).map((t) => [t.typeUrl, t]));
    const n = bootstrap.node;
    this.#node = opts.node ?? {
      id: n.id,
      cluster: n.cluster,
      // The proxyless profile names istiod's grpc generator even when the bootstrap does not
      // (istio-agent always writes it): without it istiod, and `meshlet xds`, answer as to a sidecar.
      metadata: { ...n.metadata, GENERATOR: n.metadata['GENERATOR'] ?? 'grpc' },
      locality: n.locality,
      userAgentName: MESHLET_USER_AGENT,
      userAgentVersion: USER_AGENT_VERSION,
      clientFeatures: [...CLIENT_FEATURES],
    };
    this.directory = opts.listenerDirectory ? new ListenerDirectory(this.#client, this.server.delta, this.#node, () => opts.onChange(), opts.logger, this.#limits, opts.backoff) : undefined;
  }

  /** The server's listener names, when listenerDirectory is on. */
  readonly directory: ListenerDirectory | undefined;

  get connected(): boolean {
    return this.#stream?.established === true;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  get connectedSince(): number | undefined {
    return this.#connectedSince;
  }

  start(): void {
    if (!this.#closed && !this.#stream) this.#open();
    this.directory?.start();
  }

  /** Declares a requested resource absent now (the server's complete listing lacks it). */
  declareAbsent(typeUrl: string, name: string): void {
    const w = this.state.get(typeUrl, name);
    if (!w || w.status !== 'REQUESTED' || w.value !== undefined) return;
    w.markDoesNotExist(Date.now());
    this.#changed();
  }

  /**
   * Sets the names wanted for `typeUrl` ('*' = everything the server has). Watches no longer
   * wanted are dropped; new ones start as REQUESTED.
   */
  setSubscription(typeUrl: string, names: readonly string[] | '*'): void {
    const steps = this.subscribe(typeUrl, names);
    while (!steps.next().done);
  }

  /** setSubscription in steps, yielding every few hundred names (for a 10k-name walk). */
  *subscribe(typeUrl: string, names: readonly string[] | '*'): Generator<void, void> {
    const prev = this.#subscriptions.get(typeUrl);
    if (prev !== undefined && sameNames(prev, names)) return;
    const watches = this.state.of(typeUrl);
    if (names === '*') {
      this.state.setWildcard(typeUrl, true);
    } else {
      this.state.setWildcard(typeUrl, false);
      const want = new Set(names);
      let i = 0;
      for (const name of [...watches.keys()]) {
        if (++i % SUBSCRIBE_YIELD_EVERY === 0) yield;
        if (!want.has(name)) this.state.delete(typeUrl, name);
      }
      for (const name of want) {
        if (++i % SUBSCRIBE_YIELD_EVERY === 0) yield;
        this.state.ensure(typeUrl, name).named = true;
      }
    }
    // A type never asked for is not mentioned while nothing of it is wanted: an empty SotW
    // LDS/CDS request would read as a wildcard subscription.
    if (prev === undefined && names !== '*' && names.length === 0) return;
    this.#subscriptions.set(typeUrl, names);
    this.#stream?.subscribe(typeUrl, names, () => this.state.versionsOf(typeUrl));
  }

  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.state.clearTimers();
    this.directory?.close();
    this.#stream?.close();
    this.#stream = undefined;
    this.#client.close();
  }

  #open(): void {
    const stream = new AdsStream(this.#client, this.server.delta, this.#node, this, this.#limits, this.#lastResponses);
    this.#stream = stream;
    // Replay every subscription in chain order, so a new stream asks for exactly what the old
    // one had (delta: with the versions held).
    for (const t of RESOURCE_TYPES) {
      const names = this.#subscriptions.get(t.typeUrl);
      if (names !== undefined) stream.subscribe(t.typeUrl, names, () => this.state.versionsOf(t.typeUrl));
    }
  }

  // ---- StreamHandler ------------------------------------------------------------------------

  onRequested(typeUrl: string): void {
    let timer: RequestTimer | undefined;
    for (const w of this.state.of(typeUrl).values()) {
      if (w.named && w.status === 'REQUESTED' && w.value === undefined && !w.timer) {
        (timer ??= new RequestTimer(this.#doesNotExistMs, (x) => this.#doesNotExist(x))).add(w);
      }
    }
  }

  typeOf(typeUrl: string): ResourceType | undefined {
    return this.#types.get(typeUrl);
  }

  /** The node this client sends (its id and metadata as the control plane sees them). */
  get node(): object {
    return this.#node;
  }

  heldBytes(typeUrl: string, name: string): Uint8Array | undefined {
    const w = this.state.get(typeUrl, name);
    return w?.value !== undefined ? w.bytes : undefined;
  }

  holderOf(typeUrl: string, name: string): ResourceWatch | undefined {
    const w = this.state.get(typeUrl, name);
    return w?.value !== undefined ? w : undefined;
  }

  *onResponse(batch: ResponseBatch): Generator<void, string | undefined> {
    if (this.#connectedSince === undefined) this.#connectedSince = Date.now();
    this.#lastError = undefined;
    const { type } = batch;
    this.answered.add(type.typeUrl);
    const now = Date.now();
    const wildcard = this.state.isWildcard(type.typeUrl);
    if (!batch.delta) {
      const seen = new Set<string>();
      const dups = new Set<string>();
      for (const u of batch.updates) (seen.has(u.name) ? dups : seen).add(u.name);
      if (dups.size > 0) {
        const error = `${type.short} response version ${batch.versionInfo}: ${type.kind} ${[...dups].join(', ')} appears more than once`;
        this.#opts.logger.warn({ server: this.server.serverUri, error }, 'xDS response NACKed');
        for (const name of dups) this.state.get(type.typeUrl, name)?.reject(batch.versionInfo, error, now);
        this.#changed();
        return error;
      }
    }
    const errors: string[] = [];
    let changed = false;
    // Whether every change so far is a new value for an assignment already in force (the EDS
    // fast path, onChange's `assignments`), and which.
    let valuesOnly = type.typeUrl === CLUSTER_LOAD_ASSIGNMENT.typeUrl;
    const replaced: string[] = [];
    // Handling may stop between slices (the stream closed): what was applied by then still
    // counts as a change, or a resend of the same values would never be published.
    try {
      // Only a complete SotW listing (LDS, CDS) is judged by what it leaves out: no set of the
      // 10k names of an EDS resend is built for nothing.
      const present = !batch.delta && type.sotwComplete ? new Set<string>() : undefined;
      let work = 0;
      for (const u of batch.updates) {
        // A turn of the event loop may end here (AdsStream slices the work). A resource resent
        // unchanged is a few field writes: it counts for less (a SotW resend is 10k of them).
        work += u.unchanged ? 1 : UNCHANGED_PER_CHANGED;
        if (work >= YIELD_EVERY * UNCHANGED_PER_CHANGED) {
          work = 0;
          yield;
        }
        present?.add(u.name);
        // A resource found in place in a SotW resend comes with its watch (holderOf), unless
        // that watch was dropped since (ResourceWatchState.delete clears its bytes).
        let w = u.holder?.bytes !== undefined ? u.holder as ResourceWatch : this.state.get(type.typeUrl, u.name);
        if (!w) {
          // Unasked-for resources are ignored, except under a wildcard subscription.
          if (!wildcard || u.name === '') {
            if (u.error) { errors.push(u.error); valuesOnly = false; }
            continue;
          }
          w = this.state.ensure(type.typeUrl, u.name);
          valuesOnly = false;
        }
        if (u.unchanged) {
          // The version in force, sent again; after a NACK it is the server going back to it.
          w.version = u.version;
          // The bytes held (AdsStream hands them back rather than a view of the resend, which
          // would keep that whole response alive for one resource).
          w.bytes = u.bytes;
          if (w.status !== 'ACKED') {
            w.status = 'ACKED';
            w.nack = undefined;
            changed = true;
            valuesOnly = false;
          }
          continue;
        }
        if (u.error !== undefined) {
          w.reject(u.version, u.error, now);
          if (this.server.failOnDataErrors) w.dropValue(now);
          errors.push(u.error);
          changed = true;
          valuesOnly = false;
          continue;
        }
        if (w.status === 'ACKED' && sameValue(w.value, u.value)) {
          w.bytes = u.bytes;
          // SotW servers resend unchanged resources under each new version: note the version only.
          w.version = u.version;
          continue;
        }
        if (valuesOnly && w.status === 'ACKED' && w.value !== undefined && w.nack === undefined) replaced.push(u.name);
        else valuesOnly = false;
        w.accept(u.value, u.version, now, u.bytes);
        w.references = type.references(u.value);
        changed = true;
      }
      // SotW LDS/CDS: a resource we hold that a response leaves out was deleted. One never
      // received is not judged by absence — the response may answer a request sent before it was
      // subscribed — but by the does-not-exist timer (as gRPC does). Nor is anything judged by
      // absence when the response holds a resource too broken to read its name: that resource
      // may be any of the "missing" ones, so they keep their last good versions and show the
      // NACK instead of being deleted over a data error (found by the fault suite: an
      // undecodable Listener withdrew its service).
      const unnamed = batch.updates.filter((u) => u.name === '' && u.error !== undefined);
      if (!batch.delta && type.sotwComplete && unnamed.length > 0) {
        const error = unnamed.map((u) => u.error).join('; ');
        for (const w of this.state.of(type.typeUrl).values()) {
          if (!present!.has(w.name) && w.value !== undefined) {
            w.reject(batch.versionInfo, error, now);
            changed = true;
            valuesOnly = false;
          }
        }
      }
      const removed = batch.delta
        ? batch.removed
        : type.sotwComplete && unnamed.length === 0
          ? [...this.state.of(type.typeUrl).values()].filter((w) => !present!.has(w.name) && w.value !== undefined).map((w) => w.name)
          : [];
      for (const name of removed) {
        const w = this.state.get(type.typeUrl, name);
        if (!w || w.status === 'DOES_NOT_EXIST') continue;
        if (w.value !== undefined && this.server.ignoreResourceDeletion) {
          this.#opts.logger.warn({ server: this.server.serverUri, resource: `${type.kind} ${name}` }, 'xDS server deleted a resource; keeping it (ignore_resource_deletion)');
          continue;
        }
        if (!w.named && !wildcard) continue;
        if (!w.named) this.state.delete(type.typeUrl, name);
        else w.markDoesNotExist(now);
        changed = true;
        valuesOnly = false;
      }
      if (errors.length > 0) {
        const kept = this.server.failOnDataErrors ? 'dropping them (fail_on_data_errors)' : 'keeping their last good versions';
        this.#opts.logger.warn({ server: this.server.serverUri, type: type.short, version: batch.versionInfo, errors }, `xDS resources NACKed; ${kept}`);
      } else {
        this.#opts.logger.debug({ server: this.server.serverUri, type: type.short, version: batch.versionInfo, resources: batch.updates.length }, 'xDS response ACKed');
      }
      return errors.length > 0 ? errors.join('; ') : undefined;
    } finally {
      if (changed) this.#changed(valuesOnly ? replaced : undefined);
    }
  }

  onRefused(typeUrl: string, reason: string): void {
    this.#opts.logger.warn({ server: this.server.serverUri, typeUrl, reason }, 'xDS response NACKed: over a limit; the last good config stays');
  }

  onClosed(stream: AdsStream, healthy: boolean, status: grpc.StatusObject): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    this.#connectedSince = undefined;
    // Does-not-exist timers only run while a request is outstanding on a live stream.
    this.state.clearTimers();
    if (this.#closed) return;
    if (healthy) this.#backoff.reset();
    const delay = this.#backoff.nextDelayMs();
    this.#lastError = `${grpc.status[status.code] ?? status.code}: ${status.details}`;
    if (status.code === grpc.status.RESOURCE_EXHAUSTED) this.#lastError += ` (the transport refuses responses over ${transportLimit(this.#limits)} bytes: twice createMesh xds.maxResponseBytes)`;
    this.#opts.logger.warn(
      { server: this.server.serverUri, status: this.#lastError, retryInMs: delay },
      'xDS stream closed; traffic stays on the last good config while reconnecting',
    );
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#closed) this.#open();
    }, delay);
    this.#retry.unref();
  }

  #doesNotExist(w: ResourceWatch): void {
    w.timer = undefined;
    if (w.status !== 'REQUESTED' || w.value !== undefined) return;
    this.#opts.logger.warn({ server: this.server.serverUri, resource: w.name, typeUrl: w.typeUrl }, `xDS resource not sent within ${this.#doesNotExistMs} ms; treating it as absent`);
    w.markDoesNotExist(Date.now());
    this.#changed();
  }

  #changed(assignments?: readonly string[]): void {
    this.generation++;
    this.#opts.onChange(assignments);
  }
}

/** Resources applied between two chances to end the event loop's turn (see AdsStream#pump). */
const YIELD_EVERY = 16;
/** How many unchanged resources count as one changed one towards YIELD_EVERY. */
const UNCHANGED_PER_CHANGED = 16;
/** Names subscribed or dropped between two chances to end the turn. */
const SUBSCRIBE_YIELD_EVERY = 512;

function sameNames(a: readonly string[] | '*', b: readonly string[] | '*'): boolean {
  if (a === '*' || b === '*') return a === b;
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((n) => s.has(n));
}

// Resources are plain JSON-mapping objects; a server resending an unchanged resource (SotW
// does, every time) must not count as a change, or every push would rebuild the snapshot.
function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
