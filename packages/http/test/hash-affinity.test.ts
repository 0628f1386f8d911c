// DestinationRule consistentHash through MeshAgent with real servers: a key stays on one
// endpoint, keys spread over every endpoint, and a cookie policy issues its cookie and sticks.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';
import { tempDir } from '../../core/test/temp-dir.ts';

const HOST = 'ratings.default.svc.cluster.local';
let servers: TestServer[] = [];
const meshes: Mesh[] = [];
const agents: MeshAgent[] = [];

async function agentFor(consistentHash: string): Promise<MeshAgent> {
  const dir = tempDir('hash');
  writeFileSync(join(dir, 'mesh.yaml'), `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: default }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [${servers.map((s) => `{ address: 127.0.0.1, ports: { http: ${s.port} } }`).join(', ')}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy:
    loadBalancer:
      consistentHash: ${consistentHash}
`);
  const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, namespace: 'default' });
  meshes.push(mesh);
  const agent = new MeshAgent({ mesh });
  agents.push(agent);
  return agent;
}

async function get(agent: MeshAgent, path: string, headers: Record<string, string> = {}) {
  const res = await request(`http://${HOST}:9080${path}`, { dispatcher: agent, headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

beforeAll(async () => {
  servers = await Promise.all(['a', 'b', 'c'].map((n) => startServer(n)));
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await Promise.all(meshes.map((m) => m.close()));
  await Promise.all(servers.map((s) => s.close()));
});

describe('consistent hashing through MeshAgent', () => {
  for (const lb of ['{ httpHeaderName: x-user }', '{ httpHeaderName: x-user, maglev: { tableSize: 65537 } }']) {
    it(`${lb}: each user always reaches the same server, and users reach every server`, async () => {
      const agent = await agentFor(lb);
      const seen = new Set<string>();
      for (let u = 0; u < 60; u++) {
        const first = (await get(agent, '/', { 'x-user': `user-${u}` })).body;
        seen.add(first);
        for (let i = 0; i < 3; i++) expect((await get(agent, `/again/${i}`, { 'x-user': `user-${u}` })).body).toBe(first);
      }
      expect(seen).toEqual(new Set(['a', 'b', 'c']));
    });
  }

  it('httpCookie with a ttl sets the cookie on the response, and the cookie then pins the server', async () => {
    const agent = await agentFor('{ httpCookie: { name: stick, path: /, ttl: 3600s } }');
    const first = await get(agent, '/');
    const setCookie = String(first.headers['set-cookie']);
    expect(setCookie).toMatch(/^stick="[0-9a-f]{16}"; Max-Age=3600; Path=\/; HttpOnly$/);
    const cookie = setCookie.split(';')[0]!;
    for (let i = 0; i < 10; i++) {
      const again = await get(agent, `/n/${i}`, { cookie });
      expect(again.body).toBe(first.body);
      expect(again.headers['set-cookie']).toBeUndefined();
    }
  });
});
