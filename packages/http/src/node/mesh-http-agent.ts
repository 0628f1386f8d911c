// MeshHttpAgent: an http.Agent that sends node:http requests where the mesh says — for every
// client built on node:http (axios's http adapter, got, node-fetch, superagent, http.request):
// pass it as the request's agent, or install it as http.globalAgent (installGlobalAgents, or
// `node --import @meshlet/http/auto`). MeshHttpsAgent is its twin for https:// URLs.
//
// Hosts the mesh does not know go through the agent's own Node pooling unchanged (Istio's
// ALLOW_ANY), as do requests over a socketPath and, in observe mode, every request.
//
// `new MeshHttpAgent()` with no mesh borrows the installed global agent's mesh and pools: it is
// what Node builds for a request made with `agent: false`.

import type { Agent, AgentOptions, ClientRequest, RequestOptions } from 'node:http';
import type { AgentOptions as HttpsAgentOptions, RequestOptions as HttpsRequestOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import type { Mesh } from '@meshlet/core';
import { addMeshRequest, type RouteContext } from './route-node-request.ts';
import { NodeTransports } from './node-transports.ts';

// Loaded as CommonJS modules: an ESM import of node:http builds its ESM facade, which reads every
// export and so loads the copy of undici bundled in Node (~100 ms on a cold start) for nothing.
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');

export interface MeshHttpAgentOptions extends AgentOptions {
  /** The mesh; without one, the mesh of the installed global agent (installGlobalAgents). */
  mesh?: Mesh;
}

export interface MeshHttpsAgentOptions extends HttpsAgentOptions {
  mesh?: Mesh;
}

type AddRequest = (this: Agent, req: ClientRequest, options: RequestOptions) => void;
const httpAddRequest = (http.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;
const httpsAddRequest = (https.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;

/** The agents installGlobalAgents put in place: what `new MeshHttpAgent()` without a mesh borrows. */
export const installedAgents: { http?: MeshHttpAgent; https?: MeshHttpsAgent } = {};

function transportsFor(mesh: Mesh | undefined, installed: { transports: NodeTransports } | undefined, name: string): { transports: NodeTransports; owned: boolean } {
  if (mesh) return { transports: new NodeTransports(mesh), owned: true };
  if (installed) return { transports: installed.transports, owned: false };
  throw new TypeError(`${name} needs { mesh }, or a mesh installed with installGlobalAgents(mesh) (or node --import @meshlet/http/auto)`);
}

export class MeshHttpAgent extends http.Agent {
  readonly mesh: Mesh;
  /** @internal */ readonly transports: NodeTransports;
  readonly #owned: boolean;
  readonly #ctx: RouteContext;

  constructor(opts?: MeshHttpAgentOptions) {
    const { mesh, ...agentOptions } = opts ?? {};
    // Keep-alive by default, as Node's global agent since Node 19; `agent: false` (no options) closes after each request.
    super(opts === undefined ? undefined : { keepAlive: true, ...agentOptions });
    ({ transports: this.transports, owned: this.#owned } = transportsFor(mesh, installedAgents.http, 'MeshHttpAgent'));
    this.mesh = this.transports.mesh;
    this.#ctx = {
      mesh: this.mesh,
      scheme: 'http',
      defaultPort: 80,
      closed: () => this.transports.closed,
      pools: () => this.transports.plain,
      passthrough: (req, options) => httpAddRequest.call(this, req, options),
    };
  }

  /** Called by ClientRequest for every request that uses this agent. */
  addRequest(req: ClientRequest, options: RequestOptions): void {
    addMeshRequest(this.#ctx, req, options);
  }

  /** Lets requests in flight finish, then closes the mesh connections and the agent's own. */
  async close(): Promise<void> {
    if (this.#owned) await this.transports.close();
    super.destroy();
  }

  override destroy(): void {
    if (this.#owned) void this.transports.destroy();
    super.destroy();
  }
}

// The TLS options of a request (agent options first, as Node's Agent merges them) that shape
// the caller's own TLS; the rest (path, headers, method...) must not reach tls.connect.
const TLS_KEYS = [
  'ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'ciphers', 'minVersion', 'maxVersion', 'secureProtocol',
  'crl', 'honorCipherOrder', 'ecdhCurve', 'dhparam', 'secureOptions', 'sessionIdContext', 'sigalgs', 'secureContext',
  'checkServerIdentity', 'clientCertEngine', 'privateKeyEngine', 'privateKeyIdentifier',
] as const;

export class MeshHttpsAgent extends https.Agent {
  readonly mesh: Mesh;
  /** @internal */ readonly transports: NodeTransports;
  readonly #owned: boolean;
  readonly #ctx: RouteContext;

  constructor(opts?: MeshHttpsAgentOptions) {
    const { mesh, ...agentOptions } = opts ?? {};
    super(opts === undefined ? undefined : { keepAlive: true, ...agentOptions });
    ({ transports: this.transports, owned: this.#owned } = transportsFor(mesh, installedAgents.https, 'MeshHttpsAgent'));
    this.mesh = this.transports.mesh;
    this.#ctx = {
      mesh: this.mesh,
      scheme: 'https',
      defaultPort: 443,
      closed: () => this.transports.closed,
      pools: (req, options) => this.#callerPools(req, options),
      passthrough: (req, options) => httpsAddRequest.call(this, req, options),
    };
  }

  addRequest(req: ClientRequest, options: RequestOptions): void {
    addMeshRequest(this.#ctx, req, options);
  }

  #callerPools(req: ClientRequest, options: RequestOptions) {
    const merged = { ...options, ...(this as unknown as { options: Record<string, unknown> }).options } as Record<string, unknown>;
    const tls: Record<string, unknown> = {};
    for (const k of TLS_KEYS) if (merged[k] !== undefined) tls[k] = merged[k];
    const servername = typeof merged['servername'] === 'string' ? merged['servername'] : serverName(req.getHeader('host'), String(options.host ?? ''));
    return this.transports.callerTls(tls as ConnectionOptions, servername, this.getName(merged as HttpsRequestOptions));
  }

  async close(): Promise<void> {
    if (this.#owned) await this.transports.close();
    super.destroy();
  }

  override destroy(): void {
    if (this.#owned) void this.transports.destroy();
    super.destroy();
  }
}

/** SNI as Node's https.Agent derives it: the Host header's name, never an IP address. */
function serverName(hostHeader: unknown, host: string): string | undefined {
  let name = host;
  if (typeof hostHeader === 'string' && hostHeader !== '') {
    name = hostHeader.startsWith('[') ? hostHeader.slice(1, hostHeader.indexOf(']')) : hostHeader.split(':', 1)[0]!;
  }
  return name === '' || isIP(name) ? undefined : name;
}
