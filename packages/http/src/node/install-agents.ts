// Sends node:http and node:https requests that name no agent of their own through the mesh:
// MeshHttpAgent and MeshHttpsAgent become http.globalAgent and https.globalAgent, which every
// request without an `agent` option uses (axios's http adapter through follow-redirects, got,
// node-fetch, superagent, http.request/get). A request given its own http.Agent keeps it.

import type { Mesh } from '@meshlet/core';
import { installedAgents, MeshHttpAgent, MeshHttpsAgent, type MeshHttpAgentOptions, type MeshHttpsAgentOptions } from './mesh-http-agent.ts';

export interface GlobalAgentOptions {
  http?: Omit<MeshHttpAgentOptions, 'mesh'>;
  https?: Omit<MeshHttpsAgentOptions, 'mesh'>;
}

/** Installs mesh agents as Node's global agents; the returned function restores the previous ones and closes them. */
export function installGlobalAgents(mesh: Mesh, opts: GlobalAgentOptions = {}): () => Promise<void> {
  // The CommonJS modules, whose globalAgent Node reads (an ESM import of node:http would cost a
  // cold start ~100 ms: see mesh-http-agent.ts).
  const http = process.getBuiltinModule('node:http');
  const https = process.getBuiltinModule('node:https');
  const previous = { http: http.globalAgent, https: https.globalAgent, installed: { ...installedAgents } };
  const agents = { http: new MeshHttpAgent({ ...opts.http, mesh }), https: new MeshHttpsAgent({ ...opts.https, mesh }) };
  http.globalAgent = agents.http;
  https.globalAgent = agents.https;
  installedAgents.http = agents.http;
  installedAgents.https = agents.https;
  return async () => {
    http.globalAgent = previous.http;
    https.globalAgent = previous.https;
    installedAgents.http = previous.installed.http;
    installedAgents.https = previous.installed.https;
    await Promise.all([agents.http.close(), agents.https.close()]);
  };
}
