// An independent xDS client accepts what `meshlet xds` serves: @grpc/grpc-js-xds, with an
// xds:/// target, against real grpc-js servers on 127.0.0.1. Its calls must really follow the
// header match and the weighted split compiled from the VirtualService, a push, and an endpoint
// move (sent as the changed assignments alone).

import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, XdsServer } from '../src/index.ts';
import { bootstrapJson, routesYaml, servicesYaml, tempDir, writeConfig } from './xds-helpers.ts';

// grpc-js-xds registers its resolver with the grpc-js it resolves; use that same instance.
const requireFromXds = createRequire(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds'));
const grpc = requireFromXds('@grpc/grpc-js') as typeof import('@grpc/grpc-js');

const WHO = '/meshlet.test.Echo/Who';
const raw = {
  serialize: (b: Buffer): Buffer => b,
  deserialize: (b: Buffer): Buffer => b,
};

async function startGrpcBackend(name: string): Promise<{ port: number; server: import('@grpc/grpc-js').Server }> {
  const server = new grpc.Server();
  server.addService(
    { Who: { path: WHO, requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize } },
    { Who: (_call: unknown, cb: (err: null, res: Buffer) => void) => cb(null, Buffer.from(name)) },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, server };
}

describe('@grpc/grpc-js-xds against meshlet xds', () => {
  let backends: { port: number; server: import('@grpc/grpc-js').Server }[];
  let xds: XdsServer;
  let dir: string;
  let client: import('@grpc/grpc-js').Client;

  const call = (headers: Record<string, string> = {}): Promise<string> => new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) md.set(k, v);
    client.makeUnaryRequest(WHO, raw.serialize, raw.deserialize, Buffer.alloc(0), md, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res!.toString())));
  });

  beforeAll(async () => {
    backends = await Promise.all(['v1', 'v2', 'v3'].map((n) => startGrpcBackend(n)));
    dir = tempDir('xds-grpc');
    writeConfig(dir, {
      'services.yaml': servicesYaml({ v1: backends[0]!.port, v2: backends[1]!.port, v3: backends[2]!.port }),
      'routes.yaml': routesYaml({ v1: 75, v3: 25 }),
    });
    xds = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    // grpc-js-xds reads its bootstrap once, on first use, from the environment.
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = bootstrapJson(xds.address);
    const xdsLib = requireFromXds('@grpc/grpc-js-xds') as { register(): void };
    xdsLib.register();
    client = new grpc.Client('xds:///reviews.default.svc.cluster.local:9080', grpc.credentials.createInsecure());
  }, 30_000);

  afterAll(async () => {
    client?.close();
    xds?.close();
    await Promise.all(backends.map((b) => new Promise<void>((r) => b.server.tryShutdown(() => r()))));
  });

  it('follows the header match', async () => {
    for (let i = 0; i < 20; i++) expect(await call({ 'end-user': 'jason' })).toBe('v2');
  });

  it('follows the 75/25 weighted split', async () => {
    const counts: Record<string, number> = { v1: 0, v2: 0, v3: 0 };
    const n = 800;
    for (let i = 0; i < n; i++) counts[await call()]!++;
    expect(counts['v2']).toBe(0);
    // Binomial(800, 0.25): sd ≈ 12.2; ±60 is ~5 sd, so this cannot flake.
    expect(counts['v3']).toBeGreaterThan(200 - 60);
    expect(counts['v3']).toBeLessThan(200 + 60);
  });

  it('follows a push', async () => {
    writeConfig(dir, { 'routes.yaml': routesYaml({ v1: 0, v3: 100 }) });
    const deadline = Date.now() + 10_000;
    let inARow = 0;
    while (inARow < 20) {
      if (Date.now() > deadline) throw new Error('grpc-js-xds did not follow the push within 10 s');
      inARow = (await call()) === 'v3' ? inARow + 1 : 0;
    }
  });

  // The server sends an EDS change as the changed assignments alone (a SotW EDS response need
  // not list the rest): grpc-js-xds must keep the ones left out.
  it('follows an endpoint move, keeping the assignments the push left out', async () => {
    const moved = await startGrpcBackend('v3-moved');
    backends.push(moved);
    writeConfig(dir, { 'services.yaml': servicesYaml({ v1: backends[0]!.port, v2: backends[1]!.port, v3: moved.port }) });
    const deadline = Date.now() + 10_000;
    let inARow = 0;
    while (inARow < 20) {
      if (Date.now() > deadline) throw new Error('grpc-js-xds did not follow the endpoint move within 10 s');
      inARow = (await call()) === 'v3-moved' ? inARow + 1 : 0;
    }
    for (let i = 0; i < 20; i++) expect(await call({ 'end-user': 'jason' })).toBe('v2');
  });
});
