// A Sidecar through istiod (istiod/main.go: istiod's DiscoveryServer on the same files): istiod
// applies the egress scope itself — its sidecar generator leaves a hidden service out of the
// route tables and clusters and blocks it under the Sidecar's REGISTRY_ONLY, its grpc generator
// never sends the hidden service's listener — and Meshlet's embedded compile decides the same on
// the same files, naming the Sidecar that hid the host.

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, OutboundBlockedError, silentLogger, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { startBackend, tempDir, writeBootstrap, type Backend } from '../xds-helpers.ts';
import { buildGo, HAS_GO, startGoServer, type GoServer } from './go-build.ts';

const config = (reviews: number, ratings: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${reviews} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: other }
spec:
  hosts: [ratings.other.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${ratings} } }]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  egress: [{ hosts: ["./*"] }]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`;

describe.skipIf(!HAS_GO)('a Sidecar through istiod and in the embedded mode', () => {
  let dir: string;
  let bsDir: string;
  let reviews: Backend;
  let ratings: Backend;
  let istiod: GoServer;
  const meshes: Mesh[] = [];
  let embedded: Mesh;
  let sidecar: Mesh;
  let proxyless: Mesh;

  beforeAll(async () => {
    dir = tempDir('istiod-sidecar-scope');
    bsDir = tempDir('istiod-sidecar-scope-bootstrap');
    let binary: string;
    [binary, reviews, ratings] = await Promise.all([buildGo('istiod'), startBackend('reviews'), startBackend('ratings')]);
    writeFileSync(join(dir, 'mesh.yaml'), config(reviews.port, ratings.port));
    istiod = await startGoServer(binary, ['-config', dir]);
    embedded = await createMesh({ config: dir, watch: false, logger: silentLogger });
    sidecar = await createMesh({ bootstrap: writeBootstrap(bsDir, istiod.address), xds: { generator: 'sidecar', initialFetchTimeoutMs: 20_000 }, logger: silentLogger });
    proxyless = await createMesh({ bootstrap: writeBootstrap(bsDir, istiod.address), xds: { initialFetchTimeoutMs: 20_000 }, logger: silentLogger });
    meshes.push(embedded, sidecar, proxyless);
  }, 1_200_000);

  afterAll(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await istiod?.stop();
    await Promise.all([reviews?.close(), ratings?.close()]);
    for (const d of [dir, bsDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('istiod\'s sidecar generator leaves the hidden service out, as the embedded compile does', () => {
    const clusters = (m: Mesh) => m.configDump().clusters.map((c) => (c as { name: string }).name).filter((n) => n.startsWith('outbound|'));
    expect(clusters(sidecar)).toEqual(['outbound|9080||reviews.default.svc.cluster.local']);
    expect(clusters(embedded)).toEqual(['outbound|9080||reviews.default.svc.cluster.local']);
    expect(embedded.configDump().sidecarScope).toMatchObject({ sidecar: 'default/default', outOfScope: { 'ratings.other.svc.cluster.local': 'other' } });
  });

  it('blocks the hidden service under the Sidecar\'s REGISTRY_ONLY and serves the one in scope, through istiod and embedded', async () => {
    for (const mesh of [sidecar, embedded]) {
      const agent = new MeshAgent({ mesh });
      try {
        const served = await agent.request({ origin: 'http://reviews:9080', path: '/', method: 'GET' });
        expect(await served.body.text()).toBe('reviews');
        // Port 9080 has a listener in the sidecar form: its block_all host answers 502; the
        // embedded mode has no per-port listeners and fails the request with the typed error.
        const hidden = await agent.request({ origin: 'http://ratings.other.svc.cluster.local:9080', path: '/', method: 'GET' }).then(
          async (r) => { await r.body.dump(); return r.statusCode; },
          (e: unknown) => e,
        );
        if (mesh === sidecar) expect(hidden).toBe(502);
        else {
          expect(hidden).toBeInstanceOf(OutboundBlockedError);
          expect((hidden as Error).message).toContain('Sidecar default/default does not import it');
        }
        expect(ratings.hits).toBe(0);
      } finally {
        await agent.close();
      }
    }
  });

  it('istiod\'s grpc generator never sends the hidden service\'s listener', async () => {
    expect(await proxyless.ensureService('reviews', 9080)).toBe(true);
    expect(await proxyless.ensureService('ratings.other', 9080)).toBe(false);
  });
});
