// Meshlet leans on one grpc-js internal: LoadBalancingCall starts a call with
// `pickedSubchannel.getRealSubchannel().createCall(metadata, host, method, listener, callNumber)`
// and drives the SubchannelCall it gets back. If a grpc-js upgrade moves that seam, this fails
// before anything else does.

import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { credentials, Metadata } from '@grpc/grpc-js';
import { register } from '@meshlet/grpc';
import { MeshCallSubchannel } from '../src/subchannel-mesh-call.ts';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, meshOf, service } from './helpers/xds.ts';
import { unary } from './helpers/calls.ts';

const require = createRequire(import.meta.url);

let server: EchoServer;
beforeAll(async () => { server = await startEchoServer('s'); });
afterAll(async () => { await server.close(); });

describe('the grpc-js seam', () => {
  it('is the grpc-js minor Meshlet was built against', () => {
    const { version } = require('@grpc/grpc-js/package.json') as { version: string };
    expect(version).toMatch(/^1\.14\./);
  });

  it('still has Subchannel.createCall(metadata, host, method, listener, callId)', () => {
    const { Subchannel } = require('@grpc/grpc-js/build/src/subchannel.js') as { Subchannel: { prototype: { createCall: (...a: unknown[]) => unknown } } };
    expect(typeof Subchannel.prototype.createCall).toBe('function');
    expect(Subchannel.prototype.createCall.length).toBe(5);
  });

  it('starts every mesh call through the picked subchannel, with the call metadata grpc-js prepared', async () => {
    const spy = vi.spyOn(MeshCallSubchannel.prototype, 'createCall');
    const mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x') } }]), cluster(C('x'), [server.port])]);
    register(mesh);
    const client = new EchoClient(TARGET, credentials.createInsecure());
    try {
      await unary(client, {}, { headers: { 'x-probe': 'yes' }, deadlineMs: 5000 });
      expect(spy).toHaveBeenCalledTimes(1);
      const [metadata, host, method] = spy.mock.calls[0]!;
      expect(metadata).toBeInstanceOf(Metadata);
      expect(metadata.get('x-probe')).toEqual(['yes']);
      expect(metadata.get('grpc-timeout')[0]).toMatch(/^\d+[mS]$/);
      expect(host).toBe('echo.default.svc.cluster.local:9000');
      expect(method).toBe('/test.Echo/Unary');
    } finally {
      spy.mockRestore();
      client.close();
      await mesh.close();
    }
  });
});
