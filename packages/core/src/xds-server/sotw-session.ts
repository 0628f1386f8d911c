// One state-of-the-world ADS stream on the server side. Each type's request names what the
// client wants (empty LDS/CDS names, or '*', = everything); each response holds all of it, at
// the store version, under a fresh nonce. An ACK or NACK answers a nonce; a request carrying
// an older nonce is stale and ignored (the client will see the newer response). A push is
// sent for a type only when its content for this client changed.

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.ts';
import { CLUSTER, LISTENER } from '../config/xds/resource-types.ts';
import { SessionStream, type SessionRequest } from './session-stream.ts';
import { servedResource, type ServedResource, type ServedSnapshot, type XdsConfigStore } from './config-store.ts';

interface TypeState {
  names: Set<string> | '*';
  nonce: string;
  /** Names and versions last sent, to skip pushes that change nothing for this client. */
  digest: string;
}

interface SotwRequest extends SessionRequest {
  resourceNames?: string[];
}

export class SotwSession {
  readonly #stream: SessionStream<SotwRequest>;
  readonly #types = new Map<string, TypeState>();
  #nonce = 0;

  constructor(call: grpc.ServerDuplexStream<Buffer, Uint8Array>, store: XdsConfigStore, logger: Logger) {
    this.#stream = new SessionStream(call, store, logger, false, {
      request: (req, typeUrl) => this.#onRequest(req, typeUrl),
      storeChanged: () => this.#pushAll(),
    });
  }

  close(): void {
    this.#stream.close();
  }

  #onRequest(req: SotwRequest, typeUrl: string): void {
    const st = this.#types.get(typeUrl);
    const nonce = req.responseNonce ?? '';
    if (st && nonce !== '' && nonce !== st.nonce) return; // stale: answers an older response
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
    if (this.#stream.closed) return;
    const st = this.#types.get(typeUrl)!;
    const snapshot = this.#stream.snapshot();
    const resources = select(snapshot, typeUrl, st.names);
    const digest = resources.map((r) => `${r.name}@${r.version}`).join(',');
    if (!force && digest === st.digest) return;
    // RDS/EDS with nothing asked for: nothing to say.
    if (st.names !== '*' && st.names.size === 0 && !force) return;
    st.digest = digest;
    st.nonce = String(++this.#nonce);
    this.#stream.write({
      versionInfo: snapshot.version,
      resources: resources.map((r) => ({ '@type': typeUrl, '@bytes': r.bytes })),
      typeUrl,
      nonce: st.nonce,
    });
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
