// Sends global fetch (and undici's top-level request()) through the mesh.

import { getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import type { Mesh } from '@meshlet/core';
import { MeshAgent, type MeshAgentOptions } from './mesh-agent.ts';

/** Installs a MeshAgent as the global dispatcher; the returned function restores the previous one. */
export function installGlobalDispatcher(mesh: Mesh, opts: Omit<MeshAgentOptions, 'mesh'> = {}): () => Promise<void> {
  const previous: Dispatcher = getGlobalDispatcher();
  const agent = new MeshAgent({ ...opts, mesh });
  setGlobalDispatcher(agent);
  return async () => {
    setGlobalDispatcher(previous);
    await agent.close();
  };
}
