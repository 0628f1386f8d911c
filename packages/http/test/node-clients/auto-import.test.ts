// `node --import @meshlet/http/auto app.js`: apps with no mesh code in them (fixtures/), run in
// child processes with only environment variables set, get the mesh — an 80/20 split, a header
// route, a route timeout, mTLS with a SPIFFE check and an ejected endpoint through axios, got,
// node-fetch, superagent, http.get and fetch; grpc-js mesh:/// targets; xDS mode from a
// bootstrap; observe mode — and a config that does not load stops the process, saying where.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { silentLogger, XdsServer } from '@meshlet/core';
import { startServer, type TestServer } from '../helpers/servers.ts';
import { startWorld, type World } from './world.ts';

const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

/**
 * Runs a fixture app under `--import @meshlet/http/auto` with `env` added, from the package
 * folder. `untilOutput`: stop it once it has printed its line (xDS mode: the control-plane
 * stream keeps the process alive, as a sidecar keeps a Job's pod).
 */
function runApp(app: string, args: string[], env: Record<string, string>, untilOutput = false): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--conditions=source', '--no-warnings', '--import', '@meshlet/http/auto', join(FIXTURES, app), ...args], {
      cwd: PACKAGE,
      env: { PATH: process.env['PATH'] ?? '', POD_NAMESPACE: 'default', ...env },
      timeout: 120_000,
    }, (err, stdout, stderr) => {
      resolve({ code: err && !(untilOutput && stdout.includes('\n')) ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (untilOutput) child.stdout!.on('data', (d: Buffer) => { if (d.includes('\n')) child.kill('SIGTERM'); });
  });
}

function output<T>(run: Run): T {
  if (run.code !== 0) throw new Error(`app exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}

let root: string;
let world: World;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'meshlet-auto-'));
  world = await startWorld(root);
}, 60_000);
afterAll(async () => {
  await world?.close();
  rmSync(root, { recursive: true, force: true });
});

interface ClientReport {
  split: { a: number; b: number; other: number };
  header: string;
  timeout: { error?: string };
  timeoutMs: number;
  secure: { status?: number; body?: string; error?: string };
  imposter: { error?: string };
  ejecting: string[];
}

describe('node --import @meshlet/http/auto, an app with no mesh code', () => {
  it('splits, routes by header, times out, checks SPIFFE identities and stops using an ejected endpoint through every client', async () => {
    const n = 300;
    const report = output<Record<string, ClientReport>>(await runApp('app-http.mjs', [String(n)], { MESHLET_CONFIG: world.config, MESHLET_CERTS: world.clientCerts }));
    expect(Object.keys(report)).toEqual(['axios', 'got', 'nodeFetch', 'superagent', 'httpGet', 'fetch']);
    for (const [name, r] of Object.entries(report)) {
      // Binomial(300, 0.2): sd ≈ 6.9; ±7 sd (±49) cannot flake.
      expect({ name, other: r.split.other, total: r.split.a + r.split.b }).toEqual({ name, other: 0, total: n });
      expect(Math.abs(r.split.b - 60), name).toBeLessThan(49);
      expect(r.header, name).toBe('b');
      expect(r.timeout.error, name).toContain('MESHLET_ROUTE_TIMEOUT');
      expect(r.timeoutMs, name).toBeLessThan(1400);
      expect(r.secure, name).toEqual({ status: 200, body: world.clientId });
      expect(r.imposter.error, name).toContain('peer identity mismatch');
      // The 503 endpoint is ejected on its first failure (consecutive5xxErrors: 1) and not used again.
      expect(r.ejecting.slice(-6), name).toEqual(Array(6).fill('ej-good'));
    }
    // Ejected once, by the first client, for 60 s: at most one request (and got's own retry of it) reached it.
    expect(world.servers.ejBad.hits).toBeLessThanOrEqual(1);
  }, 180_000);

  it('serves grpc-js mesh:/// targets when @meshlet/grpc is installed', async () => {
    const server = new Server();
    server.addService({
      Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
    }, { Echo: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.from(`pong from mesh: ${call.request.toString()}`)) } as never);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const dir = join(root, 'grpc-mesh');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'echo.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${port} } }]
`);
    try {
      const out = output<{ answer: string }>(await runApp('app-grpc.mjs', ['mesh:///echo.default.svc.cluster.local:50051'], { MESHLET_CONFIG: dir }));
      expect(out.answer).toBe('pong from mesh: ping');
    } finally {
      server.forceShutdown();
    }
  }, 120_000);

  it('takes the mesh from an xDS bootstrap (GRPC_XDS_BOOTSTRAP)', async () => {
    const xds = await XdsServer.start({ config: [world.config], listen: '127.0.0.1:0', logger: silentLogger, watch: false });
    try {
      const bootstrap = join(root, 'bootstrap.json');
      writeFileSync(bootstrap, JSON.stringify({
        xds_servers: [{ server_uri: xds.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
      }));
      const run = await runApp('app-get.mjs', ['http://web/'], { GRPC_XDS_BOOTSTRAP: bootstrap, MESHLET_LISTENERS: 'web.default.svc.cluster.local:80' }, true);
      const out = output<Record<string, string>>(run);
      for (const body of Object.values(out)) expect(['a', 'b']).toContain(body);
    } finally {
      xds.close();
    }
  }, 120_000);

  it('MESHLET_MODE=observe: requests go where they were addressed, as if the mesh were absent', async () => {
    const direct: TestServer = await startServer('direct');
    const dir = join(root, 'observe-mesh');
    mkdirSync(dir, { recursive: true });
    // The mesh would send localhost:<direct's port> to server b.
    writeFileSync(join(dir, 'local.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: local, namespace: default }
spec:
  hosts: [localhost]
  resolution: STATIC
  ports: [{ number: ${direct.port}, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${world.servers.b.port} } }]
`);
    try {
      const url = `http://localhost:${direct.port}/`;
      expect(output<Record<string, string>>(await runApp('app-get.mjs', [url], { MESHLET_CONFIG: dir }))).toEqual({ axios: 'b', got: 'b', fetch: 'b' });
      expect(output<Record<string, string>>(await runApp('app-get.mjs', [url], { MESHLET_CONFIG: dir, MESHLET_MODE: 'observe' }))).toEqual({ axios: 'direct', got: 'direct', fetch: 'direct' });
    } finally {
      await direct.close();
    }
  }, 120_000);
});

describe('node --import @meshlet/http/auto with a config that does not load', () => {
  it('exits non-zero before the app runs, saying where the problem is', async () => {
    const missing = join(root, 'no-such-folder');
    const a = await runApp('app-get.mjs', ['http://web/'], { MESHLET_CONFIG: missing });
    expect(a.code).not.toBe(0);
    expect(a.stdout).toBe('');
    expect(a.stderr).toContain(`@meshlet/http/auto: the mesh did not start: config path ${missing} does not exist`);

    const bootstrap = join(root, 'bad-bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: {} }));
    const b = await runApp('app-get.mjs', ['http://web/'], { GRPC_XDS_BOOTSTRAP: bootstrap });
    expect(b.code).not.toBe(0);
    expect(b.stdout).toBe('');
    expect(b.stderr).toContain(bootstrap);
    expect(b.stderr).toContain('node.id: required');

    const c = await runApp('app-get.mjs', ['http://web/'], { MESHLET_CONFIG: world.config, MESHLET_MODE: 'shadow' });
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain('MESHLET_MODE="shadow": must be "enforce" or "observe"');

    // A typo in the YAML: the process never starts on a config that differs from the files,
    // and the message names the file, the line and the field.
    const typo = join(root, 'typo');
    mkdirSync(typo);
    writeFileSync(join(typo, 'vs.yaml'), [
      'apiVersion: networking.istio.io/v1',
      'kind: VirtualService',
      'metadata: { name: web, namespace: default }',
      'spec:',
      '  hosts: [web]',
      '  http:',
      '  - route:',
      '    - destination: { host: web, subset: a }',
      '      weight: 80',
      '    - destination: { host: web, subset: b }',
      '      weigth: 20',
      '',
    ].join('\n'));
    const d = await runApp('app-get.mjs', ['http://web/'], { MESHLET_CONFIG: typo });
    expect(d.code).not.toBe(0);
    expect(d.stdout).toBe('');
    expect(d.stderr).toContain(`${join(typo, 'vs.yaml')}:11: VirtualService default/web: spec.http[0].route[1].weigth: unknown field "weigth"; did you mean "weight"?`);
  }, 120_000);
});
