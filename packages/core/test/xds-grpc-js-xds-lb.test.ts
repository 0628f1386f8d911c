// Every DestinationRule load-balancer setting, served by `meshlet xds` to @grpc/grpc-js-xds 1.14
// (which NACKs a cluster whose lb_policy is LEAST_REQUEST, RANDOM or MAGLEV, so every call
// through it would fail) and to Meshlet's own client: each gets a policy it implements from the
// cluster's load_balancing_policy list, and grpc-js-xds's calls really balance as the rule says
// — spread, sticky by header, or by locality — against real grpc-js servers on 127.0.0.1.

import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { tempDir, writeBootstrap, writeConfig } from './xds-helpers.ts';

// grpc-js-xds registers its resolver with the grpc-js it resolves; use that same instance.
const requireFromXds = createRequire(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds'));
const grpc = requireFromXds('@grpc/grpc-js') as typeof import('@grpc/grpc-js');

const WHO = '/meshlet.test.Echo/Who';
const raw = { serialize: (b: Buffer): Buffer => b, deserialize: (b: Buffer): Buffer => b };

/** One service per setting; `policy` is the DestinationRule's trafficPolicy (a YAML flow mapping; '' for none). */
const CASES: { name: string; policy: string; expect: 'spread' | 'sticky' | 'ok' | { only: string } }[] = [
  { name: 'unset', policy: '', expect: 'spread' },
  { name: 'round-robin', policy: '{ loadBalancer: { simple: ROUND_ROBIN } }', expect: 'spread' },
  { name: 'least-request', policy: '{ loadBalancer: { simple: LEAST_REQUEST } }', expect: 'spread' },
  { name: 'least-conn', policy: '{ loadBalancer: { simple: LEAST_CONN } }', expect: 'spread' },
  { name: 'random', policy: '{ loadBalancer: { simple: RANDOM } }', expect: 'spread' },
  { name: 'passthrough', policy: '{ loadBalancer: { simple: PASSTHROUGH } }', expect: 'spread' },
  { name: 'warmup', policy: '{ loadBalancer: { simple: LEAST_REQUEST, warmup: { duration: 10s } } }', expect: 'spread' },
  { name: 'hash-header', policy: '{ loadBalancer: { consistentHash: { httpHeaderName: x-user } } }', expect: 'sticky' },
  { name: 'hash-ring', policy: '{ loadBalancer: { consistentHash: { httpHeaderName: x-user, ringHash: { minimumRingSize: 2048 } } } }', expect: 'sticky' },
  { name: 'hash-maglev', policy: '{ loadBalancer: { consistentHash: { httpHeaderName: x-user, maglev: { tableSize: 65537 } } } }', expect: 'sticky' },
  { name: 'hash-min-ring', policy: '{ loadBalancer: { consistentHash: { httpHeaderName: x-user, minimumRingSize: 512 } } }', expect: 'sticky' },
  // gRPC hashes only on headers (and its channel id): these keys give it a random hash per call.
  { name: 'hash-cookie', policy: '{ loadBalancer: { consistentHash: { httpCookie: { name: user, ttl: 60s } } } }', expect: 'ok' },
  { name: 'hash-source-ip', policy: '{ loadBalancer: { consistentHash: { useSourceIp: true } } }', expect: 'ok' },
  { name: 'hash-query', policy: '{ loadBalancer: { consistentHash: { httpQueryParameterName: user } } }', expect: 'ok' },
  { name: 'distribute', policy: "{ loadBalancer: { simple: ROUND_ROBIN, localityLbSetting: { distribute: [{ from: 'r1/z1/*', to: { 'r2/z3/*': 100 } }] } } }", expect: { only: 'v3' } },
  { name: 'distribute-lr', policy: "{ loadBalancer: { localityLbSetting: { distribute: [{ from: 'r1/*', to: { 'r1/z2/*': 100 } }] } } }", expect: { only: 'v2' } },
  { name: 'failover', policy: "{ loadBalancer: { simple: ROUND_ROBIN, localityLbSetting: { failover: [{ from: r1, to: r2 }] } }, outlierDetection: { consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s } }", expect: { only: 'v1' } },
  { name: 'failover-priority', policy: "{ loadBalancer: { localityLbSetting: { failoverPriority: [topology.kubernetes.io/region, topology.kubernetes.io/zone] } }, outlierDetection: { consecutive5xxErrors: 5 } }", expect: { only: 'v1' } },
];

const host = (name: string) => `lb-${name}.default.svc.cluster.local`;

function meshYaml(ports: Record<string, number>): string {
  return CASES.map((c) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: lb-${c.name}, namespace: default }
spec:
  hosts: [${host(c.name)}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${ports['v1']} }, labels: { version: v1 }, locality: r1/z1 }
    - { address: 127.0.0.1, ports: { grpc: ${ports['v2']} }, labels: { version: v2 }, locality: r1/z2 }
    - { address: 127.0.0.1, ports: { grpc: ${ports['v3']} }, labels: { version: v3 }, locality: r2/z3 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: lb-${c.name}, namespace: default }
spec:
  host: ${host(c.name)}
${c.policy ? `  trafficPolicy: ${c.policy}\n` : ''}`).join('---\n');
}

describe('meshlet xds serves every DestinationRule load balancer so that each client takes one', () => {
  let backends: { name: string; port: number; server: import('@grpc/grpc-js').Server }[];
  let xds: XdsServer;
  let dir: string;
  let bsDir: string;
  let mesh: Mesh;
  const clients = new Map<string, import('@grpc/grpc-js').Client>();

  const call = (name: string, user?: string): Promise<string> => new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    if (user !== undefined) md.set('x-user', user);
    clients.get(name)!.makeUnaryRequest(WHO, raw.serialize, raw.deserialize, Buffer.alloc(0), md, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!.toString())));
  });

  beforeAll(async () => {
    backends = await Promise.all(['v1', 'v2', 'v3'].map(async (name) => {
      const server = new grpc.Server();
      server.addService(
        { Who: { path: WHO, requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize } },
        { Who: (_call: unknown, cb: (err: null, res: Buffer) => void) => cb(null, Buffer.from(name)) },
      );
      const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
      return { name, port, server };
    }));
    dir = tempDir('xds-lb');
    bsDir = tempDir('xds-lb-bs');
    writeConfig(dir, { 'mesh.yaml': meshYaml(Object.fromEntries(backends.map((b) => [b.name, b.port]))) });
    xds = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
    const bootstrap = JSON.parse(JSON.stringify({
      xds_servers: [{ server_uri: xds.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' }, locality: { region: 'r1', zone: 'z1' } },
    }));
    // grpc-js-xds reads its bootstrap once, on first use, from the environment.
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify(bootstrap);
    (requireFromXds('@grpc/grpc-js-xds') as { register(): void }).register();
    for (const c of CASES) clients.set(c.name, new grpc.Client(`xds:///${host(c.name)}:9080`, grpc.credentials.createInsecure()));
    mesh = await createMesh({
      bootstrap: writeBootstrap(bsDir, xds.address),
      listeners: CASES.map((c) => `${host(c.name)}:9080`),
      logger: silentLogger,
    });
  }, 30_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await mesh?.close();
    xds?.close();
    await Promise.all((backends ?? []).map((b) => new Promise<void>((r) => b.server.tryShutdown(() => r()))));
    delete process.env['GRPC_XDS_BOOTSTRAP_CONFIG'];
    for (const d of [dir, bsDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name}: grpc-js-xds accepts the cluster and its calls follow ${JSON.stringify(c.expect)}`, async () => {
      const seen = new Map<string, number>();
      const note = (b: string) => seen.set(b, (seen.get(b) ?? 0) + 1);
      if (c.expect === 'sticky') {
        // One user always lands on one backend; many users land on several.
        for (let i = 0; i < 20; i++) note(await call(c.name, 'alice'));
        expect(seen.size).toBe(1);
        const users = new Set<string>();
        for (let i = 0; i < 40; i++) users.add(await call(c.name, `user-${i}`));
        // 40 keys on 3 hosts all hashing to one is (1/3)^39-unlikely on a balanced ring.
        expect(users.size).toBeGreaterThan(1);
        return;
      }
      for (let i = 0; i < 60; i++) note(await call(c.name));
      if (c.expect === 'spread') {
        // Round robin gives 20 each; random leaves a backend out with probability 3·(2/3)^60 < 1e-10.
        expect([...seen.keys()].sort()).toEqual(['v1', 'v2', 'v3']);
      } else if (c.expect !== 'ok') {
        expect([...seen.keys()]).toEqual([c.expect.only]);
      } else {
        expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(60);
      }
    });
  }

  it("Meshlet's own client takes the first policy of each list: the rule's own", () => {
    const lbOf = (name: string) => mesh.snapshot.clusters.get(`outbound|9080||${host(name)}`)?.lbPolicy;
    expect(lbOf('unset')).toBe('LEAST_REQUEST');
    expect(lbOf('least-conn')).toBe('LEAST_REQUEST');
    expect(lbOf('random')).toBe('RANDOM');
    expect(lbOf('round-robin')).toBe('ROUND_ROBIN');
    expect(lbOf('hash-maglev')).toBe('MAGLEV');
    expect(lbOf('hash-ring')).toBe('RING_HASH');
    expect(mesh.snapshot.clusters.get(`outbound|9080||${host('passthrough')}`)?.originalDst).toBe(true);
    expect(mesh.snapshot.clusters.get(`outbound|9080||${host('warmup')}`)?.runtime.config.slowStart?.windowMs).toBe(10_000);
    expect(mesh.problems).toEqual([]);
  });
});
