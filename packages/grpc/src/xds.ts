// A drop-in for @grpc/grpc-js-xds: change `import * as xds from '@grpc/grpc-js-xds'` to
// `import * as xds from '@meshlet/grpc/xds'` and xds:/// targets are served by Meshlet. The mesh
// is created on first use the way createMesh() does with no options: from GRPC_XDS_BOOTSTRAP
// (or GRPC_XDS_BOOTSTRAP_CONFIG) when set, else from the Istio YAML in MESHLET_CONFIG.
//
// Servers too: XdsServer with XdsServerCredentials serves each bound port through bindMesh, so
// its mTLS mode and authorization come from the server's inbound listener, as grpc-js-xds's do.

import { isIP } from 'node:net';
import { experimental, Server, ServerCredentials } from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@meshlet/core';
import { bindMesh, type MeshBinding } from './server-credentials.ts';
import { registerMeshBalancer } from './load-balancer-mesh.ts';
import { registerMeshResolver, setMeshSource } from './resolver-mesh.ts';
import { MeshChannelCredentials } from './credentials.ts';
import { registerMeshAdmin } from './admin-services.ts';

let pending: Promise<Mesh> | undefined;

function sharedMesh(): Promise<Mesh> {
  pending ??= createMesh();
  return pending;
}

/** Registers the xds: scheme with grpc-js, as @grpc/grpc-js-xds's register() does. */
export function register(): void {
  registerMeshBalancer();
  registerMeshResolver('xds');
  const mesh = sharedMesh();
  // A failure is reported to each channel that resolves (UNAVAILABLE with the reason), not thrown here.
  mesh.catch(() => {});
  setMeshSource('xds', mesh);
  // grpc-js's addAdminServicesToServer then serves CSDS for it, as grpc-js-xds's register() arranges.
  registerMeshAdmin(mesh);
}

/** The mesh behind xds:/// targets, once register() was called. */
export function mesh(): Promise<Mesh> | undefined {
  return pending;
}

/** @grpc/grpc-js-xds's name for credentials that follow the mesh per cluster, with a fallback. */
export { MeshChannelCredentials as XdsChannelCredentials };

/**
 * @grpc/grpc-js-xds's server credentials: security from the control plane (the inbound
 * listener's mTLS mode, the workload certificate of the bootstrap's certificate provider).
 * `fallback` is kept for the API's sake; a plaintext chain is served as plaintext.
 */
export class XdsServerCredentials extends ServerCredentials {
  readonly fallback: ServerCredentials;

  constructor(fallback: ServerCredentials) {
    super(null);
    this.fallback = fallback;
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * @grpc/grpc-js-xds's XdsServer: a grpc-js Server whose ports bound with XdsServerCredentials
 * follow their inbound listener (gRFC A36) through bindMesh. As in grpc-js-xds, such a port is
 * opened only once the control plane's listener for it is serving, and only then is the
 * bindAsync callback called — with an unreachable control plane, never: nothing listens and
 * nothing claims to be bound. The address must be IP:port with a non-zero port, since the
 * listener is named after it. Ports bound with other credentials are plain grpc-js ports.
 */
export class XdsServer extends Server {
  readonly #bindings = new Set<MeshBinding>();
  /** Aborts binds still waiting for their listener when the server shuts down. */
  readonly #pending = new AbortController();

  override bindAsync(port: string, creds: ServerCredentials, callback: (error: Error | null, port: number) => void): void {
    if (!(creds instanceof XdsServerCredentials)) {
      super.bindAsync(port, creds, callback);
      return;
    }
    const address = experimental.splitHostPort(port);
    if (!address?.port || isIP(address.host) === 0) {
      throw new Error(`Listening port string must have the format IP:port with non-zero port, got ${port}`);
    }
    const signal = this.#pending.signal;
    sharedMesh()
      .then((mesh) => bindMesh(this, { mesh, host: address.host, listenPort: address.port!, listenWhenServing: true, signal }))
      .then((binding) => {
        if (signal.aborted) return void binding.close();
        this.#bindings.add(binding);
        callback(null, binding.port);
      }, (err: Error) => {
        // Shut down before the listener arrived: like grpc-js-xds, the callback is never called.
        if (!signal.aborted) callback(err, 0);
      });
  }

  override forceShutdown(): void {
    this.#pending.abort();
    for (const b of this.#bindings) void b.close();
    this.#bindings.clear();
    super.forceShutdown();
  }

  override tryShutdown(callback: (error?: Error) => void): void {
    this.#pending.abort();
    const closing = [...this.#bindings].map((b) => b.close());
    this.#bindings.clear();
    Promise.all(closing).then(() => super.tryShutdown(callback), callback);
  }
}
