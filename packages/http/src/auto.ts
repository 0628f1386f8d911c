// `node --import @meshlet/http/auto app.js`: the mesh with no code change. From the environment
// (auto-env.ts) it creates the mesh before the application's first line runs, then sends
// through it every fetch()/undici request (the global dispatcher), every node:http and
// node:https request without an agent of its own (the global agents: axios, got, node-fetch,
// superagent, http.request), and — when @meshlet/grpc is installed — grpc-js mesh:/// targets
// (and xds:/// ones with MESHLET_GRPC_XDS=true). The mesh closes when the process is done.
//
// A config that does not load stops the process before the application starts, with
// createMesh's message (file:line for a YAML problem, the field for a bootstrap one) and exit
// code 1: a mesh half-configured at start is worse than none.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMesh, type Mesh } from '@meshlet/core';
import { autoSettings } from './auto-env.ts';
import { installGlobalDispatcher } from './install-global.ts';
import { installGlobalAgents } from './node/install-agents.ts';

interface GrpcAdapter {
  register(mesh: Mesh, options?: { xds?: boolean }): void;
}

/** @meshlet/grpc if this package or the application can load it; undefined when it is not installed. */
async function loadGrpcAdapter(): Promise<GrpcAdapter | undefined> {
  const name = '@meshlet/grpc';
  try {
    return await import(name) as GrpcAdapter;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  // Installed beside the application rather than beside this package (strict node_modules).
  let path: string;
  try {
    path = createRequire(join(process.cwd(), 'noop.js')).resolve(name);
  } catch {
    return undefined;
  }
  return await import(pathToFileURL(path).href) as GrpcAdapter;
}

async function start(): Promise<void> {
  const settings = autoSettings(process.env);
  if (!settings.enabled) return;
  const mesh = await createMesh(settings.mesh);
  const undo = [installGlobalDispatcher(mesh), installGlobalAgents(mesh)];
  const grpc = await loadGrpcAdapter();
  grpc?.register(mesh, { xds: settings.grpcXds });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= (async () => {
    await Promise.allSettled(undo.map((u) => u()));
    await mesh.close();
  })());
  // The event loop ran dry (the application is done): close, which lets the process exit.
  process.once('beforeExit', () => { void close(); });
  // A signal the application does not handle would end the process at once: close first
  // (bounded), then let the signal do what it would have done. An application with its own
  // handler decides for itself; the mesh then closes when the loop runs dry.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, onSignal);
      const timer = setTimeout(() => process.kill(process.pid, signal), 2_000);
      void close().finally(() => { clearTimeout(timer); process.kill(process.pid, signal); });
    };
    process.on(signal, onSignal);
  }
}

try {
  await start();
} catch (err) {
  process.stderr.write(`@meshlet/http/auto: the mesh did not start: ${(err as Error).message}\n`);
  process.exit(1);
}
