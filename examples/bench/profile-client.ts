// The client the single-process profiling aids (profile-young.ts, alloc-sites.ts) drive: the
// bench upstream in its own process, and in this one either a plain undici Agent or MeshAgent
// over the bench's mesh config, so both aids compare the same two clients.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { startUpstream, writeMeshConfig, type Upstream } from './fixtures.ts';

export interface ProfileClient {
  upstream: Upstream;
  dispatcher: Dispatcher;
  /** Closes the dispatcher and the mesh, stops the upstream, removes the config folder. */
  close(): Promise<void>;
}

export async function startProfileClient(plain: boolean): Promise<ProfileClient> {
  const upstream = await startUpstream(undefined);
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-profile-'));
  writeMeshConfig(dir, upstream.ports, undefined);
  let dispatcher: Dispatcher;
  let closeMesh = async () => {};
  if (plain) {
    dispatcher = new Agent();
  } else {
    // Imported only here, so a `plain` run's process has no mesh in it.
    const { createMesh } = await import('@meshlet/core');
    const { MeshAgent } = await import('@meshlet/http');
    const mesh = await createMesh({ config: dir, watch: false });
    dispatcher = new MeshAgent({ mesh });
    closeMesh = () => mesh.close();
  }
  return {
    upstream,
    dispatcher,
    async close() {
      await dispatcher.close();
      await closeMesh();
      upstream.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
