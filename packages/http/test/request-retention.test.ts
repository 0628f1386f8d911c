// A request that is over is garbage, even while the caller still holds its response. undici's
// request() keeps, on the handler its response body reaches, the queued-abort hook of a request
// that waited for a connection, and through it undici's request and that request's handler (the
// mesh's attempt). A finished attempt lets go of its MeshRequest, so only those small objects
// stay; before, every held response kept its whole mesh request alive (options, headers, trace,
// grant), which in a closed loop made V8 pretenure the request's allocation sites.

import { afterEach, expect, it } from 'vitest';
import { queryObjects } from 'node:v8';
import { request, type Dispatcher } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent } from '@meshlet/http';
import { MeshRequest } from '../src/mesh-request.ts';
import { startServer, type TestServer } from './helpers/servers.ts';
import { webEndpoint, writeWebMesh } from './helpers/web-mesh.ts';

let mesh: Mesh | undefined;
let agent: MeshAgent | undefined;
let server: TestServer | undefined;
afterEach(async () => {
  await agent?.destroy();
  await mesh?.close();
  await server?.close();
  agent = mesh = server = undefined;
});

it('keeps no MeshRequest alive once its response has ended, though the caller holds the responses', async () => {
  server = await startServer('web', (_req, res) => setTimeout(() => res.end('ok'), 20));
  // One connection: the requests after the first wait in the pool's queue, where undici hands
  // the caller's handler the hook that names the queued request.
  mesh = await createMesh({ config: writeWebMesh([webEndpoint(server.port)], `    connectionPool:
      tcp: { maxConnections: 1 }
      http: { http1MaxPendingRequests: 100 }`, '    - route: [{ destination: { host: web } }]'), watch: false, logger: silentLogger });
  agent = new MeshAgent({ mesh });
  const signal = new AbortController().signal;
  const held: Dispatcher.ResponseData[] = await Promise.all(Array.from({ length: 8 }, () => request('http://web/', { dispatcher: agent, signal })));
  for (const res of held) expect(await res.body.text()).toBe('ok');
  expect(server.hits).toBe(8);
  // queryObjects collects garbage first: what it counts is reachable.
  expect(queryObjects(MeshRequest as never, { format: 'count' })).toBe(0);
  expect(held).toHaveLength(8);
});
