// The server-side config in force: PeerAuthentication, AuthorizationPolicy and
// RequestAuthentication objects, and the Sidecars (ingress listeners, inbound connection pools),
// from CRD files (in xDS mode the server's inbound listener carries them instead: ../server/server-policy.ts).
// Like the MeshSnapshot, the lists are replaced whole; a server helper reads them per connection
// (mTLS mode) and per request (authorization), so an edit applies to the next one without a restart.

import type { AuthorizationPolicy, MeshObject, PeerAuthentication, RequestAuthentication, Sidecar } from '../istio/types.ts';

export class SecurityPolicies {
  #peer: readonly PeerAuthentication[] = [];
  #authz: readonly AuthorizationPolicy[] = [];
  #requestAuthn: readonly RequestAuthentication[] = [];
  #sidecars: readonly Sidecar[] = [];
  #version = 0;

  get peerAuthentications(): readonly PeerAuthentication[] { return this.#peer; }
  get authorizationPolicies(): readonly AuthorizationPolicy[] { return this.#authz; }
  get requestAuthentications(): readonly RequestAuthentication[] { return this.#requestAuthn; }
  get sidecars(): readonly Sidecar[] { return this.#sidecars; }
  /** Grows by one with every update. */
  get version(): number { return this.#version; }

  /** Replaces the lists with the matching objects of a complete config set. */
  update(objects: readonly MeshObject[]): void {
    this.#peer = objects.filter((o): o is PeerAuthentication => o.kind === 'PeerAuthentication');
    this.#authz = objects.filter((o): o is AuthorizationPolicy => o.kind === 'AuthorizationPolicy');
    this.#requestAuthn = objects.filter((o): o is RequestAuthentication => o.kind === 'RequestAuthentication');
    this.#sidecars = objects.filter((o): o is Sidecar => o.kind === 'Sidecar');
    this.#version++;
  }
}
