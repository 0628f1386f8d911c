// TLS session resumption on mesh mTLS connections, over real sockets with real certificates:
// MeshAgent resumes each endpoint's own session on its next connection (so a new connection
// costs a resumed handshake, not a full one), both sides still know who the peer is on a resumed
// connection, and no session ever lets a server past the SPIFFE identity check — Node skips
// checkServerIdentity on a resumed session, so the mesh must never offer one that was not
// checked against the identity policy in force.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import http from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { createMesh, silentLogger, spiffeIdOf, type Mesh } from '@meshlet/core';
import { MeshAgent, MeshHttpAgent } from '@meshlet/http';
import { FQDN, clientConfig, createPki, failure, id, type Pki } from './helpers/mtls.ts';

let pki: Pki;
beforeAll(() => {
  pki = createPki();
  pki.issue('reviews', 'reviews');
  pki.issue('ratings', 'ratings');
  pki.issue('sleep', 'sleep');
});
afterAll(() => pki.cleanup());

/** An mTLS server (its own session-ticket keys, as every workload has) that counts its handshakes. */
interface Upstream {
  port: number;
  /** TCP connections; handshakes the server completed (a client that refuses the server's identity never completes one under TLS 1.3), and of those resumed. */
  connections: number;
  handshakes: number;
  resumed: number;
  /** Per request: the client's SPIFFE ID as this server saw it, and whether the connection was resumed. */
  seen: { peer: string | undefined; resumed: boolean }[];
  close(): Promise<void>;
}
const upstreams: Upstream[] = [];
let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
let nodeAgent: MeshHttpAgent | undefined;
afterEach(async () => {
  await agent?.close();
  nodeAgent?.destroy();
  await mesh?.close();
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  agent = mesh = nodeAgent = undefined;
});

async function upstream(certDir: string, maxVersion: SecureVersion = 'TLSv1.3'): Promise<Upstream> {
  const read = (f: string) => readFileSync(join(certDir, f), 'utf8');
  const u: Upstream = { port: 0, connections: 0, handshakes: 0, resumed: 0, seen: [], close: async () => {} };
  const server: Server = createHttpsServer({ key: read('key.pem'), cert: read('cert-chain.pem'), ca: read('root-cert.pem'), requestCert: true, rejectUnauthorized: true, maxVersion }, (req, res) => {
    const socket = req.socket as TLSSocket;
    u.seen.push({ peer: spiffeIdOf(socket.getPeerCertificate().subjectaltname), resumed: socket.isSessionReused() });
    res.end('ok');
  });
  server.on('connection', () => u.connections++);
  server.on('secureConnection', (s: TLSSocket) => {
    u.handshakes++;
    if (s.isSessionReused()) u.resumed++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.port = (server.address() as AddressInfo).port;
  u.close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  upstreams.push(u);
  return u;
}

/**
 * `reviews` on the given ports, ISTIO_MUTUAL, one request per connection (so every request opens
 * a connection), endpoints taken in turn.
 */
function writeConfig(dir: string, ports: number[], subjectAltNames?: string[]): void {
  clientConfig(dir, {
    port: ports,
    tls: { mode: 'ISTIO_MUTUAL', ...(subjectAltNames && { subjectAltNames }) },
    trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' }, connectionPool: { http: { maxRequestsPerConnection: 1 } } },
  });
}

async function client(dir: string, watch = false): Promise<MeshAgent> {
  mesh = await createMesh({ config: dir, watch, logger: silentLogger, certs: pki.dir('sleep') });
  agent = new MeshAgent({ mesh });
  return agent;
}

async function get(a: MeshAgent): Promise<string> {
  const res = await request(`http://${FQDN}:9080/`, { dispatcher: a });
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${body}`);
  return body;
}

const configDir = () => join(pki.root, `cfg-${Math.random().toString(36).slice(2)}`);

describe('TLS session resumption', () => {
  it('resumes each endpoint\'s own session on its next connection, both peers still identified', async () => {
    const [a, b] = [await upstream(pki.dir('reviews')), await upstream(pki.dir('reviews'))];
    const dir = configDir();
    writeConfig(dir, [a!.port, b!.port]);
    const m = await client(dir);
    // One at a time, so each connection starts after the last one's session arrived.
    for (let i = 0; i < 20; i++) expect(await get(m)).toBe('ok');
    // Every request had a connection of its own, and the two endpoints took turns.
    expect([a!.handshakes, b!.handshakes]).toEqual([10, 10]);
    // Only each endpoint's first connection was a full handshake. (With one session per
    // cluster, which Envoy keeps, taking turns would resume none: each endpoint would be
    // offered the other's session, which its ticket keys cannot open.)
    expect([a!.resumed, b!.resumed]).toEqual([9, 9]);
    // The server knows the client's identity on a resumed connection as on a full one.
    for (const u of [a!, b!]) {
      expect(u.seen.filter((s) => s.resumed)).toHaveLength(9);
      expect(new Set(u.seen.map((s) => s.peer))).toEqual(new Set([id('sleep')]));
    }
  });

  it('node:http clients through MeshHttpAgent resume per endpoint too', async () => {
    const [a, b] = [await upstream(pki.dir('reviews')), await upstream(pki.dir('reviews'))];
    const dir = configDir();
    writeConfig(dir, [a!.port, b!.port]);
    mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, certs: pki.dir('sleep') });
    nodeAgent = new MeshHttpAgent({ mesh });
    for (let i = 0; i < 10; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        http.get(`http://${FQDN}:9080/`, { agent: nodeAgent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => { text += c.toString(); });
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect(body).toBe('ok');
    }
    expect([a!.handshakes, b!.handshakes]).toEqual([5, 5]);
    expect([a!.resumed, b!.resumed]).toEqual([4, 4]);
    expect(new Set([...a!.seen, ...b!.seen].map((s) => s.peer))).toEqual(new Set([id('sleep')]));
  });

  it('a changed SAN list is enforced on the next connection: no session from before the change is offered', async () => {
    const u = await upstream(pki.dir('reviews'));
    const dir = configDir();
    writeConfig(dir, [u.port], [id('reviews')]);
    const m = await client(dir, true);
    expect(await get(m)).toBe('ok');
    expect(await get(m)).toBe('ok');
    expect(u.resumed).toBe(1);
    // The server keeps its certificate; the policy now wants another identity.
    const version = mesh!.snapshot.version;
    writeConfig(dir, [u.port], [id('ratings')]);
    for (const t0 = Date.now(); mesh!.snapshot.version === version; await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() - t0 > 5000) throw new Error('the config change was not applied within 5 s');
    }
    const connections = u.connections;
    const err = await failure(get(m));
    // The identity check ran, so the handshake was a full one: Node runs checkServerIdentity
    // only on a session that was not resumed.
    expect(err.message).toContain(`expected one of [${id('ratings')}]`);
    expect(err.message).toContain(`presented [${id('reviews')}]`);
    expect(u.connections).toBeGreaterThan(connections);
    expect(u.resumed).toBe(1);
    expect(u.seen).toHaveLength(2);
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`a server that fails the identity check gets no session to resume later (${version})`, async () => {
      const u = await upstream(pki.dir('ratings'), version);
      const dir = configDir();
      writeConfig(dir, [u.port]);
      const m = await client(dir);
      for (let i = 0; i < 3; i++) {
        const err = await failure(get(m));
        expect(err.message).toContain(`presented [${id('ratings')}]`);
      }
      expect(u.connections).toBeGreaterThanOrEqual(3);
      expect(u.resumed).toBe(0);
      expect(u.seen).toEqual([]);
    });
  }
});
