// Which listeners the control plane has, without waiting: the proxyless profile's answer to the
// 15 s does-not-exist wait. gRPC's xDS protocol never says "no such listener" for a name asked
// for (gRFC A27: the client waits 15 s), so the first request to any host outside the mesh used
// to wait that long. But a wildcard LDS request is answered with every listener of the client's
// scope — istiod's grpc generator returns one per service port, named `<fqdn>:<port>`, when the
// name list is empty, and `meshlet xds` does the same — and a state-of-the-world LDS answer is
// complete. So a second ADS stream on the same channel keeps that list: a name it lacks does not
// exist, now.
//
// It is a second stream, not the main one, because the main stream names the server helpers'
// inbound listeners (gRFC A36), which a wildcard answer never holds and istiod's grpc generator
// cannot mix with a wildcard in one state-of-the-world request. Only names are kept; each
// listener's bytes are held just to skip decoding it again when the server resends it.

import type * as grpc from '@grpc/grpc-js';
import { AdsStream, type ResponseBatch, type StreamHandler } from './ads-stream.ts';
import { Backoff, type BackoffOptions } from '../backoff.ts';
import { LISTENER, type ResourceType } from './resource-types.ts';
import type { ResponseLimits } from './response-limits.ts';
import { ok } from '../../xds/translate-result.ts';
import type { Logger } from '../../logger.ts';

/** Listeners read for their names only: their content is the main stream's business. */
const NAMES_ONLY: ResourceType = { ...LISTENER, validate: () => ok(undefined), references: () => [] };

export class ListenerDirectory implements StreamHandler {
  readonly #client: grpc.Client;
  readonly #delta: boolean;
  readonly #node: object;
  readonly #onChange: () => void;
  readonly #logger: Logger;
  readonly #backoff: Backoff;
  readonly #limits: ResponseLimits;
  readonly #held = new Map<string, Uint8Array>();
  #stream: AdsStream | undefined;
  #retry: NodeJS.Timeout | undefined;
  #answered = false;
  #closed = false;

  constructor(client: grpc.Client, delta: boolean, node: object, onChange: () => void, logger: Logger, limits: ResponseLimits, backoff?: BackoffOptions) {
    this.#client = client;
    this.#limits = limits;
    this.#delta = delta;
    this.#node = node;
    this.#onChange = onChange;
    this.#logger = logger;
    this.#backoff = new Backoff(backoff);
  }

  /** Whether `name` is one of the server's listeners: undefined until the server has answered. */
  has(name: string): boolean | undefined {
    return this.#answered ? this.#held.has(name) : undefined;
  }

  get size(): number | undefined {
    return this.#answered ? this.#held.size : undefined;
  }

  start(): void {
    if (this.#closed || this.#stream) return;
    const stream = new AdsStream(this.#client, this.#delta, this.#node, this, this.#limits);
    this.#stream = stream;
    stream.subscribe(LISTENER.typeUrl, '*', () => ({}));
  }

  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#stream?.close();
    this.#stream = undefined;
  }

  // ---- StreamHandler ------------------------------------------------------------------------

  typeOf(typeUrl: string): ResourceType | undefined {
    return typeUrl === LISTENER.typeUrl ? NAMES_ONLY : undefined;
  }

  heldBytes(_typeUrl: string, name: string): Uint8Array | undefined {
    return this.#held.get(name);
  }

  onRequested(): void { /* no timers: absence is the answer */ }

  onRefused(typeUrl: string, reason: string): void {
    // The names already held stay; the main stream's own answers are unaffected.
    this.#logger.warn({ typeUrl, reason }, 'xDS listener directory response NACKed: over a limit; the last list stays');
  }

  // A generator for the stream's sake; a name list is cheap to take whole, so it never yields.
  *onResponse(batch: ResponseBatch): Generator<void, undefined> {
    const before = this.#answered ? new Set(this.#held.keys()) : undefined;
    if (!batch.delta) {
      // A SotW LDS answer is complete: what it leaves out is gone.
      const present = new Set(batch.updates.map((u) => u.name));
      for (const name of [...this.#held.keys()]) if (!present.has(name)) this.#held.delete(name);
    }
    for (const name of batch.removed) this.#held.delete(name);
    for (const u of batch.updates) if (u.name !== '' && u.bytes) this.#held.set(u.name, u.bytes);
    this.#answered = true;
    const changed = !before || before.size !== this.#held.size || [...this.#held.keys()].some((n) => !before.has(n));
    if (changed) this.#onChange();
    // Always ACKed: a listener the main stream would reject is still a name that exists.
    return undefined;
  }

  onClosed(stream: AdsStream, healthy: boolean, status: grpc.StatusObject): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    if (this.#closed) return;
    if (healthy) this.#backoff.reset();
    const delay = this.#backoff.nextDelayMs();
    this.#logger.debug({ status: status.details, retryInMs: delay }, 'xDS listener directory stream closed; reconnecting');
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.start();
    }, delay);
    this.#retry.unref();
  }
}
