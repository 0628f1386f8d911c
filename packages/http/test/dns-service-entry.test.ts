// A DNS ServiceEntry end to end: the host name is resolved by Meshlet (node:dns, /etc/hosts
// only — never the internet), the cluster's endpoints become addresses, and real traffic flows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { startServer, type TestServer } from './helpers/servers.ts';
import { tempDir } from '../../core/test/temp-dir.ts';

let server: TestServer;
let mesh: Mesh;
let agent: MeshAgent;

beforeAll(async () => {
  server = await startServer('dns-backend');
  const dir = tempDir('dns');
  writeFileSync(join(dir, 'se.yaml'), `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external-api, namespace: default }
spec:
  hosts: [api.external.test]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
  - address: localhost
    ports: { http: ${server.port} }
`);
  mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, namespace: 'default' });
  agent = new MeshAgent({ mesh });
});
afterAll(async () => {
  await agent?.close();
  await mesh?.close();
  await server?.close();
});

describe('ServiceEntry resolution: DNS', () => {
  it('compiles to a STRICT_DNS cluster as the sidecar gets it, resolves the name, and serves', async () => {
    const name = 'outbound|80||api.external.test';
    const dumped = mesh.configDump().clusters.find((c) => (c as { name: string }).name === name) as Record<string, unknown>;
    expect(dumped).toMatchObject({ type: 'STRICT_DNS', dnsRefreshRate: '60s', respectDnsTtl: true, dnsLookupFamily: 'V4_ONLY' });
    const cluster = mesh.snapshot.clusters.get(name)!;
    // Nothing is resolved before the service is first called.
    expect(cluster.endpoints.map((e) => e.key)).toEqual([`localhost:${server.port}`]);
    const before = server.hits;
    // The first request goes to the name (the transport resolves it) and starts Meshlet's resolver.
    const first = await request('http://api.external.test/first', { dispatcher: agent });
    expect(first.statusCode).toBe(200);
    await first.body.text();
    const until = Date.now() + 5000;
    while (cluster.endpoints[0]?.address !== '127.0.0.1' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(cluster.endpoints.map((e) => e.key)).toEqual([`127.0.0.1:${server.port}`]);
    for (let i = 0; i < 3; i++) {
      const res = await request('http://api.external.test/hello', { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('dns-backend');
    }
    expect(server.hits - before).toBe(4);
    // The logical host is what the server sees, as through a sidecar.
    expect(server.requests.at(-1)!.headers.host).toBe('api.external.test');
  });
});
