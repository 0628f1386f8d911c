// Certificate rotation under load: istio-agent rewrites the workload files while requests flow.
// No request may fail; new connections must use the new certificates (the server sees the new
// client serial numbers, the client sees the server's new ones) while in-flight requests
// finish on the connections they started on.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createMesh, silentLogger, issueDevCertificates } from '@meshlet/core';
import { MeshAgent, createMeshServer } from '@meshlet/http';
import { FQDN, clientConfig, createPki, serverConfig, type Pki } from './helpers/mtls.ts';

let pki: Pki;
beforeAll(() => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('sleep', 'sleep');
});
afterAll(() => pki.cleanup());

const serial = (dir: string) => new X509Certificate(readFileSync(join(dir, 'cert-chain.pem'))).serialNumber;

it('rotates client and server certificates under load with zero failed requests', async () => {
  const serverMesh = await createMesh({
    config: serverConfig(join(pki.root, 'srv'), [`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }`]),
    watch: false, logger: silentLogger, certs: pki.dir('reviews'),
  });
  const seenClientSerials = new Set<string>();
  const server = createMeshServer({ mesh: serverMesh }, (req, res) => {
    seenClientSerials.add((req.socket as TLSSocket).getPeerCertificate().serialNumber);
    // A little latency so requests are in flight while files change.
    setTimeout(() => res.end('ok'), 2);
  });
  const port = await server.listen();
  const clientMesh = await createMesh({ config: clientConfig(join(pki.root, 'cli'), { port }), watch: false, logger: silentLogger, certs: pki.dir('sleep') });
  const agent = new MeshAgent({ mesh: clientMesh });

  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const res = await request(`http://${FQDN}:9080/`, { dispatcher: agent });
        await res.body.text();
        if (res.statusCode === 200) ok++;
        else failures.push(`status ${res.statusCode}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  // Each step waits for a number of completed requests, not for a time: on a loaded machine a
  // fixed sleep may see few requests, and the point is that traffic flows across every rotation.
  const afterRequests = async (n: number) => {
    const target = ok + failures.length + n;
    const deadline = Date.now() + 15_000;
    while (ok + failures.length < target) {
      if (Date.now() > deadline) throw new Error(`only ${ok} requests succeeded (${failures.length} failed) within 15 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const clientSerials = [serial(pki.dir('sleep'))];
  const serverSerials = [serial(pki.dir('reviews'))];
  for (let round = 0; round < 3; round++) {
    await afterRequests(60);
    issueDevCertificates({ out: pki.dir('sleep'), caDir: join(pki.root, 'ca'), namespace: 'default', serviceAccount: 'sleep' });
    clientSerials.push(serial(pki.dir('sleep')));
    await afterRequests(30);
    issueDevCertificates({ out: pki.dir('reviews'), caDir: join(pki.root, 'ca'), namespace: 'default', serviceAccount: 'reviews' });
    serverSerials.push(serial(pki.dir('reviews')));
  }
  await afterRequests(80);
  running = false;
  await Promise.all(workers);

  expect(failures).toEqual([]);
  expect(ok).toBeGreaterThan(200);
  // New connections presented the rotated client certificates (at least the last one).
  expect(seenClientSerials.has(clientSerials.at(-1)!)).toBe(true);
  expect(seenClientSerials.size).toBeGreaterThanOrEqual(2);
  // And the server handshakes with its newest certificate.
  const last = await new Promise<string>((resolve, reject) => {
    import('node:tls').then(({ connect }) => {
      const read = (f: string) => readFileSync(join(pki.dir('sleep'), f), 'utf8');
      const s = connect({ host: '127.0.0.1', port, ca: read('root-cert.pem'), cert: read('cert-chain.pem'), key: read('key.pem'), checkServerIdentity: () => undefined }, () => {
        resolve(s.getPeerCertificate().serialNumber);
        s.destroy();
      });
      s.on('error', reject);
    }, reject);
  });
  expect(last).toBe(serverSerials.at(-1));

  await agent.close();
  await clientMesh.close();
  await server.close();
  await serverMesh.close();
});
