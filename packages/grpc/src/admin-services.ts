// Admin services for grpc-js servers: CSDS (envoy.service.status.v3.ClientStatusDiscoveryService)
// reporting the meshes this process routes with, as @grpc/grpc-js-xds reports its xDS clients.
// Two ways in, as with grpc-js-xds:
//  - addMeshAdminServices(server, mesh): on one server, explicitly;
//  - grpc-js's own addAdminServicesToServer(server): picks up the CSDS service once a mesh is
//    registered with it (register(mesh) and @meshlet/grpc/xds's register() do that), listing
//    every mesh registered so far.

import { experimental, type Server } from '@grpc/grpc-js';
import { CSDS_SERVICE_DEFINITION, csdsHandlers, type Mesh } from '@meshlet/core';

/** Meshes CSDS reports through grpc-js's admin registry; a pending one counts once it resolves. */
const registered = new Set<Mesh>();
let adminServiceRegistered = false;

/** Serves CSDS for `meshes` on `server`. */
export function addMeshAdminServices(server: Server, ...meshes: Mesh[]): void {
  server.addService(CSDS_SERVICE_DEFINITION, csdsHandlers(() => meshes));
}

/** Makes grpc-js's addAdminServicesToServer serve CSDS for `mesh` (and every mesh registered before). */
export function registerMeshAdmin(mesh: Mesh | Promise<Mesh>): void {
  if (!adminServiceRegistered) {
    adminServiceRegistered = true;
    experimental.registerAdminService(() => CSDS_SERVICE_DEFINITION, () => csdsHandlers(() => registered));
  }
  if (mesh instanceof Promise) mesh.then((m) => registerMeshAdmin(m), () => { /* reported to its channels */ });
  else {
    registered.add(mesh);
    mesh.onClose(() => { registered.delete(mesh); });
  }
}
