// @meshlet/http: undici and fetch requests routed by the mesh.

export { MeshAgent, type MeshAgentOptions } from './mesh-agent.ts';
export { installGlobalDispatcher } from './install-global.ts';
