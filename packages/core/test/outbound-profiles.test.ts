// One outbound traffic policy, two profiles: the same folder (a MeshConfig with REGISTRY_ONLY, a
// Sidecar with an egressProxy for namespace `egress-users`) read by the embedded mode, and
// served by `meshlet xds` in istiod's sidecar form — virtualOutbound to BlackHoleCluster or to the
// egress cluster, each port's `*` host block_all or allow_any — and consumed by the sidecar
// profile. Both give the same decision for a host outside the mesh, through a real MeshAgent.

import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createMesh, OutboundBlockedError, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { MeshAgent } from '../../http/src/index.ts';
import { startBackend, tempDir, writeBootstrap, writeConfig, type Backend } from './xds-helpers.ts';

const config = (known: number, proxy: number) => ({
  'services.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: default }
spec:
  hosts: [api.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${known} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: egress, namespace: istio-system }
spec:
  hosts: [egress.istio-system.svc.cluster.local]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${proxy} } }]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: egress-users }
spec:
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: { host: egress.istio-system.svc.cluster.local, port: { number: 80 } }
`,
  'mesh.yaml': 'outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n',
});

describe('the outbound traffic policy in the embedded mode and the sidecar profile', () => {
  let backends: Backend[];
  let dir: string;
  let bsDir: string;
  let server: XdsServer;
  let proxy: Server;
  const meshes: Mesh[] = [];
  const agents: MeshAgent[] = [];

  beforeAll(async () => {
    backends = await Promise.all(['known', 'outside'].map((n) => startBackend(n)));
    // The egress proxy answers with the Host it was asked for.
    proxy = createServer((req, res) => res.end(`proxy for ${req.headers.host}`));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    dir = tempDir('outbound-profiles');
    bsDir = tempDir('outbound-profiles-bs');
    writeConfig(dir, config(backends[0]!.port, (proxy.address() as AddressInfo).port));
    server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger });
  }, 30_000);

  afterAll(async () => {
    for (const a of agents) await a.close();
    for (const m of meshes) await m.close();
    server?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    proxy?.closeAllConnections();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    for (const d of [dir, bsDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  async function client(profile: 'embedded' | 'sidecar', namespace: string): Promise<MeshAgent> {
    const mesh = profile === 'embedded'
      ? await createMesh({ config: dir, namespace, watch: false, logger: silentLogger })
      : await createMesh({ bootstrap: writeBootstrap(bsDir, server.address, { namespace }), xds: { generator: 'sidecar' }, logger: silentLogger });
    meshes.push(mesh);
    const agent = new MeshAgent({ mesh });
    agents.push(agent);
    return agent;
  }

  const outside = () => `http://127.0.0.1:${backends[1]!.port}/x`;

  for (const profile of ['embedded', 'sidecar'] as const) {
    it(`${profile}: the folder's MeshConfig REGISTRY_ONLY blocks a host outside the mesh; a ServiceEntry host is served`, async () => {
      const agent = await client(profile, 'default');
      const before = backends[1]!.hits;
      const err = await request(outside(), { dispatcher: agent }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutboundBlockedError);
      expect((err as Error).message).toMatch(/is not a service of the mesh and the outbound traffic policy is REGISTRY_ONLY.*BlackHoleCluster/);
      expect(backends[1]!.hits).toBe(before);
      expect(await (await request('http://api.example.com/', { dispatcher: agent })).body.text()).toBe('known');
    });

    it(`${profile}: a Sidecar's egressProxy sends a host outside the mesh to the proxy`, async () => {
      const agent = await client(profile, 'egress-users');
      const res = await request('http://unknown.example.org/p', { dispatcher: agent });
      expect(await res.body.text()).toBe('proxy for unknown.example.org');
    });
  }
});
