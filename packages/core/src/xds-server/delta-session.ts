// One incremental (delta) ADS stream on the server side. The client subscribes and
// unsubscribes by name ('*' = wildcard; an empty first LDS/CDS request is the legacy
// wildcard); the server remembers which version of each resource the client has — seeded from
// initial_resource_versions on a reconnect — and sends only resources whose version differs,
// plus the names that went away. A subscribed name the server does not have is reported in
// removed_resources at once, so the client need not wait out its does-not-exist timer.

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.ts';
import { CLUSTER, LISTENER } from '../config/xds/resource-types.ts';
import { SessionStream, type SessionRequest } from './session-stream.ts';
import { servedResource, type XdsConfigStore } from './config-store.ts';

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** What the client holds: name → version ('' = told it does not exist). */
  known: Map<string, string>;
}

interface DeltaRequest extends SessionRequest {
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
}

export class DeltaSession {
  readonly #stream: SessionStream<DeltaRequest>;
  readonly #types = new Map<string, TypeState>();
  #nonce = 0;

  constructor(call: grpc.ServerDuplexStream<Buffer, Uint8Array>, store: XdsConfigStore, logger: Logger) {
    this.#stream = new SessionStream(call, store, logger, true, {
      request: (req, typeUrl) => this.#onRequest(req, typeUrl),
      storeChanged: () => {
        for (const typeUrl of this.#types.keys()) this.#send(typeUrl);
      },
    });
  }

  close(): void {
    this.#stream.close();
  }

  #onRequest(req: DeltaRequest, typeUrl: string): void {
    const sub = req.resourceNamesSubscribe ?? [];
    const unsub = req.resourceNamesUnsubscribe ?? [];
    let st = this.#types.get(typeUrl);
    if (!st) {
      const legacyWildcard = sub.length === 0 && (typeUrl === LISTENER.typeUrl || typeUrl === CLUSTER.typeUrl);
      st = { wildcard: legacyWildcard, names: new Set(), known: new Map(Object.entries(req.initialResourceVersions ?? {})) };
      this.#types.set(typeUrl, st);
    }
    for (const n of sub) {
      if (n === '*') st.wildcard = true;
      else st.names.add(n);
    }
    for (const n of unsub) {
      if (n === '*') st.wildcard = false;
      else {
        st.names.delete(n);
        st.known.delete(n);
      }
    }
    // An ACK/NACK alone changes nothing to send; a subscription change may.
    if (sub.length > 0 || unsub.length > 0 || req.responseNonce === undefined || req.responseNonce === '') this.#send(typeUrl);
  }

  #send(typeUrl: string): void {
    if (this.#stream.closed) return;
    const st = this.#types.get(typeUrl)!;
    const snapshot = this.#stream.snapshot();
    const all = snapshot.byType.get(typeUrl) ?? new Map();
    const resources: { version: string; name: string; resource: object }[] = [];
    const removed: string[] = [];
    const wanted = st.wildcard ? new Set([...all.keys(), ...st.names]) : st.names;
    for (const name of wanted) {
      const r = servedResource(snapshot, typeUrl, name);
      if (r) {
        if (st.known.get(name) === r.version) continue;
        st.known.set(name, r.version);
        resources.push({ version: r.version, name, resource: { '@type': typeUrl, '@bytes': r.bytes } });
      } else if (st.known.get(name) !== '') {
        st.known.set(name, '');
        removed.push(name);
      }
    }
    // Resources the client held under a wildcard that no longer exist.
    for (const [name, v] of st.known) {
      if (v !== '' && !wanted.has(name) && !all.has(name)) {
        st.known.set(name, '');
        removed.push(name);
      }
    }
    if (resources.length === 0 && removed.length === 0) return;
    this.#stream.write({ systemVersionInfo: snapshot.version, resources, typeUrl, nonce: String(++this.#nonce), removedResources: removed });
  }
}
