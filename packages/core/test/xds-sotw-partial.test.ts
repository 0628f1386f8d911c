// What a state-of-the-world stream of `meshlet xds` carries, read off the wire: Listener and
// Cluster responses list everything; ClusterLoadAssignment responses carry only what the client
// lacks — the one changed assignment, a newly wanted name, everything on a new stream — never
// a resend of the rest (which the client keeps: an EDS SotW response does not delete what it
// leaves out). A real server on 127.0.0.1 and a plain gRPC stream speaking the protocol; then
// Meshlet's own client through the same changes.

import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createMesh, silentLogger, XdsServer, type Mesh } from '../src/index.ts';
import { SOTW_METHOD } from '../src/config/xds/ads-service.ts';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER } from '../src/config/xds/resource-types.ts';
import { encodeRequest, peekResourceName, readSotwResponse } from '../src/xds/discovery-envelope.ts';
import { staticServicesYaml, svcCluster as clusterOf, svcHost as host, tempDir, waitFor, writeBootstrap, writeConfig } from './xds-helpers.ts';

const EDS = CLUSTER_LOAD_ASSIGNMENT.typeUrl;
const NODE = { id: 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } };

/** `count` services, one endpoint each; `ports` overrides a service's endpoint port. */
const meshYaml = (count: number, ports: Record<number, number> = {}): string => staticServicesYaml(count, (i) => [ports[i] ?? 20_000 + i]);

interface Response { typeUrl: string; nonce: string; names: string[] }

/** A SotW ADS stream that records every response, names as sent. */
class WireClient {
  readonly responses: Response[] = [];
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<object, Buffer>;

  constructor(address: string) {
    this.#client = new grpc.Client(address, grpc.credentials.createInsecure());
    this.#call = this.#client.makeBidiStreamRequest(SOTW_METHOD, (r: object) => Buffer.from(encodeRequest(false, r)), (b: Buffer) => b);
    this.#call.on('data', (b: Buffer) => {
      const r = readSotwResponse(b);
      if (!r.ok) throw new Error(r.error);
      const names: string[] = [];
      const spans = r.value.resources;
      for (let i = 0; i < spans.length; i++) names.push(peekResourceName(spans.whole.subarray(spans.startAt(i), spans.endAt(i)))!);
      this.responses.push({ typeUrl: r.value.typeUrl, nonce: r.value.nonce, names });
    });
    this.#call.on('error', () => {});
  }

  request(typeUrl: string, names: string[], nonce = '', errorDetail?: string): void {
    this.#call.write({ node: NODE, typeUrl, resourceNames: names, responseNonce: nonce, ...(errorDetail && { errorDetail: { code: 3, message: errorDetail } }) });
  }

  of(typeUrl: string): Response[] {
    return this.responses.filter((r) => r.typeUrl === typeUrl);
  }

  /** The `n`th response of that type (1-based), once it has come. */
  async nth(typeUrl: string, n: number): Promise<Response> {
    await waitFor(() => this.of(typeUrl).length >= n, 10_000, `${typeUrl} response ${n}`);
    return this.of(typeUrl)[n - 1]!;
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** `meshlet xds` on `count` services; `change` rewrites the mesh and has the server load it. */
async function serve(count: number): Promise<{ server: XdsServer; change: (count: number, ports?: Record<number, number>) => Promise<void> }> {
  const dir = tempDir('xds-sotw-partial');
  writeConfig(dir, { 'mesh.yaml': meshYaml(count) });
  const server = await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false });
  cleanup.push(() => server.close());
  const change = async (n: number, ports?: Record<number, number>): Promise<void> => {
    writeConfig(dir, { 'mesh.yaml': meshYaml(n, ports) });
    await server.store.reload();
  };
  return { server, change };
}

function connect(server: XdsServer): WireClient {
  const c = new WireClient(server.address);
  cleanup.push(() => c.close());
  return c;
}

const sorted = (names: string[]): string[] => [...names].sort();
const all = (count: number): string[] => sorted(Array.from({ length: count }, (_, i) => clusterOf(i)));

describe('a SotW stream of meshlet xds', () => {
  it('sends an EDS change as the one changed assignment, while LDS and CDS stay complete', async () => {
    const { server, change } = await serve(12);
    const c = connect(server);
    c.request(LISTENER.typeUrl, []);
    c.request(CLUSTER.typeUrl, []);
    c.request(EDS, all(12));
    expect((await c.nth(LISTENER.typeUrl, 1)).names).toHaveLength(12);
    const cds1 = await c.nth(CLUSTER.typeUrl, 1);
    expect(sorted(cds1.names)).toEqual(all(12));
    const eds1 = await c.nth(EDS, 1);
    expect(sorted(eds1.names)).toEqual(all(12));
    c.request(LISTENER.typeUrl, [], c.of(LISTENER.typeUrl)[0]!.nonce);
    c.request(CLUSTER.typeUrl, [], cds1.nonce);
    c.request(EDS, all(12), eds1.nonce);

    // One endpoint moves: one assignment on the wire.
    await change(12, { 3: 29_999 });
    const eds2 = await c.nth(EDS, 2);
    expect(eds2.names).toEqual([clusterOf(3)]);
    c.request(EDS, all(12), eds2.nonce);

    // A service added: CDS and LDS list all 13; the client asks for the new assignment and gets
    // that one alone.
    await change(13, { 3: 29_999 });
    const cds2 = await c.nth(CLUSTER.typeUrl, 2);
    expect(sorted(cds2.names)).toEqual(all(13));
    expect((await c.nth(LISTENER.typeUrl, 2)).names).toHaveLength(13);
    c.request(CLUSTER.typeUrl, [], cds2.nonce);
    c.request(EDS, all(13), eds2.nonce);
    const eds3 = await c.nth(EDS, 3);
    expect(eds3.names).toEqual([clusterOf(12)]);
    c.request(EDS, all(13), eds3.nonce);

    // A service removed: CDS lists the 12 left (its absence deletes the cluster); nothing on
    // EDS (the client drops that name; the rest have not changed).
    await change(12, { 3: 29_999 });
    const cds3 = await c.nth(CLUSTER.typeUrl, 3);
    expect(sorted(cds3.names)).toEqual(all(12));
    c.request(EDS, all(12), eds3.nonce);
    // The next EDS response is the next change's, and carries it alone.
    await change(12, { 3: 29_999, 8: 29_998 });
    expect((await c.nth(EDS, 4)).names).toEqual([clusterOf(8)]);
    expect(c.of(EDS)).toHaveLength(4);
  });

  it('sends nothing when the name set shrinks, and a name wanted again in full', async () => {
    const { server } = await serve(6);
    const c = connect(server);
    c.request(EDS, all(6));
    const eds1 = await c.nth(EDS, 1);
    expect(sorted(eds1.names)).toEqual(all(6));
    const without5 = all(6).filter((n) => n !== clusterOf(5));
    c.request(EDS, without5, eds1.nonce);
    c.request(EDS, all(6), eds1.nonce);
    // Had the shrink been answered, that response would come first on the stream.
    const eds2 = await c.nth(EDS, 2);
    expect(eds2.names).toEqual([clusterOf(5)]);
    // The ACK changes nothing.
    c.request(EDS, all(6), eds2.nonce);
    c.request(EDS, [...all(6), 'outbound|8080||nowhere.default.svc.cluster.local'], eds2.nonce);
    c.request(EDS, [clusterOf(0)], eds2.nonce);
    c.request(EDS, [clusterOf(0), clusterOf(1)], eds2.nonce);
    expect((await c.nth(EDS, 3)).names).toEqual([clusterOf(1)]);
  });

  it('does not resend a NACKed assignment until it changes', async () => {
    const { server, change } = await serve(6);
    const c = connect(server);
    c.request(EDS, all(6));
    const eds1 = await c.nth(EDS, 1);
    await change(6, { 2: 29_990 });
    const eds2 = await c.nth(EDS, 2);
    expect(eds2.names).toEqual([clusterOf(2)]);
    c.request(EDS, all(6), eds2.nonce, 'rejected for the test');
    await change(6, { 2: 29_990, 4: 29_991 });
    expect((await c.nth(EDS, 3)).names).toEqual([clusterOf(4)]);
    await change(6, { 2: 29_992, 4: 29_991 });
    expect((await c.nth(EDS, 4)).names).toEqual([clusterOf(2)]);
  });

  it('sends an assignment again that left the store while wanted and came back', async () => {
    const { server, change } = await serve(6);
    const c = connect(server);
    c.request(EDS, all(6));
    const eds1 = await c.nth(EDS, 1);
    c.request(EDS, all(6), eds1.nonce);
    // svc-5 goes; the client (a raw one here) goes on asking for it. SotW EDS cannot say it is gone.
    await change(5);
    await change(5, { 0: 29_990 });
    const eds2 = await c.nth(EDS, 2);
    expect(eds2.names).toEqual([clusterOf(0)]);
    c.request(EDS, all(6), eds2.nonce);
    await change(6, { 0: 29_990 });
    expect((await c.nth(EDS, 3)).names).toEqual([clusterOf(5)]);
  });

  it('gives a new stream everything it wants', async () => {
    const { server, change } = await serve(6);
    const first = connect(server);
    first.request(EDS, all(6));
    await first.nth(EDS, 1);
    await change(6, { 1: 29_990 });
    expect((await first.nth(EDS, 2)).names).toEqual([clusterOf(1)]);
    const second = connect(server);
    second.request(CLUSTER.typeUrl, []);
    second.request(EDS, all(6));
    expect(sorted((await second.nth(EDS, 1)).names)).toEqual(all(6));
    expect(sorted((await second.nth(CLUSTER.typeUrl, 1)).names)).toEqual(all(6));
  });
});

describe("Meshlet's client on a SotW stream of meshlet xds", () => {
  it('keeps every assignment it was not resent, and gets back a cluster that went and came back', async () => {
    const { server, change } = await serve(8);
    const listeners = Array.from({ length: 8 }, (_, i) => `${host(i)}:8080`);
    const mesh: Mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('xds-sotw-partial-bs'), server.address, {}), listeners, logger: silentLogger, xds: { initialFetchTimeoutMs: 5000 } });
    cleanup.push(() => mesh.close());
    const assignments = () => new Map(mesh.configDump().xds!.resources.filter((r) => r.type === 'ClusterLoadAssignment').map((r) => [r.name, r]));
    const before = assignments();
    expect(before.size).toBe(8);
    const port = (i: number): number[] | undefined => mesh.snapshot.clusters.get(clusterOf(i))?.endpoints.map((e) => e.port);

    await change(8, { 6: 29_999 });
    await waitFor(() => port(6)?.[0] === 29_999, 10_000, 'the moved endpoint');
    const after = assignments();
    expect(after.size).toBe(8);
    for (const [name, r] of after) {
      expect(r.status).toBe('ACKED');
      // Not resent: still at the version it came with.
      if (name !== clusterOf(6)) expect(r.version).toBe(before.get(name)!.version);
    }
    for (let i = 0; i < 8; i++) expect(port(i)).toEqual([i === 6 ? 29_999 : 20_000 + i]);

    // svc-7 goes (its cluster leaves CDS, the client drops the assignment) and comes back: the
    // server, having forgotten it with the name, sends it again.
    await change(7, { 6: 29_999 });
    await waitFor(() => !assignments().has(clusterOf(7)) || assignments().get(clusterOf(7))!.status === 'DOES_NOT_EXIST', 10_000, 'svc-7 gone');
    await change(8, { 6: 29_999 });
    await waitFor(() => port(7)?.[0] === 20_007, 10_000, 'svc-7 back with its endpoint');
    for (let i = 0; i < 8; i++) expect(port(i)).toEqual([i === 6 ? 29_999 : 20_000 + i]);
  });
});
