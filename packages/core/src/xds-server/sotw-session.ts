// One state-of-the-world ADS stream on the server side. Each type's request names what the
// client wants (empty LDS/CDS names, or '*', = everything); each response holds all of it, at
// the store version, under a fresh nonce. An ACK or NACK answers a nonce; a request carrying
// an older nonce is stale and ignored (the client will see the newer response). A push is
// sent for a type only when its content for this client changed.

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.ts';
import { decodeRequest, encodeResponse } from '../xds/discovery-envelope.ts';
import { CLUSTER, LISTENER, resourceTypeOf } from '../xds/resource-types.ts';
import { identityOfNode, type NodeJson } from './client-identity.ts';
import { bindSessionStream } from './session-stream.ts';
import { servedResource, type ServedResource, type ServedSnapshot, type XdsConfigStore } from './config-store.ts';

interface TypeState {
  names: Set<string> | '*';
  nonce: string;
  /** Names and versions last sent, to skip pushes that change nothing for this client. */
  digest: string;
}

export class SotwSession {
  readonly #call: grpc.ServerDuplexStream<Buffer, Uint8Array>;
  readonly #store: XdsConfigStore;
  readonly #logger: Logger;
  readonly #types = new Map<string, TypeState>();
  readonly #unsubscribe: () => void;
  #node: NodeJson | undefined;
  #nonce = 0;
  #closed = false;

  constructor(call: grpc.ServerDuplexStream<Buffer, Uint8Array>, store: XdsConfigStore, logger: Logger) {
    this.#call = call;
    this.#store = store;
    this.#logger = logger;
    this.#unsubscribe = store.onChange(() => this.#pushAll());
    bindSessionStream(call, (b) => this.#onRequest(b), () => this.close());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#call.end();
  }

  #onRequest(bytes: Buffer): void {
    const decoded = decodeRequest(false, bytes);
    if (!decoded.ok) {
      this.#logger.warn({ error: decoded.error.message }, 'undecodable DiscoveryRequest ignored');
      return;
    }
    const req = decoded.value as { node?: NodeJson; typeUrl?: string; resourceNames?: string[]; responseNonce?: string; versionInfo?: string; errorDetail?: { message?: string } };
    this.#node ??= req.node;
    const typeUrl = req.typeUrl ?? '';
    if (!resourceTypeOf(typeUrl)) {
      this.#logger.warn({ node: this.#node?.id, typeUrl }, 'request for a type this server does not serve');
      return;
    }
    const st = this.#types.get(typeUrl);
    const nonce = req.responseNonce ?? '';
    if (st && nonce !== '' && nonce !== st.nonce) return; // stale: answers an older response
    if (req.errorDetail) {
      this.#logger.warn({ node: this.#node?.id, typeUrl, version: req.versionInfo, error: req.errorDetail.message }, 'client NACKed');
    }
    const names = req.resourceNames ?? [];
    const wildcard = names.includes('*') || (names.length === 0 && (typeUrl === LISTENER.typeUrl || typeUrl === CLUSTER.typeUrl) && (!st || st.names === '*'));
    const want: Set<string> | '*' = wildcard ? '*' : new Set(names);
    if (!st) {
      this.#types.set(typeUrl, { names: want, nonce: '', digest: '' });
      this.#send(typeUrl, true);
      return;
    }
    const changed = want === '*' || st.names === '*' ? want !== st.names : want.size !== st.names.size || [...want].some((n) => !(st.names as Set<string>).has(n));
    st.names = want;
    // A new stream's first request (no nonce) always gets an answer; so does a changed name set.
    if (changed || nonce === '') this.#send(typeUrl, true);
  }

  #pushAll(): void {
    for (const typeUrl of this.#types.keys()) this.#send(typeUrl, false);
  }

  #send(typeUrl: string, force: boolean): void {
    if (this.#closed) return;
    const st = this.#types.get(typeUrl)!;
    const snapshot = this.#store.snapshotFor(identityOfNode(this.#node));
    const resources = select(snapshot, typeUrl, st.names);
    const digest = resources.map((r) => `${r.name}@${r.version}`).join(',');
    if (!force && digest === st.digest) return;
    // RDS/EDS with nothing asked for: nothing to say.
    if (st.names !== '*' && st.names.size === 0 && !force) return;
    st.digest = digest;
    st.nonce = String(++this.#nonce);
    const response = {
      versionInfo: snapshot.version,
      resources: resources.map((r) => ({ '@type': typeUrl, '@bytes': r.bytes })),
      typeUrl,
      nonce: st.nonce,
    };
    this.#call.write(encodeResponse(false, response));
  }
}

export function select(snapshot: ServedSnapshot, typeUrl: string, names: Set<string> | '*'): ServedResource[] {
  if (names === '*') return [...(snapshot.byType.get(typeUrl)?.values() ?? [])];
  const out: ServedResource[] = [];
  for (const n of names) {
    const r = servedResource(snapshot, typeUrl, n);
    if (r) out.push(r);
  }
  return out;
}
