// Scenario 6: certificate rotation under mTLS load. A Meshlet client (createMesh({ certs }),
// an ISTIO_MUTUAL DestinationRule) calls a Meshlet mTLS server running in another process
// (createMeshServer, STRICT), and `meshlet certs` — a separate process, as istio-agent would be
// — rewrites the client's and the server's workload certificates ten times while requests
// flow. No request may fail, and both sides must move to the new certificates: the server sees
// the client's newest certificate, and the client's last connections are made to the
// server's newest one.
//
// It uses only the mTLS public API (`meshlet certs`, createMesh({ certs }), createMeshServer).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import * as core from '../../packages/core/src/index.ts';
import * as http from '../../packages/http/src/index.ts';
import { quantile, sleep, startLoad, waitUntil } from './helpers/load.ts';
import { record, ROOT } from './helpers/report.ts';
import { tempDir } from '../../packages/core/test/temp-dir.ts';

const CLI = join(ROOT, 'packages/core/src/cli/main.ts');
const FQDN = 'reviews.default.svc.cluster.local';
const ROTATIONS = 10;

let server: ChildProcess | undefined;
afterAll(() => { server?.kill('SIGKILL'); });

const certsCli = promisify(execFile);
async function rotate(root: string, sa: string): Promise<string> {
  // The same command a developer runs; it writes each file atomically (rename), as istio-agent does.
  await certsCli(process.execPath, ['--conditions=source', CLI, 'certs', '--out', join(root, sa), '--ca', join(root, 'ca'), '--service-account', sa]);
  return new X509Certificate(readFileSync(join(root, sa, 'cert-chain.pem'))).serialNumber;
}

function startServer(certs: string, config: string): Promise<number> {
  const script = new URL('./children/mtls-server.ts', import.meta.url).pathname;
  server = spawn(process.execPath, ['--conditions=source', script, certs, config], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    server!.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve((JSON.parse(out.slice(0, out.indexOf('\n'))) as { port: number }).port);
    });
    server!.once('exit', (code) => reject(new Error(`mTLS server exited with ${code}`)));
  });
}

it('rotates client and server certificates ten times under mTLS load with no failed request', async () => {
  const root = tempDir('faults-mtls');
  const clientSerials = [await rotate(root, 'sleep')];
  const serverSerials = [await rotate(root, 'reviews')];
  const srvConfig = join(root, 'server-config');
  mkdirSync(srvConfig);
  writeFileSync(join(srvConfig, 'pa.yaml'), `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
`);
  const port = await startServer(join(root, 'reviews'), srvConfig);
  const cliConfig = join(root, 'client-config');
  mkdirSync(cliConfig);
  writeFileSync(join(cliConfig, 'reviews.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${FQDN}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} }, serviceAccount: reviews }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${FQDN}
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
    # Connections turn over every 50 requests, so new handshakes keep happening under load: a
    # rotated server certificate is only seen on a new connection, and keep-alive timeouts
    # never fire while requests flow.
    connectionPool: { http: { maxRequestsPerConnection: 50 } }
`);
  const mesh = await core.createMesh({ config: cliConfig, watch: false, logger: core.silentLogger, certs: join(root, 'sleep') });
  const agent = new http.MeshAgent({ mesh });
  const seen = { client: new Set<string>(), server: new Set<string>() };
  let last = { client: '', server: '' };
  const load = startLoad({
    concurrency: 16,
    rate: 300,
    // Bounded, with room for slow certificate writes on a busy machine: the load must still be
    // running when the last rotation lands, or the final check below has nothing to observe.
    maxRequests: 30_000,
    maxDurationMs: 90_000,
    hangMs: 5_000,
    send: async (_i, signal) => {
      const res = await agent.request({ origin: `http://${FQDN}:9080`, path: '/', method: 'GET', signal });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${body}`);
      last = JSON.parse(body) as { client: string; server: string };
      seen.client.add(last.client);
      seen.server.add(last.server);
    },
  });
  try {
    await waitUntil(() => load.ok >= 200, 10_000, 'mTLS load to start');
    for (let i = 0; i < ROTATIONS; i++) {
      await sleep(600);
      if (i % 2 === 0) clientSerials.push(await rotate(root, 'sleep'));
      else serverSerials.push(await rotate(root, 'reviews'));
    }
    // Both sides' newest certificates in use on live connections.
    await waitUntil(() => last.client === clientSerials.at(-1) && last.server === serverSerials.at(-1), 30_000, 'requests over the newest certificates on both sides');
    await sleep(500);
  } finally {
    load.stop();
  }
  const result = await load.result;
  await agent.close();
  await mesh.close();
  record({
    id: '6',
    scenario: 'certificate rotation under mTLS load (10 rotations)',
    checks: 'no failed request while `meshlet certs` rewrites the client and server certificates; both sides move to the newest',
    sent: result.sent,
    failures: result.failed,
    p99Ms: quantile(result.latencies, 0.99),
    notes: `client certificates seen by the server ${seen.client.size} of ${clientSerials.length}; server certificates seen by the client ${seen.server.size} of ${serverSerials.length}; hung ${result.hung}`,
  });
  expect(result.failed, result.failures.join('\n')).toBe(0);
  expect(result.hung).toBe(0);
  expect(seen.client.size).toBeGreaterThanOrEqual(3);
  expect(seen.server.size).toBeGreaterThanOrEqual(3);
});
