// Auto-mTLS over HTTP: with no DestinationRule, a client holding a workload certificate speaks
// Istio mTLS to endpoints with a service account (tlsMode "istio") and plaintext to the others
// of the same service, as a sidecar does — so a STRICT server takes the first and refuses the
// second. Without a certificate the client is outside the mesh and speaks plaintext.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent, createMeshServer, peerIdentity, type MeshServer } from '@meshlet/http';
import { createPki, id, serverConfig, type Pki } from './helpers/mtls.ts';

const FQDN = 'reviews.default.svc.cluster.local';
let pki: Pki;
let strict: { mesh: Mesh; server: MeshServer; port: number };
let plain: Server;
let plainPort: number;

beforeAll(async () => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('sleep', 'sleep');
  const mesh = await createMesh({ config: serverConfig(join(pki.root, 'srv'), [`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }`]), watch: false, logger: silentLogger, certs: pki.dir('reviews') });
  const server = createMeshServer({ mesh }, (req, res) => res.end(`mtls ${peerIdentity(req) ?? 'none'}`));
  strict = { mesh, server, port: await server.listen() };
  plain = createServer((_req, res) => res.end('plaintext'));
  plainPort = await new Promise<number>((resolve) => plain.listen(0, '127.0.0.1', () => resolve((plain.address() as AddressInfo).port)));
});
afterAll(async () => {
  await strict?.server.close();
  await strict?.mesh.close();
  await new Promise((resolve) => plain?.close(resolve));
  pki?.cleanup();
});

function clientConfig(endpoints: string): string {
  const dir = join(pki.root, `cli-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'reviews.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${FQDN}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: ${endpoints}
`);
  return dir;
}

async function get(config: string, certs: string | undefined): Promise<string> {
  const mesh = await createMesh({ config, watch: false, logger: silentLogger, ...(certs !== undefined && { certs }) });
  const agent = new MeshAgent({ mesh });
  try {
    const res = await request(`http://${FQDN}:9080/`, { dispatcher: agent });
    return `${res.statusCode} ${await res.body.text()}`;
  } finally {
    await agent.close();
    await mesh.close();
  }
}

describe('auto-mTLS over HTTP', () => {
  it('speaks mTLS to an endpoint with a service account, checking its identity, when the client has a certificate', async () => {
    const config = clientConfig(`[{ address: 127.0.0.1, ports: { http: ${strict.port} }, serviceAccount: reviews }]`);
    expect(await get(config, pki.dir('sleep'))).toBe(`200 mtls ${id('sleep')}`);
    // No certificate: a client outside the mesh, whose plaintext the STRICT server refuses.
    await expect(get(config, undefined)).rejects.toThrow();
  });

  it('speaks plaintext to an endpoint without one', async () => {
    const config = clientConfig(`[{ address: 127.0.0.1, ports: { http: ${plainPort} } }]`);
    expect(await get(config, pki.dir('sleep'))).toBe('200 plaintext');
  });

  it('fails the request when the endpoint is not the identity the service account names', async () => {
    const config = clientConfig(`[{ address: 127.0.0.1, ports: { http: ${strict.port} }, serviceAccount: ratings }]`);
    await expect(get(config, pki.dir('sleep'))).rejects.toThrow(/spiffe:\/\/cluster\.local\/ns\/default\/sa\/ratings/);
  });
});
