// A SotW server resending many assignments with a bad one among them, over a real ADS stream
// (a scripted server on 127.0.0.1): the unchanged ones, found by runs of bytes, are not decoded;
// the bad one is NACKed every time it comes, keeping its last good value; when the server goes
// back to the good bytes they are recognised as held; two changes apart update exactly those two.

import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/index.ts';
import { AdsClient } from '../src/config/xds/ads-client.ts';
import { ADS_SERVICE_DEFINITION } from '../src/config/xds/ads-service.ts';
import { parseBootstrap } from '../src/config/xds/bootstrap.ts';
import { CLUSTER_LOAD_ASSIGNMENT } from '../src/config/xds/resource-types.ts';
import { decodeRequest, encodeResponse } from '../src/xds/discovery-envelope.ts';
import type { ClusterLoadAssignment } from '../src/xds/resources.ts';
import { bootstrapJson, waitFor } from './xds-helpers.ts';

const TYPE = CLUSTER_LOAD_ASSIGNMENT.typeUrl;
const N = 300;
const name = (i: number): string => `outbound|8080||svc-${i}.default.svc.cluster.local`;
const cla = (i: number, port = 8080): object => ({ '@type': TYPE, clusterName: name(i), endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: `10.0.${i >> 8}.${i & 255}`, portValue: port } } } }] }] });

interface Scripted { port: number; send(version: string, resources: object[]): void; requests: Record<string, unknown>[]; stop(): void }

async function scriptedServer(): Promise<Scripted> {
  const server = new grpc.Server();
  const requests: Record<string, unknown>[] = [];
  let call: grpc.ServerDuplexStream<Buffer, Uint8Array> | undefined;
  server.addService(ADS_SERVICE_DEFINITION, {
    StreamAggregatedResources: (c: grpc.ServerDuplexStream<Buffer, Uint8Array>) => {
      call = c;
      c.on('data', (b: Buffer) => { const r = decodeRequest(false, b); if (r.ok) requests.push(r.value as Record<string, unknown>); });
      c.on('error', () => {});
    },
    DeltaAggregatedResources: (c: grpc.ServerDuplexStream<Buffer, Uint8Array>) => c.end(),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  let nonce = 0;
  return {
    port, requests,
    send: (version, resources) => { call!.write(encodeResponse(false, { versionInfo: version, typeUrl: TYPE, nonce: `n${++nonce}`, resources })); },
    stop: () => server.forceShutdown(),
  };
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const f of cleanup.splice(0)) f();
});

describe('a SotW resend with a bad assignment among many unchanged ones', () => {
  it('NACKs it each time, keeps its last good value, decodes nothing else, and takes the good bytes back as held', async () => {
    const server = await scriptedServer();
    cleanup.push(() => server.stop());
    const bootstrap = parseBootstrap(bootstrapJson(`127.0.0.1:${server.port}`), 'test');
    if (!bootstrap.ok) throw new Error(bootstrap.error);
    const created = AdsClient.create(bootstrap.value, { logger: silentLogger, onChange: () => {} });
    if (!created.ok) throw new Error(created.error);
    const client = created.value;
    cleanup.push(() => client.close());
    client.setSubscription(TYPE, Array.from({ length: N }, (_, i) => name(i)));
    client.start();
    await waitFor(() => server.requests.length > 0, 10_000, 'the EDS request');

    const good = Array.from({ length: N }, (_, i) => cla(i));
    const answered = async (nonce: number): Promise<Record<string, unknown>> => {
      await waitFor(() => server.requests.some((r) => r['responseNonce'] === `n${nonce}`), 10_000, `the answer to n${nonce}`);
      return server.requests.find((r) => r['responseNonce'] === `n${nonce}`)!;
    };
    const watch = (i: number) => client.state.get(TYPE, name(i))!;
    const port = (i: number): number | undefined => (watch(i).value as ClusterLoadAssignment | undefined)?.endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress?.portValue;

    server.send('v1', good);
    expect((await answered(1))['errorDetail']).toBeUndefined();
    expect(watch(150).status).toBe('ACKED');

    const validated = vi.spyOn(CLUSTER_LOAD_ASSIGNMENT, 'validate');
    const decoded = (): string[] => validated.mock.calls.map(([v]) => (v as ClusterLoadAssignment).clusterName!);
    const bad = good.map((r, i) => (i === 150 ? cla(i, 70_000) : r));
    for (const [nonce, version] of [[2, 'v2'], [3, 'v3']] as const) {
      validated.mockClear();
      server.send(version, bad);
      const nack = await answered(nonce);
      // NACKed, naming the resource, with the last accepted version; only the bad one decoded.
      expect((nack['errorDetail'] as { message: string }).message).toContain(name(150));
      expect(nack['versionInfo']).toBe('v1');
      expect(decoded()).toEqual([name(150)]);
      expect(watch(150).status).toBe('NACKED');
      expect(port(150)).toBe(8080);
      expect(watch(149).status).toBe('ACKED');
      expect(watch(149).version).toBe(version);
    }

    // Back to the good bytes: held, so not decoded, and ACKED again.
    validated.mockClear();
    server.send('v4', good);
    expect((await answered(4))['errorDetail']).toBeUndefined();
    expect(decoded()).toEqual([]);
    expect(watch(150).status).toBe('ACKED');
    expect(watch(150).version).toBe('v4');

    // Two changes apart (one at the very start): exactly those two are decoded and updated.
    validated.mockClear();
    const before = watch(7).value;
    server.send('v5', good.map((r, i) => (i === 0 || i === 200 ? cla(i, 9090) : r)));
    expect((await answered(5))['errorDetail']).toBeUndefined();
    expect(decoded().sort()).toEqual([name(0), name(200)].sort());
    expect([port(0), port(200), port(7)]).toEqual([9090, 9090, 8080]);
    expect(watch(7).value).toBe(before);

    // A watch dropped and subscribed again holds nothing: the resend is decoded for it.
    client.setSubscription(TYPE, Array.from({ length: N }, (_, i) => name(i)).filter((_, i) => i !== 42));
    client.setSubscription(TYPE, Array.from({ length: N }, (_, i) => name(i)));
    validated.mockClear();
    server.send('v6', good.map((r, i) => (i === 0 || i === 200 ? cla(i, 9090) : r)));
    await answered(6);
    expect(decoded()).toEqual([name(42)]);
    expect(watch(42).status).toBe('ACKED');
    expect(port(42)).toBe(8080);
  });
});
