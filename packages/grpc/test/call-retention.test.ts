// A call that is over is garbage. grpc-js keeps a finished stream's listener — the mesh's
// Attempt — reachable for a while after the stream ends; an attempt that still held its call
// kept the caller's whole call chain (and its messages) alive with it, which in a closed loop
// made that chain survive scavenges. An ended attempt lets go of its call.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryObjects } from 'node:v8';
import { credentials, type Client } from '@grpc/grpc-js';
import type { Mesh } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { MeshCall } from '../src/call-mesh.ts';
import { Attempt } from '../src/call-attempt.ts';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, meshOf, service } from './helpers/xds.ts';
import { unary } from './helpers/calls.ts';

let v1: EchoServer;
let mesh: Mesh;
let client: Client;
beforeAll(async () => {
  v1 = await startEchoServer('v1');
  mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('v1') } }]), cluster(C('v1'), [v1.port])]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await mesh.close();
  await v1.close();
});

it('keeps no MeshCall alive through the attempts grpc-js still holds once the calls have ended', async () => {
  // Concurrent calls, as in a closed loop: grpc-js then holds the 32 streams' listeners.
  for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 32 }, (_, i) => unary(client, { text: `call ${round}.${i}` })));
  // queryObjects collects garbage first: what it counts is reachable.
  const attempts = queryObjects(Attempt as never, { format: 'count' }) as number;
  const calls = queryObjects(MeshCall as never, { format: 'count' }) as number;
  expect(attempts).toBeGreaterThanOrEqual(32);
  // Each held attempt kept its call before (32 here). One call stays reachable by another path,
  // not through the attempts, and that does not grow with the calls made (20 in a row: still 1).
  expect(calls).toBeLessThanOrEqual(1);
});
