// @meshlet/http: undici, fetch and node:http requests routed by the mesh.

export { MeshAgent, type MeshAgentOptions } from './mesh-agent.ts';
export { installGlobalDispatcher } from './install-global.ts';
export { MeshHttpAgent, MeshHttpsAgent, type MeshHttpAgentOptions, type MeshHttpsAgentOptions } from './node/mesh-http-agent.ts';
export { installGlobalAgents, type GlobalAgentOptions } from './node/install-agents.ts';
export { createMeshServer, MeshServer, peerIdentity, type MeshServerOptions, type MeshRequestListener, type MeshServerRequest, type MeshServerResponse, type RefusedConnection, type RejectedRequest, type OverflowedRequest } from './server-mtls.ts';
