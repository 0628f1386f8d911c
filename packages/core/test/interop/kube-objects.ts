// Istio and Kubernetes objects the Kubernetes-native tests write through the API, and a TCP
// proxy that can cut a client off from the API server (the server keeps running and can be
// written to meanwhile, which a stopped server cannot).

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

export const namespace = (name: string): ApiObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

/** A MESH_INTERNAL ServiceEntry with one loopback endpoint per version label. */
export function serviceEntry(ns: string, name: string, port: number, protocol: string, endpoints: Record<string, number>): ApiObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace: ns },
    spec: {
      hosts: [`${name}.${ns}.svc.cluster.local`],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      ports: [{ number: port, name: protocol.toLowerCase(), protocol }],
      endpoints: Object.entries(endpoints).map(([version, p]) => ({ address: '127.0.0.1', ports: { [protocol.toLowerCase()]: p }, labels: { version } })),
    },
  };
}

export function subsets(ns: string, name: string, versions: string[]): ApiObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name, namespace: ns },
    spec: { host: name, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } }, subsets: versions.map((v) => ({ name: v, labels: { version: v } })) },
  };
}

export function virtualService(ns: string, name: string, http: unknown[]): ApiObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: ns }, spec: { hosts: [name], http } };
}

/** A VirtualService sending everything to one subset. */
export const routeTo = (ns: string, name: string, subset: string): ApiObject => virtualService(ns, name, [{ name: `to-${subset}`, route: [{ destination: { host: name, subset } }] }]);

/** A TCP pass-through to the API server that can refuse and drop its clients on demand. */
export class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  port = 0;

  private constructor(target: number) {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  static async start(target: number): Promise<CuttableProxy> {
    const p = new CuttableProxy(target);
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', resolve));
    p.port = (p.#server.address() as { port: number }).port;
    return p;
  }

  /** Drops every connection and refuses new ones until heal(). */
  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  heal(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
