// DestinationRule consistentHash end to end: Istio YAML → RING_HASH/MAGLEV clusters and route
// hash policies → MeshAgent → real servers on 127.0.0.1.

import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';
import { tempDir } from '../../core/test/temp-dir.ts';

let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await agent?.destroy();
  await mesh?.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function meshWith(lb: string): Promise<TestServer[]> {
  const list = await Promise.all([0, 1, 2, 3].map((i) => startServer(`e${i}`)));
  servers.push(...list);
  const dir = tempDir('hash');
  writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: cart, namespace: default }
spec:
  hosts: [cart.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints:
${list.map((s) => `    - { address: 127.0.0.1, ports: { http: ${s.port} } }`).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: cart, namespace: default }
spec:
  host: cart
  trafficPolicy:
    loadBalancer:
${lb}
`);
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger });
  expect(mesh.problems).toEqual([]);
  agent = new MeshAgent({ mesh });
  return list;
}

async function call(headers: Record<string, string> = {}) {
  const r = await request('http://cart/items', { dispatcher: agent, headers });
  return { body: await r.body.text(), setCookie: r.headers['set-cookie'] };
}

describe('consistent hashing', () => {
  for (const kind of ['ringHash: { minimumRingSize: 1024 }', 'maglev: { tableSize: 65537 }']) {
    it(`keeps each user on one endpoint and spreads users over all of them (${kind.split(':')[0]})`, async () => {
      await meshWith(`      consistentHash:
        httpHeaderName: x-user
        ${kind}`);
      const home = new Map<string, string>();
      for (let u = 0; u < 200; u++) {
        const user = `user-${u}`;
        for (let i = 0; i < 3; i++) {
          const { body } = await call({ 'x-user': user });
          if (home.has(user)) expect(body).toBe(home.get(user));
          else home.set(user, body);
        }
      }
      const counts = new Map<string, number>();
      for (const e of home.values()) counts.set(e, (counts.get(e) ?? 0) + 1);
      // 200 users over 4 equal endpoints: each gets some (a share of 0 has probability ~1e-25).
      expect(counts.size).toBe(4);
    });
  }

  it('issues the hash cookie when it is absent and sticks to one endpoint once the client sends it back', async () => {
    await meshWith(`      consistentHash:
        httpCookie: { name: session, ttl: 3600s, path: / }`);
    const first = await call();
    const cookie = String(first.setCookie);
    expect(cookie).toMatch(/^session="?[0-9a-f]{16}"?; Max-Age=3600; Path=\/; HttpOnly$/);
    const value = cookie.split(';')[0]!;
    for (let i = 0; i < 20; i++) {
      const r = await call({ cookie: value });
      expect(r.body).toBe(first.body);
      expect(r.setCookie).toBeUndefined();
    }
  });
});
