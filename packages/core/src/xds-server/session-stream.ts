// What every ADS server session (state-of-the-world and delta) does with its gRPC stream, so
// each session holds only its protocol: send headers at once (the client then knows the stream
// is up before there is data), decode each request and learn the client's node from the first,
// skip types this server does not serve, log NACKs, follow the config store, compile the store
// for this client, and close however the stream ends.

import type * as grpc from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import type { Logger } from '../logger.ts';
import { decodeRequest, encodeResponse } from '../xds/discovery-envelope.ts';
import { resourceTypeOf } from '../config/xds/resource-types.ts';
import { identityOfNode, type NodeJson } from './client-identity.ts';
import type { ServedSnapshot, XdsConfigStore } from './config-store.ts';

/** The fields every DiscoveryRequest and DeltaDiscoveryRequest share. */
export interface SessionRequest {
  node?: NodeJson;
  typeUrl?: string;
  responseNonce?: string;
  errorDetail?: { message?: string };
}

export interface SessionProtocol<R extends SessionRequest> {
  /** A decoded request for a type this server serves. */
  request(req: R, typeUrl: string): void;
  /** The config store changed: push what changed for this client. */
  storeChanged(): void;
}

export class SessionStream<R extends SessionRequest> {
  readonly #call: grpc.ServerDuplexStream<Buffer, Uint8Array>;
  readonly #store: XdsConfigStore;
  readonly #logger: Logger;
  readonly #delta: boolean;
  readonly #unsubscribe: () => void;
  #node: NodeJson | undefined;
  #closed = false;

  constructor(call: grpc.ServerDuplexStream<Buffer, Uint8Array>, store: XdsConfigStore, logger: Logger, delta: boolean, protocol: SessionProtocol<R>) {
    this.#call = call;
    this.#store = store;
    this.#logger = logger;
    this.#delta = delta;
    this.#unsubscribe = store.onChange(() => protocol.storeChanged());
    call.sendMetadata(new Metadata());
    call.on('data', (bytes: Buffer) => this.#onRequest(bytes, protocol));
    const close = () => this.close();
    call.on('end', close);
    call.on('error', close);
    call.on('cancelled', close);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The store's resources compiled for this client (its node's namespace and labels). */
  snapshot(): ServedSnapshot {
    return this.#store.snapshotFor(identityOfNode(this.#node));
  }

  /** Sends a (Delta)DiscoveryResponse, unless the stream is closed. */
  write(response: object): void {
    if (!this.#closed) this.#call.write(encodeResponse(this.#delta, response));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#call.end();
  }

  #onRequest(bytes: Buffer, protocol: SessionProtocol<R>): void {
    const decoded = decodeRequest(this.#delta, bytes);
    const kind = this.#delta ? 'DeltaDiscoveryRequest' : 'DiscoveryRequest';
    if (!decoded.ok) {
      this.#logger.warn({ error: decoded.error.message }, `undecodable ${kind} ignored`);
      return;
    }
    const req = decoded.value as R & { versionInfo?: string };
    this.#node ??= req.node;
    const typeUrl = req.typeUrl ?? '';
    if (!resourceTypeOf(typeUrl)) {
      this.#logger.warn({ node: this.#node?.id, typeUrl }, 'request for a type this server does not serve');
      return;
    }
    if (req.errorDetail) {
      this.#logger.warn({ node: this.#node?.id, typeUrl, version: req.versionInfo, nonce: req.responseNonce, error: req.errorDetail.message }, 'client NACKed');
    }
    protocol.request(req, typeUrl);
  }
}
