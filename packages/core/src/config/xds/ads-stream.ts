// One ADS stream, state-of-the-world or delta: the protocol bookkeeping (versions, nonces,
// subscription diffs, the node on the first request) and per-resource decoding, with none of
// the caching. The client (ads-client.ts) decides what a response means and answers ACK or
// NACK; this file turns that answer into the right request for the variant.
//
// SotW: every request for a type repeats the full name list; an ACK carries the response's
// version_info and nonce, a NACK the last accepted version, the nonce and error_detail.
// Delta: requests carry subscribe/unsubscribe diffs; a new stream re-subscribes everything and
// lists the versions held (initial_resource_versions) so the server can skip what we have.

import * as grpc from '@grpc/grpc-js';
import { DEFAULT_RESPONSE_LIMITS, limitExceeded, type ResponseLimits } from './response-limits.ts';
import { DELTA_METHOD, SOTW_METHOD } from './ads-service.ts';
import { encodeRequest, encodeResourceNames, peekResourceName, readDeltaResponseSteps, readSotwSpansSteps, type RawResource, type ResourceSpans } from '../../xds/discovery-envelope.ts';
import type { ResourceType } from './resource-types.ts';
import { decodeResourceSteps, sameBytes, type ResourceUpdate } from './resource-decode.ts';
import { runSlice } from './turn-budget.ts';
import { LastResponse, type ResourceHolder } from './last-response.ts';

export type { ResourceUpdate } from './resource-decode.ts';

export interface ResponseBatch {
  readonly type: ResourceType;
  readonly delta: boolean;
  /** SotW version_info, or delta system_version_info. */
  readonly versionInfo: string;
  readonly updates: readonly ResourceUpdate[];
  /** Delta removed_resources. */
  readonly removed: readonly string[];
}

export interface StreamHandler {
  /**
   * Applies a response, yielding between resources (the stream runs it in slices, see #pump);
   * returns the NACK error detail, or undefined to ACK.
   */
  onResponse(batch: ResponseBatch): Generator<void, string | undefined>;
  /** The stream ended; `healthy` when it delivered at least one response. */
  onClosed(stream: AdsStream, healthy: boolean, status: grpc.StatusObject): void;
  /** A request listing `names` went out for `typeUrl` (the does-not-exist timers start now). */
  onRequested(typeUrl: string): void;
  /** How this client reads resources of `typeUrl` (its profile's types); undefined if it does not. */
  typeOf(typeUrl: string): ResourceType | undefined;
  /** The encoded bytes of the version of `name` the client holds, if any. */
  heldBytes(typeUrl: string, name: string): Uint8Array | undefined;
  /**
   * What holds `name`'s value, if anything: recorded with a SotW response so a resend is known
   * held by one identity check (last-response.ts), and handed back in the update.
   */
  holderOf?(typeUrl: string, name: string): ResourceHolder | undefined;
  /** A response was NACKed whole, before decoding, for going over a limit. */
  onRefused(typeUrl: string, reason: string): void;
}

interface TypeState {
  /** SotW: last accepted version_info. */
  version: string;
  nonce: string;
  /** What the server was last told we want: a name list, or '*'. */
  sent: Set<string> | '*' | undefined;
  /** `sent` as a SotW request's encoded resource_names, once worked out (sotwNames). */
  sentBytes: Uint8Array | undefined;
}

/** A request's resource_names already encoded (AdsStream#sotwRequest), appended by the serializer. */
const ENCODED_NAMES = Symbol('encoded resource_names');

const INVALID_ARGUMENT = 3;
/** Resources found unchanged (one compare each, ~1 µs) between two chances to end the turn. */
const UNCHANGED_PER_STEP = 64;
/** Resources recorded for the next resend's comparison between two chances to end the turn. */
const RECORD_PER_STEP = 1024;


export class AdsStream {
  readonly delta: boolean;
  readonly #call: grpc.ClientDuplexStream<Record<string, unknown>, Buffer>;
  readonly #handler: StreamHandler;
  readonly #node: object;
  readonly #types = new Map<string, TypeState>();
  /** Per type, the last response's resources in order (a SotW resend is compared in place). */
  readonly #lastResponse: Map<string, LastResponse>;
  #nodeSent = false;
  #healthy = false;
  #established = false;
  #closed = false;
  #ended = false;
  /** Set when we end the stream because of what the server sent. */
  #failure: string | undefined;
  /** Responses received and not yet handled, oldest first. */
  readonly #queue: Buffer[] = [];
  /** The response being handled, when its handling spans turns of the event loop. */
  #current: Generator<void, void> | undefined;
  #pumping = false;

  readonly #limits: ResponseLimits;

  /**
   * `lastResponses` may outlive the stream (the client passes its own): a server answering a
   * new stream resends everything, in the order it sent it before.
   */
  constructor(client: grpc.Client, delta: boolean, node: object, handler: StreamHandler, limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS, lastResponses = new Map<string, LastResponse>()) {
    this.delta = delta;
    this.#lastResponse = lastResponses;
    this.#limits = limits;
    this.#handler = handler;
    this.#node = node;
    // Requests are serialized by the codec (no .proto files). Responses are left as bytes here:
    // grpc-js fails the whole stream if a deserializer throws, while the envelope reader below
    // returns a typed result and each resource is decoded on its own.
    const serialize = (req: Record<string | symbol, unknown>): Buffer => {
      const b = encodeRequest(delta, req);
      const names = req[ENCODED_NAMES] as Uint8Array | undefined;
      if (names === undefined || names.byteLength === 0) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      return Buffer.concat([b, names]);
    };
    this.#call = client.makeBidiStreamRequest(delta ? DELTA_METHOD : SOTW_METHOD, serialize, (b: Buffer) => b);
    this.#call.on('data', (bytes: Buffer) => this.#onData(bytes));
    // Response headers: the server accepted the stream. A delta stream that resumes with
    // nothing new to send may carry no response for a long time; it is still connected.
    this.#call.on('metadata', () => { this.#established = true; });
    // 'error' must be handled or grpc-js rethrows it; 'status' always follows and ends the stream.
    this.#call.on('error', () => {});
    this.#call.on('status', (status: grpc.StatusObject) => this.#end(status));
  }

  /** Delivered a response: what resets the reconnect back-off. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** The server accepted the stream (sent headers) or delivered a response. */
  get established(): boolean {
    return this.#established || this.#healthy;
  }

  /**
   * Tells the server the full set of names wanted for `typeUrl` ('*' = every resource, empty =
   * none). `versions` gives the versions held, sent on a delta stream's first request of a
   * type (asked only then: at 10k resources building it on every change is not free).
   */
  subscribe(typeUrl: string, names: readonly string[] | '*', versionsHeld: () => Record<string, string>): void {
    if (this.#closed) return;
    let st = this.#types.get(typeUrl);
    const first = !st;
    if (!st) this.#types.set(typeUrl, (st = { version: '', nonce: '', sent: undefined, sentBytes: undefined }));
    const want: Set<string> | '*' = names === '*' ? '*' : new Set(names);
    if (!first && sameSubscription(st.sent, want)) return;
    if (this.delta) {
      const req: Record<string, unknown> = { typeUrl };
      if (first) {
        req['resourceNamesSubscribe'] = want === '*' ? ['*'] : [...want];
        const versions = versionsHeld();
        if (Object.keys(versions).length > 0) req['initialResourceVersions'] = versions;
      } else {
        const before = st.sent === '*' ? new Set(['*']) : st.sent ?? new Set<string>();
        const after = want === '*' ? new Set(['*']) : want;
        const sub = [...after].filter((n) => !before.has(n));
        const unsub = [...before].filter((n) => !after.has(n));
        if (sub.length) req['resourceNamesSubscribe'] = sub;
        if (unsub.length) req['resourceNamesUnsubscribe'] = unsub;
      }
      st.sent = want;
      this.#send(req);
    } else {
      st.sent = want;
      st.sentBytes = undefined;
      this.#send(this.#sotwRequest(typeUrl, st, undefined));
    }
    this.#handler.onRequested(typeUrl);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#call.cancel();
  }

  // Every SotW request for a type repeats its whole name list (10k names at 10k services): the
  // list is encoded when it changes, and each ACK appends those bytes instead of sorting and
  // encoding the names again in the turn that handled the response. Names go in the order they
  // were subscribed; the server reads them as a set.
  #sotwRequest(typeUrl: string, st: TypeState, errorDetail: string | undefined): Record<string | symbol, unknown> {
    st.sentBytes ??= st.sent === '*' || st.sent === undefined ? new Uint8Array(0) : encodeResourceNames([...st.sent]);
    const req: Record<string | symbol, unknown> = {
      versionInfo: st.version,
      typeUrl,
      responseNonce: st.nonce,
      [ENCODED_NAMES]: st.sentBytes,
    };
    if (errorDetail !== undefined) req['errorDetail'] = { code: INVALID_ARGUMENT, message: errorDetail };
    return req;
  }

  #send(req: Record<string | symbol, unknown>): void {
    if (this.#closed) return;
    // The node goes on the first request only (Envoy and gRPC both do this; servers keep it).
    if (!this.#nodeSent) {
      req['node'] = this.#node;
      this.#nodeSent = true;
    }
    this.#call.write(req);
  }

  #onData(bytes: Buffer): void {
    if (this.#closed) return;
    this.#healthy = true;
    this.#queue.push(bytes);
    if (!this.#pumping) this.#pump();
  }

  // Responses are handled one at a time, in order. Handling one is a generator that yields
  // between resources, while decoding them and while the client applies them; it runs on in
  // this turn of the event loop until the turn's budget is used (turn-budget.ts), then goes
  // on in the next (setImmediate), so a 10k-resource response is many short pauses instead of
  // one long one, and a small response is still answered before 'data' returns.
  #pump(): void {
    this.#pumping = true;
    try {
      while (!this.#closed) {
        if (!this.#current) {
          const bytes = this.#queue.shift();
          if (!bytes) break;
          this.#current = this.delta ? this.#onDelta(bytes) : this.#onSotw(bytes);
        }
        if (!runSlice(this.#current)) {
          setImmediate(() => this.#pump());
          return;
        }
        this.#current = undefined;
      }
    } catch (err) {
      this.#failure = `response handling failed: ${err instanceof Error ? err.message : String(err)}`;
      this.close();
    }
    // Closed mid-response: end the handling so the client counts what it applied so far.
    this.#current?.return();
    this.#current = undefined;
    this.#pumping = false;
  }

  /**
   * Decodes and validates each resource of a SotW response, yielding after each, and within a
   * large one (see #pump); one the client holds byte for byte is not decoded, and a run of
   * those yields every UNCHANGED_PER_STEP. One found in place (resource i held as resource i of
   * the last response was) costs one compare and makes no object but its update.
   */
  *#decodeSotw(type: ResourceType, spans: ResourceSpans, version: string): Generator<void, ResourceUpdate[]> {
    const out: ResourceUpdate[] = [];
    const last = this.#lastResponse.get(type.typeUrl);
    const n = spans.length;
    // The resources at either end equal to the last response's, found without a compare each.
    const { head, tail } = last?.spans ? spans.sameEnds(last.spans) : { head: 0, tail: 0 };
    const shift = (last?.spans?.length ?? 0) - n;
    let quick = 0;
    for (let i = 0; i < n; i++) {
      let holder: ResourceHolder | undefined;
      let at = i;
      // At the ends the whole Any, type URL included, is the one recorded as held, which only a
      // resource of this type can be: its type URL is not even read.
      if (i < head) holder = last!.heldAt(i);
      else if (i >= n - tail) holder = last!.heldAt((at = i + shift));
      const typeUrl = holder ? type.typeUrl : spans.typeUrlAt(i);
      if (!holder && last && typeUrl === type.typeUrl) holder = last.holderAt(i, spans.whole, spans.startAt(i), spans.endAt(i));
      let u: ResourceUpdate | undefined = holder && { name: last!.nameAt(at)!, version, value: undefined, error: undefined, bytes: holder.bytes!, unchanged: true, holder };
      if (!u) {
        const raw: RawResource = { typeUrl, bytes: spans.bytesAt(i) };
        u = this.#sameAsLast(type, raw, version, last, i) ?? this.#unchanged(type, raw, version);
        if (!u) {
          // A resend's changed resource keeps a copy of its bytes, not a view that would keep
          // this whole response (every assignment of the mesh) alive for one of them. The
          // first response of a type is kept whole anyway: its resources are all in force.
          u = yield* decodeResourceSteps(type, last ? { typeUrl, bytes: new Uint8Array(raw.bytes) } : raw, version);
          yield;
          out.push(u);
          continue;
        }
      }
      if (++quick % UNCHANGED_PER_STEP === 0) yield;
      out.push(u);
    }
    return out;
  }

  /** Decodes and validates each resource of a delta response (all changed: no comparison in place). */
  *#decodeDelta(type: ResourceType, raws: readonly RawResource[]): Generator<void, ResourceUpdate[]> {
    const out: ResourceUpdate[] = [];
    let quick = 0;
    for (const raw of raws) {
      const v = raw.version ?? '';
      let u = this.#unchanged(type, raw, v);
      if (u) {
        if (++quick % UNCHANGED_PER_STEP === 0) yield;
      } else {
        u = yield* decodeResourceSteps(type, raw, v);
        yield;
      }
      out.push(u);
    }
    return out;
  }

  /**
   * Records a SotW response, once applied, for the next resend's in-place comparison: each
   * resource's name, bytes and holder (known for those found unchanged; looked up for the rest,
   * which were decoded anyway).
   */
  *#record(type: ResourceType, updates: readonly ResourceUpdate[], spans: ResourceSpans): Generator<void, void> {
    const names: string[] = new Array(updates.length);
    const views: Uint8Array[] = new Array(updates.length);
    const holders: (ResourceHolder | undefined)[] = new Array(updates.length);
    for (let i = 0; i < updates.length; i++) {
      if ((i + 1) % RECORD_PER_STEP === 0) yield;
      const u = updates[i]!;
      names[i] = u.name;
      views[i] = u.bytes;
      const holder = u.holder ?? (u.name === '' ? undefined : this.#handler.holderOf?.(type.typeUrl, u.name));
      // Held only if the holder took these very bytes (a rejected resource's holder keeps its old ones).
      holders[i] = holder?.bytes === u.bytes ? holder : undefined;
    }
    this.#lastResponse.set(type.typeUrl, new LastResponse(names, views, holders, spans));
  }

  /**
   * Resource i is the bytes resource i of the last response was, and the client holds them
   * (a SotW resend, in the server's order): unchanged, its name known without reading it.
   */
  #sameAsLast(type: ResourceType, raw: RawResource, version: string, last: LastResponse | undefined, i: number): ResourceUpdate | undefined {
    if (!last || raw.name || raw.typeUrl !== type.typeUrl) return undefined;
    const name = last.nameIfSame(i, raw.bytes);
    if (!name) return undefined;
    const held = this.#handler.heldBytes(type.typeUrl, name);
    if (held === undefined || (held !== last.viewAt(i) && !sameBytes(held, raw.bytes))) return undefined;
    // The bytes held stay: equal, and taking the new view would keep this whole response alive.
    return { name, version, value: undefined, error: undefined, bytes: held, unchanged: true };
  }

  *#onSotw(bytes: Uint8Array): Generator<void, void> {
    const env = yield* readSotwSpansSteps(bytes);
    if (!env.ok) return this.#protocolError(env.error);
    const { typeUrl, versionInfo, nonce } = env.value;
    const type = this.#handler.typeOf(typeUrl);
    const st = this.#types.get(typeUrl);
    if (!type || !st) {
      // Not something we asked for: NACK it so the server's logs say why nothing happened.
      this.#send({ typeUrl, versionInfo: '', responseNonce: nonce, errorDetail: { code: INVALID_ARGUMENT, message: `type ${typeUrl} was not requested` } });
      return;
    }
    const over = limitExceeded(this.#limits, bytes.byteLength, env.value.resources.length);
    if (over !== undefined) {
      st.nonce = nonce;
      this.#handler.onRefused(typeUrl, over);
      this.#send(this.#sotwRequest(typeUrl, st, over));
      return;
    }
    const updates = yield* this.#decodeSotw(type, env.value.resources, versionInfo);
    const nack = yield* this.#handler.onResponse({ type, delta: false, versionInfo, updates, removed: [] });
    yield* this.#record(type, updates, env.value.resources);
    // The nonce is taken only now: a subscription change sent while this response was being
    // handled carried the previous one (servers ignore it as stale), and this ACK carries the
    // full name list anyway.
    st.nonce = nonce;
    if (nack === undefined) st.version = versionInfo;
    this.#send(this.#sotwRequest(typeUrl, st, nack));
  }

  *#onDelta(bytes: Uint8Array): Generator<void, void> {
    const env = yield* readDeltaResponseSteps(bytes);
    if (!env.ok) return this.#protocolError(env.error);
    const { typeUrl, systemVersionInfo, nonce, removedResources } = env.value;
    const type = this.#handler.typeOf(typeUrl);
    if (!type || !this.#types.has(typeUrl)) {
      this.#send({ typeUrl, responseNonce: nonce, errorDetail: { code: INVALID_ARGUMENT, message: `type ${typeUrl} was not requested` } });
      return;
    }
    const over = limitExceeded(this.#limits, bytes.byteLength, env.value.resources.length + removedResources.length);
    if (over !== undefined) {
      this.#handler.onRefused(typeUrl, over);
      this.#send({ typeUrl, responseNonce: nonce, errorDetail: { code: INVALID_ARGUMENT, message: over } });
      return;
    }
    const updates = yield* this.#decodeDelta(type, env.value.resources);
    const nack = yield* this.#handler.onResponse({ type, delta: true, versionInfo: systemVersionInfo, updates, removed: removedResources });
    const req: Record<string, unknown> = { typeUrl, responseNonce: nonce };
    if (nack !== undefined) req['errorDetail'] = { code: INVALID_ARGUMENT, message: nack };
    this.#send(req);
  }

  // A SotW server resends every resource of a type on each change (every endpoint list of the
  // mesh when one changes): those the client holds byte for byte are not decoded again.
  #unchanged(type: ResourceType, raw: RawResource, version: string): ResourceUpdate | undefined {
    const name = raw.name || peekResourceName(raw.bytes);
    if (name !== undefined && raw.typeUrl === type.typeUrl) {
      const held = this.#handler.heldBytes(type.typeUrl, name);
      if (held !== undefined && sameBytes(held, raw.bytes)) return { name, version, value: undefined, error: undefined, bytes: held, unchanged: true };
    }
    return undefined;
  }

  /** A response we cannot even take apart: end the stream; the client reconnects. */
  #protocolError(error: string): void {
    this.#failure = `undecodable response: ${error}`;
    this.close();
  }

  #end(status: grpc.StatusObject): void {
    this.#closed = true;
    if (this.#ended) return;
    this.#ended = true;
    const report = this.#failure !== undefined ? { ...status, code: grpc.status.INTERNAL, details: this.#failure } : status;
    this.#handler.onClosed(this, this.#healthy, report);
  }
}

function sameSubscription(a: Set<string> | '*' | undefined, b: Set<string> | '*'): boolean {
  if (a === '*' || b === '*') return a === b;
  if (!a || a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}
