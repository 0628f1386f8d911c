// Real parts for the xDS tests: HTTP backends on 127.0.0.1, a `meshlet xds` process (so it can
// be killed and restarted like a control plane), Istio YAML written to a temp folder, and
// bootstrap files in the GRPC_XDS_BOOTSTRAP format.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'packages/core/src/cli/main.ts');
const EXIT_WITH_PARENT = join(ROOT, 'packages/core/test/support/exit-with-parent.ts');

export interface Backend {
  name: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

export async function startBackend(name: string): Promise<Backend> {
  const b: Backend = { name, port: 0, hits: 0, close: async () => {} };
  const server: Server = createServer((_req, res) => {
    b.hits++;
    res.setHeader('x-backend', name);
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  b.port = (server.address() as AddressInfo).port;
  b.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return b;
}

export { tempDir } from './temp-dir.ts';

/** The host of the i-th service of staticServicesYaml, and its cluster as istiod names it. */
export const svcHost = (i: number): string => `svc-${i}.default.svc.cluster.local`;
export const svcCluster = (i: number): string => `outbound|8080||${svcHost(i)}`;

/** `count` STATIC ServiceEntries `svc-<i>` on port 8080, each with endpoints on 127.0.0.1 at the ports `portsOf(i)` gives. */
export function staticServicesYaml(count: number, portsOf: (i: number) => readonly number[]): string {
  return Array.from({ length: count }, (_, i) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc-${i}, namespace: default }
spec:
  hosts: [${svcHost(i)}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  endpoints: [${portsOf(i).map((p) => `{ address: 127.0.0.1, ports: { http: ${p} } }`).join(', ')}]
`).join('---\n');
}

/** A `reviews` service with subsets v1/v2/v3 on the given ports, round-robin (so grpc-js-xds accepts it too). */
export function servicesYaml(ports: { v1: number; v2: number; v3: number }, loadBalancer = '{ simple: ROUND_ROBIN }'): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: ${ports.v1} }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { http: ${ports.v2} }, labels: { version: v2 } }
    - { address: 127.0.0.1, ports: { http: ${ports.v3} }, labels: { version: v3 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: ${loadBalancer}
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
    - { name: v3, labels: { version: v3 } }
`;
}

/** jason → v2; everyone else split by `weights` across v1/v3. */
export function routesYaml(weights: { v1: number; v3: number }): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
    - name: jason
      match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: reviews, subset: v2 } }]
    - name: split
      route:
        - { destination: { host: reviews, subset: v1 }, weight: ${weights.v1} }
        - { destination: { host: reviews, subset: v3 }, weight: ${weights.v3} }
`;
}

export function writeConfig(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

export interface XdsProcess {
  /** host:port, or unix:///path. */
  address: string;
  port: number;
  stderr: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `meshlet xds` as a child process and waits for the line saying where it listens. */
export async function startXdsProcess(configDir: string, listen = '127.0.0.1:0'): Promise<XdsProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=source', '--import', EXIT_WITH_PARENT, CLI, 'xds', '--config', configDir, '--listen', listen], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = / on (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`meshlet xds exited with ${code}: ${stderr.join('')}`)));
  });
  const port = address.startsWith('unix:') ? 0 : Number(address.slice(address.lastIndexOf(':') + 1));
  return {
    address,
    port,
    stderr,
    kill: (signal = 'SIGKILL') => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    }),
  };
}

export function bootstrapJson(serverUri: string, opts: { delta?: boolean; namespace?: string; labels?: Record<string, string>; features?: string[]; channelCreds?: object[]; serverListenerTemplate?: string } = {}): string {
  return JSON.stringify({
    ...(opts.serverListenerTemplate !== undefined && { server_listener_resource_name_template: opts.serverListenerTemplate }),
    xds_servers: [{ server_uri: serverUri, channel_creds: opts.channelCreds ?? [{ type: 'insecure' }], server_features: ['xds_v3', ...(opts.delta ? ['delta'] : []), ...(opts.features ?? [])] }],
    node: {
      id: `sidecar~127.0.0.1~client-1.${opts.namespace ?? 'default'}~${opts.namespace ?? 'default'}.svc.cluster.local`,
      metadata: { GENERATOR: 'grpc', NAMESPACE: opts.namespace ?? 'default', ...(opts.labels && { LABELS: opts.labels }) },
      // grpc-js-xds rejects a node without one.
      locality: {},
    },
  });
}

export function writeBootstrap(dir: string, serverUri: string, opts: Parameters<typeof bootstrapJson>[1] = {}): string {
  const file = join(dir, `bootstrap-${opts.delta ? 'delta' : 'sotw'}-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(file, bootstrapJson(serverUri, opts));
  return file;
}

/** Polls `check` until it returns true (or throws the last failure after `timeoutMs`). */
export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

export const REVIEWS = 'reviews.default.svc.cluster.local:9080';
export const cluster = (subset: string): string => `outbound|9080|${subset}|reviews.default.svc.cluster.local`;

/**
 * Runs one response through an ADS client at once (the stream applies it in slices across
 * turns of the event loop; a test handing a batch straight to the client does not need to).
 */
export function applyResponse(client: { onResponse(batch: never): Generator<void, string | undefined> }, batch: object): string | undefined {
  const handling = client.onResponse(batch as never);
  for (;;) {
    const step = handling.next();
    if (step.done) return step.value;
  }
}
