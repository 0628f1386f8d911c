// The upstream process, the mesh config the Meshlet rows read, and the `meshlet xds` control
// plane the xDS rows share (grpc-js-xds and Meshlet gRPC read the same server).

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchCerts } from './openssl-certs.ts';

export interface Upstream {
  pid: number;
  /** https: node:https (HTTP/1.1); h2s: node:http2's secure server (HTTP/2, or HTTP/1.1 by ALPN). */
  ports: { http: number; https: number | undefined; h2s: number | undefined; grpc: number };
  stop(): void;
}

export async function startUpstream(certs: BenchCerts | undefined): Promise<Upstream> {
  const script = fileURLToPath(new URL('./bench-server.ts', import.meta.url));
  const arg = certs ? { tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca } } : {};
  const proc = fork(script, [JSON.stringify(arg)], { execArgv: ['--no-warnings'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise<Upstream['ports']>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Upstream['ports']));
    proc.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  return { pid: proc.pid!, ports, stop: () => proc.kill('SIGTERM') };
}

/** Service ports the mesh config uses; the endpoints map them to the upstream's real ports. */
export const MESH_HTTP_PORT = 80;
export const MESH_GRPC_PORT = 50051;
export const GRPC_FQDN = 'bench-grpc.default.svc.cluster.local';

export function writeMeshConfig(dir: string, up: Upstream['ports'], serverSpiffeId: string | undefined): void {
  const entry = (name: string, port: number, proto: string, target: number, extra = '') => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: ${port}, name: ${proto.toLowerCase()}, protocol: ${proto} }]
  endpoints: [{ address: 127.0.0.1, ports: { ${proto.toLowerCase()}: ${target} } }]
${extra}`;
  writeFileSync(join(dir, 'bench.yaml'), entry('bench', MESH_HTTP_PORT, 'HTTP', up.http));
  // ROUND_ROBIN for the gRPC service: @grpc/grpc-js-xds rejects a cluster whose lb_policy is
  // LEAST_REQUEST (Istio's default) unless load_balancing_policy is set, and both xDS clients
  // must read the same config.
  writeFileSync(join(dir, 'bench-grpc.yaml'), `${entry('bench-grpc', MESH_GRPC_PORT, 'GRPC', up.grpc)}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: bench-grpc, namespace: default }
spec:
  host: ${GRPC_FQDN}
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
`);
  if (up.https !== undefined && serverSpiffeId) {
    writeFileSync(join(dir, 'bench-tls.yaml'), `${entry('bench-tls', MESH_HTTP_PORT, 'HTTP', up.https, `  subjectAltNames: [${serverSpiffeId}]\n`)}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: bench-tls, namespace: default }
spec:
  host: bench-tls.default.svc.cluster.local
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
`);
  }
  if (up.h2s !== undefined && serverSpiffeId) {
    // The same mTLS, HTTP/2 to the upstream as Istio's sidecars speak it under this policy.
    writeFileSync(join(dir, 'bench-h2.yaml'), `${entry('bench-h2', MESH_HTTP_PORT, 'HTTP', up.h2s, `  subjectAltNames: [${serverSpiffeId}]\n`)}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: bench-h2, namespace: default }
spec:
  host: bench-h2.default.svc.cluster.local
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL }, connectionPool: { http: { h2UpgradePolicy: UPGRADE } } }
`);
  }
}

export interface XdsControlPlane {
  address: string;
  bootstrap: string;
  stop(): void;
}

/** `meshlet xds` over the config folder, or the reason it cannot run. */
export async function startXds(repo: string, configDir: string, dir: string): Promise<XdsControlPlane | { skip: string }> {
  const main = join(repo, 'packages/core/src/cli/main.ts');
  const proc: ChildProcess = spawn(process.execPath, ['--conditions=source', '--no-warnings', main, 'xds', '--config', configDir, '--listen', '127.0.0.1:0', '--no-watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const line = await new Promise<string | undefined>((resolve) => {
    let out = '';
    const t = setTimeout(() => resolve(undefined), 30_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) { clearTimeout(t); resolve(out.split('\n')[0]); }
    });
    proc.once('exit', () => { clearTimeout(t); resolve(undefined); });
  });
  const m = line && /(127\.0\.0\.1:\d+)/.exec(line);
  if (!m) {
    proc.kill('SIGKILL');
    return { skip: `meshlet xds did not start: ${(stderr.trim().split('\n').pop() ?? line ?? 'no output').slice(0, 200)}` };
  }
  const address = m[1]!;
  const bootstrap = join(dir, 'bootstrap.json');
  writeFileSync(bootstrap, JSON.stringify({
    xds_servers: [{ server_uri: address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    // grpc-js-xds requires node.locality to be present, even empty.
    node: { id: 'sidecar~127.0.0.1~bench-client.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
  }, null, 2));
  return { address, bootstrap, stop: () => proc.kill('SIGTERM') };
}
