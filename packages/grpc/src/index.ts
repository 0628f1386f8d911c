// @meshlet/grpc: grpc-js clients routed by the mesh. After register(mesh), any grpc-js client
// (generated, or from makeGenericClientConstructor) created with a mesh:///<host>:<port> target
// gets the mesh's routes, weighted splits, balancing, timeouts, retries and faults, through
// grpc-js's own extension points: a resolver, a config selector, a load-balancing policy.
// bindMesh() / meshServerCredentials() are the inbound side: mesh mTLS as PeerAuthentication
// says and AuthorizationPolicy for a grpc-js server (server-credentials.ts). register() also
// makes grpc-js's addAdminServicesToServer serve CSDS for the mesh (admin-services.ts).

import type { Mesh } from '@meshlet/core';
import { registerMeshBalancer } from './load-balancer-mesh.ts';
import { registerMeshResolver, setMeshSource } from './resolver-mesh.ts';
import { registerMeshAdmin } from './admin-services.ts';

export interface RegisterOptions {
  /**
   * Also serve xds:///<host>:<port> targets from this mesh, so code written for
   * @grpc/grpc-js-xds works unchanged (default false).
   */
  xds?: boolean;
}

// The mesh: scheme is known to grpc-js from the moment this package loads, so a mesh:/// client
// created before register(mesh) fails its calls with a message saying so, rather than with
// grpc-js's "Could not find a default scheme".
registerMeshBalancer();
registerMeshResolver('mesh');

/** Routes mesh:/// targets (and xds:/// with `{ xds: true }`) of every grpc-js client through `mesh`. Channels created before keep the mesh they resolved with. */
export function register(mesh: Mesh, options: RegisterOptions = {}): void {
  registerMeshBalancer();
  registerMeshResolver('mesh');
  setMeshSource('mesh', mesh);
  registerMeshAdmin(mesh);
  if (options.xds) {
    registerMeshResolver('xds');
    setMeshSource('xds', mesh);
  }
}

/** Stops serving new channels for these schemes (default both); existing channels keep working. */
export function unregister(schemes: readonly ('mesh' | 'xds')[] = ['mesh', 'xds']): void {
  for (const s of schemes) setMeshSource(s, undefined);
}

export { MeshChannelCredentials, meshCredentials, CLUSTER_ARG, type MeshCredentialsOptions } from './credentials.ts';
export { httpToGrpcStatus } from './status-mesh.ts';
export { bindMesh, meshServerCredentials, meshAuthorizationInterceptor, peerIdentityOfCall, type BindMeshOptions, type MeshBinding, type MeshServerCredentialsOptions } from './server-credentials.ts';
export { addMeshAdminServices, registerMeshAdmin } from './admin-services.ts';
