// @meshlet/http: undici and fetch requests routed by the mesh.

export { MeshAgent, type MeshAgentOptions } from './mesh-agent.ts';
export { installGlobalDispatcher } from './install-global.ts';
export { createMeshServer, MeshServer, peerIdentity, type MeshServerOptions, type MeshRequestListener, type MeshServerRequest, type MeshServerResponse, type RefusedConnection, type RejectedRequest } from './server-mtls.ts';
