// `meshlet xds`: a development ADS server. It serves the Istio CRDs in a folder as the xDS
// resources istiod would send a proxyless client (node metadata GENERATOR grpc), or an Envoy
// sidecar (no GENERATOR) — compiled per client identity (node metadata NAMESPACE and LABELS),
// state-of-the-world and delta, to any number of clients —
// and pushes on every file change. It exists for local development and tests; production
// uses istiod. grpc-js and the server's own code load when a server starts, so the export costs
// an importer of @meshlet/core nothing.

import { rmSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.ts';
import type { XdsConfigStore, PostCompile } from './config-store.ts';
import type { OutboundTrafficPolicy } from './sidecar-form.ts';

export interface XdsServerOptions {
  /** Istio CRD YAML folders or files. */
  config: string[];
  /** host:port to listen on; port 0 picks a free one. */
  listen: string;
  logger: Logger;
  /** Push on file changes (default true). */
  watch?: boolean;
  /** Alters each client's compiled resources before they are served (see PostCompile). */
  postCompile?: PostCompile;
  /** Serve over TLS (or mutual TLS) instead of plaintext. */
  credentials?: grpc.ServerCredentials;
  /**
   * Istio's outboundTrafficPolicy.mode for sidecar-form clients (default ALLOW_ANY): where their
   * catch-all listener and route send hosts outside the mesh — unless a MeshConfig in the config
   * folder sets one, or the client's Sidecar does, as istiod takes them.
   */
  outboundTrafficPolicy?: OutboundTrafficPolicy;
  /**
   * At start: serve what is valid, leaving invalid objects out. Default false: start() rejects
   * with a ConfigError listing every error, as createMesh does (see MeshOptions.skipInvalidObjects).
   */
  skipInvalidObjects?: boolean;
}

export class XdsServer {
  readonly store: XdsConfigStore;
  readonly #server: grpc.Server;
  readonly port: number;
  readonly host: string;

  private constructor(server: grpc.Server, store: XdsConfigStore, host: string, port: number) {
    this.#server = server;
    this.store = store;
    this.host = host;
    this.port = port;
  }

  static async start(opts: XdsServerOptions): Promise<XdsServer> {
    const [grpc, { ADS_SERVICE_DEFINITION }, { XdsConfigStore }, { DeltaSession }, { SotwSession }] = await Promise.all([
      import('@grpc/grpc-js'), import('../config/xds/ads-service.ts'), import('./config-store.ts'), import('./delta-session.ts'), import('./sotw-session.ts'),
    ]);
    const store = new XdsConfigStore(opts.config, opts.logger, opts.postCompile, opts.outboundTrafficPolicy);
    await store.start(opts.watch ?? true, opts.skipInvalidObjects ?? false);
    // A 1,000-service snapshot is larger than grpc-js's 4 MB default message limit.
    const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
    // Each session unsubscribes from the store when its stream ends.
    server.addService(ADS_SERVICE_DEFINITION, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Uint8Array>) => new SotwSession(call, store, opts.logger),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Uint8Array>) => new DeltaSession(call, store, opts.logger),
    });
    // host:port, or unix:///path (istio-agent serves proxyless clients on a unix socket).
    const unix = opts.listen.startsWith('unix:');
    const i = unix ? opts.listen.length : opts.listen.lastIndexOf(':');
    if (i <= 0) {
      store.close();
      throw new Error(`--listen ${opts.listen}: give host:port (e.g. 127.0.0.1:15010) or unix:///path`);
    }
    // A socket file left by a server that was killed would make the bind fail (istio-agent
    // removes it the same way before listening).
    if (unix) rmSync(opts.listen.replace(/^unix:(\/\/)?/, ''), { force: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(opts.listen, opts.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((err: unknown) => {
      store.close();
      throw err;
    });
    return new XdsServer(server, store, opts.listen.slice(0, i), unix ? 0 : port);
  }

  get address(): string {
    return this.host.startsWith('unix:') ? this.host : `${this.host}:${this.port}`;
  }

  /** Stops the server and ends every open stream (clients see UNAVAILABLE and reconnect). */
  close(): void {
    this.store.close();
    this.#server.forceShutdown();
  }
}
