// One state-of-the-world ADS stream on the server side. Each type's request names what the
// client wants (empty LDS/CDS names, or '*', = everything). Every response goes out under a
// fresh nonce at the store version; an ACK or NACK answers a nonce; a request carrying an older
// nonce is stale and ignored (the client will see the newer response).
//
// What a response holds depends on the type (the xDS protocol's "Grouping Resources into
// Responses", and what Envoy, gRPC and istiod do):
// - Listener and Cluster (`sotwComplete`): every wanted resource, every time — the client
//   reads one left out as deleted. Sent only when this client's listing changed.
// - RouteConfiguration and ClusterLoadAssignment: only what the client lacks. A resource left
//   out is not deleted, so one endpoint change sends one ClusterLoadAssignment, not the mesh's
//   10k. Per type the stream remembers name → version last sent, and sends
//   · on the first request of a stream (no nonce; a reconnect is a new stream): all wanted;
//   · when the store changes: the wanted resources whose version differs from the one sent;
//   · when the name set grows: the newly wanted names; when it only shrinks: nothing.
// Corner cases of the partial types:
// - A NACK leaves the client on its last good resource. Nothing is resent for it (the
//   version is remembered as sent); the next change of that resource sends it again, as istiod
//   does — resending the same bytes would only be NACKed again. A client
//   that rejects a whole response (Envoy) also stays on its older copies of the good resources
//   in it until they next change, as it would behind istiod.
// - A resource deleted from the store while still wanted cannot be said in SotW: a response
//   leaving it out means nothing to the client. Its deletion reaches the client through its
//   parent (the Listener or Cluster naming it goes away, and the client drops the name). The
//   stream forgets having sent it, so if it comes back it is sent.
// - A name the client stops wanting is forgotten at once, so wanting it again sends it again
//   (the client dropped its copy with the subscription).

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.ts';
import { CLUSTER, LISTENER, resourceTypeOf } from '../config/xds/resource-types.ts';
import { SessionStream, type SessionRequest } from './session-stream.ts';
import { servedResource, type ServedResource, type ServedSnapshot, type XdsConfigStore } from './config-store.ts';

interface TypeState {
  names: Set<string> | '*';
  nonce: string;
  /** Whether a response must list everything wanted (LDS, CDS). */
  complete: boolean;
  /** Complete types: names and versions last sent, to skip pushes that change nothing for this client. */
  digest: string;
  /** Partial types: what the client was sent and still wants, name → version. */
  sent: Map<string, string>;
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
    // A new stream's first request (no nonce) always gets an answer, with everything wanted.
    if (!st || nonce === '') {
      const complete = resourceTypeOf(typeUrl)!.sotwComplete;
      this.#types.set(typeUrl, { names: want, nonce: '', complete, digest: '', sent: new Map() });
      this.#send(typeUrl, true);
      return;
    }
    const before = st.names;
    st.names = want;
    if (st.complete) {
      const changed = want === '*' || before === '*' ? want !== before : want.size !== before.size || [...want].some((n) => !before.has(n));
      if (changed) this.#send(typeUrl, true);
      return;
    }
    // Partial: names no longer wanted are forgotten; the newly wanted ones are not in `sent`,
    // so the push below sends them (and only them, unless the store moved meanwhile).
    if (want !== '*') for (const n of st.sent.keys()) if (!want.has(n)) st.sent.delete(n);
    const grew = before !== '*' && (want === '*' || [...want].some((n) => !before.has(n)));
    if (grew) this.#send(typeUrl, false);
  }

  #pushAll(): void {
    for (const typeUrl of this.#types.keys()) this.#send(typeUrl, false);
  }

  /** `force`: answer even when there is nothing new (a stream's first request; a changed LDS/CDS name set). */
  #send(typeUrl: string, force: boolean): void {
    if (this.#stream.closed) return;
    const st = this.#types.get(typeUrl)!;
    const snapshot = this.#stream.snapshot();
    const wanted = select(snapshot, typeUrl, st.names);
    let resources: ServedResource[];
    if (st.complete) {
      const digest = wanted.map((r) => `${r.name}@${r.version}`).join(',');
      if (!force && digest === st.digest) return;
      st.digest = digest;
      resources = wanted;
    } else {
      resources = wanted.filter((r) => st.sent.get(r.name) !== r.version);
      for (const r of resources) st.sent.set(r.name, r.version);
      // Sent once but gone from the store: forget it, so that it is sent if it comes back.
      if (st.sent.size > wanted.length) {
        const present = new Set(wanted.map((r) => r.name));
        for (const n of st.sent.keys()) if (!present.has(n)) st.sent.delete(n);
      }
      if (!force && resources.length === 0) return;
    }
    st.nonce = String(++this.#nonce);
    this.#stream.write({
      versionInfo: snapshot.version,
      resources: resources.map((r) => ({ '@type': typeUrl, '@bytes': r.bytes })),
      typeUrl,
      nonce: st.nonce,
    });
  }
}

/** The wanted resources of a type the snapshot has. */
function select(snapshot: ServedSnapshot, typeUrl: string, names: Set<string> | '*'): ServedResource[] {
  if (names === '*') return [...(snapshot.byType.get(typeUrl)?.values() ?? [])];
  const out: ServedResource[] = [];
  for (const n of names) {
    const r = servedResource(snapshot, typeUrl, n);
    if (r) out.push(r);
  }
  return out;
}
