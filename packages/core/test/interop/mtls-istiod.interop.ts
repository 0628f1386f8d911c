// Mesh mTLS through istiod: istiod's proxyless generator turns a DestinationRule with
// ISTIO_MUTUAL into a cluster transport socket; Meshlet, fed by istiod, must (1) receive exactly
// the transport socket its embedded compiler writes for the same CRDs, and (2) use it — present
// the workload certificate and accept only the service account istiod names — against a real
// TLS server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createMesh, issueDevCertificates, silentLogger, spiffeIdOf, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { tempDir, writeBootstrap, writeConfig } from '../xds-helpers.ts';
import { buildGo, HAS_GO, startGoServer, type GoServer } from './go-build.ts';

const FQDN = 'reviews.default.svc.cluster.local';
const CLUSTER = `outbound|9080||${FQDN}`;

describe.skipIf(!HAS_GO)('mesh mTLS configured by istiod', () => {
  let istiod: GoServer;
  let server: Server;
  let viaIstiod: Mesh;
  let embedded: Mesh;
  let certs: string;

  beforeAll(async () => {
    const root = tempDir('istiod-mtls');
    const caDir = join(root, 'ca');
    const reviews = issueDevCertificates({ out: join(root, 'reviews'), caDir, namespace: 'default', serviceAccount: 'reviews' });
    certs = issueDevCertificates({ out: join(root, 'sleep'), caDir, namespace: 'default', serviceAccount: 'sleep' }).dir;
    const read = (f: string) => readFileSync(join(reviews.dir, f), 'utf8');
    server = createServer({ key: read('key.pem'), cert: read('cert-chain.pem'), ca: read('root-cert.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      res.end(spiffeIdOf((req.socket as TLSSocket).getPeerCertificate().subjectaltname) ?? '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const dir = tempDir('istiod-mtls-config');
    writeConfig(dir, { 'mesh.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${FQDN}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: ${port} }, serviceAccount: reviews }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${FQDN}
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL }, loadBalancer: { simple: ROUND_ROBIN } }
` });
    istiod = await startGoServer(await buildGo('istiod'), ['-config', dir]);
    viaIstiod = await createMesh({ bootstrap: writeBootstrap(tempDir('istiod-mtls-bootstrap'), istiod.address), listeners: [`${FQDN}:9080`], certs, logger: silentLogger });
    embedded = await createMesh({ config: dir, watch: false, logger: silentLogger });
  });

  afterAll(async () => {
    await viaIstiod?.close();
    await embedded?.close();
    await istiod?.stop();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('istiod sends the transport socket the embedded compiler writes', () => {
    const find = (m: Mesh) => (m.configDump().clusters as { name: string; transportSocket?: unknown }[]).find((c) => c.name === CLUSTER)?.transportSocket;
    expect(find(viaIstiod)).toBeDefined();
    expect(find(viaIstiod)).toEqual(find(embedded));
  });

  it('a Meshlet client configured by istiod calls over mTLS with its workload identity', async () => {
    const agent = new MeshAgent({ mesh: viaIstiod });
    try {
      const res = await agent.request({ origin: `http://${FQDN}:9080`, path: '/', method: 'GET' });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('spiffe://cluster.local/ns/default/sa/sleep');
    } finally {
      await agent.close();
    }
  });
});
