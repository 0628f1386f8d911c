import { afterEach, describe, expect, it, vi } from 'vitest';
import { DnsEndpoints, inHostsFile, needsResolving, systemResolver, type DnsResolver } from '../src/snapshot/dns-refresh.ts';
import type { DnsSettings, EndpointSpec } from '../src/snapshot/translate-cluster.ts';
import { silentLogger } from '../src/logger.ts';
import { buildSnapshot } from '../src/snapshot/build-snapshot.ts';
import { ClusterRuntimeRegistry } from '../src/snapshot/cluster-runtime.ts';
import type { Cluster, XdsResources } from '../src/xds/resources.ts';

// A resolver whose answers the test sets; it counts lookups so refresh timing can be checked.
function fakeResolver(answers: Record<string, string[] | Error>, ttls: Record<string, number> = {}) {
  const calls: string[] = [];
  const resolver: DnsResolver = {
    async lookup(name) {
      calls.push(name);
      const a = answers[name];
      if (a === undefined) throw new Error(`ENOTFOUND ${name}`);
      if (a instanceof Error) throw a;
      return a;
    },
    async ttl(name) {
      return ttls[name];
    },
  };
  return { resolver, calls, answers };
}

const spec = (address: string, port = 80, weight = 1): EndpointSpec => ({ address, port, weight, healthy: true, locality: undefined, priority: 0, labels: {} });
const STRICT: DnsSettings = { logical: false, refreshRateMs: 60_000, respectTtl: true, family: 4 };
const flush = () => vi.advanceTimersByTimeAsync(0);

afterEach(() => vi.useRealTimers());

describe('DNS endpoints (STRICT_DNS / LOGICAL_DNS)', () => {
  it('resolves nothing until the cluster is first used', async () => {
    vi.useFakeTimers();
    const f = fakeResolver({ a: ['10.0.0.1'] });
    const dns = new DnsEndpoints('c', silentLogger, () => {}, f.resolver);
    dns.update(STRICT, [spec('a')]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(f.calls).toEqual([]);
    dns.activate();
    await flush();
    expect(f.calls).toEqual(['a']);
    dns.close();
  });

  it('keeps the name as the endpoint until the first answer, then one endpoint per address', async () => {
    vi.useFakeTimers();
    const { resolver } = fakeResolver({ 'api.example.test': ['10.0.0.1', '10.0.0.2'] });
    let changes = 0;
    const dns = new DnsEndpoints('c', silentLogger, () => changes++, resolver);
    const specs = [spec('api.example.test', 443, 3), spec('10.9.9.9', 443)];
    dns.update(STRICT, specs);
    dns.activate();
    expect(dns.expand(specs).map((s) => s.address)).toEqual(['api.example.test', '10.9.9.9']);
    await flush();
    expect(changes).toBe(1);
    const eps = dns.expand(specs);
    expect(eps.map((s) => `${s.address}:${s.port}/${s.weight}`)).toEqual(['10.0.0.1:443/3', '10.0.0.2:443/3', '10.9.9.9:443/1']);
    dns.close();
  });

  it('LOGICAL_DNS keeps only the first address', async () => {
    vi.useFakeTimers();
    const { resolver } = fakeResolver({ 'api.example.test': ['10.0.0.7', '10.0.0.8'] });
    const dns = new DnsEndpoints('c', silentLogger, () => {}, resolver);
    dns.update({ ...STRICT, logical: true }, [spec('api.example.test')]);
    dns.activate();
    await flush();
    expect(dns.expand([spec('api.example.test')]).map((s) => s.address)).toEqual(['10.0.0.7']);
    dns.close();
  });

  it('refreshes on the TTL, never more often than the refresh rate, and swaps new addresses in', async () => {
    vi.useFakeTimers();
    const f = fakeResolver({ long: ['10.0.0.1'], short: ['10.0.1.1'] }, { long: 120, short: 5 });
    let changes = 0;
    const dns = new DnsEndpoints('c', silentLogger, () => changes++, f.resolver);
    dns.update(STRICT, [spec('long'), spec('short')]);
    dns.activate();
    await flush();
    expect(f.calls.sort()).toEqual(['long', 'short']);
    f.calls.length = 0;
    await vi.advanceTimersByTimeAsync(59_000);
    expect(f.calls).toEqual([]); // a 5 s TTL still waits for the 60 s rate
    await vi.advanceTimersByTimeAsync(1_000);
    expect(f.calls).toEqual(['short']);
    f.answers['long'] = ['10.0.0.2', '10.0.0.3'];
    await vi.advanceTimersByTimeAsync(60_000); // 120 s: the long TTL is due
    expect(f.calls.sort()).toEqual(['long', 'short', 'short']);
    expect(dns.addresses('long')).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(changes).toBe(3); // two first answers, one change; unchanged answers are no change
    dns.close();
  });

  it('uses the refresh rate when TTLs are not respected or unknown', async () => {
    vi.useFakeTimers();
    const f = fakeResolver({ a: ['10.0.0.1'] }, { a: 300 });
    const dns = new DnsEndpoints('c', silentLogger, () => {}, f.resolver);
    dns.update({ ...STRICT, respectTtl: false, refreshRateMs: 10_000 }, [spec('a')]);
    dns.activate();
    await flush();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(f.calls.length).toBe(4);
    dns.close();
  });

  it('keeps the last good addresses when a lookup fails, retrying sooner', async () => {
    vi.useFakeTimers();
    const f = fakeResolver({ a: ['10.0.0.1'] });
    let changes = 0;
    const dns = new DnsEndpoints('c', silentLogger, () => changes++, f.resolver);
    dns.update(STRICT, [spec('a')]);
    dns.activate();
    await flush();
    f.answers['a'] = new Error('SERVFAIL');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(dns.addresses('a')).toEqual(['10.0.0.1']);
    f.answers['a'] = [];
    await vi.advanceTimersByTimeAsync(1_000); // first retry after 1 s: an empty answer is a failure too
    expect(dns.addresses('a')).toEqual(['10.0.0.1']);
    f.answers['a'] = ['10.0.0.9'];
    await vi.advanceTimersByTimeAsync(2_000); // then 2 s
    expect(dns.addresses('a')).toEqual(['10.0.0.9']);
    expect(f.calls.length).toBe(4);
    expect(changes).toBe(2);
    dns.close();
  });

  it('a rotated answer is no change for STRICT_DNS', async () => {
    vi.useFakeTimers();
    const f = fakeResolver({ a: ['10.0.0.1', '10.0.0.2'] });
    let changes = 0;
    const dns = new DnsEndpoints('c', silentLogger, () => changes++, f.resolver);
    dns.update(STRICT, [spec('a')]);
    dns.activate();
    await flush();
    f.answers['a'] = ['10.0.0.2', '10.0.0.1'];
    await vi.advanceTimersByTimeAsync(60_000);
    expect(changes).toBe(1);
    dns.close();
  });

  it('stops resolving names a new snapshot no longer has', async () => {
    vi.useFakeTimers();
    const f = fakeResolver({ a: ['10.0.0.1'], b: ['10.0.0.2'] });
    const dns = new DnsEndpoints('c', silentLogger, () => {}, f.resolver);
    dns.update(STRICT, [spec('a'), spec('b')]);
    dns.activate();
    await flush();
    dns.update(STRICT, [spec('b')]);
    dns.activate();
    f.calls.length = 0;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(f.calls).toEqual(['b']);
    dns.close();
  });

  it('knows host names from addresses and reads /etc/hosts entries', () => {
    expect(needsResolving('localhost')).toBe(true);
    expect(needsResolving('10.0.0.1')).toBe(false);
    expect(needsResolving('::1')).toBe(false);
    expect(needsResolving('unix:/tmp/s')).toBe(false);
    expect(inHostsFile('db.internal', '# c\n10.0.0.1  db.internal db  # x\n::1 ip6-localhost\n')).toBe(true);
    expect(inHostsFile('DB', '10.0.0.1 db.internal db\n')).toBe(true);
    expect(inHostsFile('other', '10.0.0.1 db.internal db\n')).toBe(false);
  });
});

describe('DNS clusters in a snapshot (real resolver, names from /etc/hosts only)', () => {
  const dnsCluster = (name: string, host: string, type: Cluster['type'] = 'STRICT_DNS'): Cluster => ({
    name, type, lbPolicy: 'ROUND_ROBIN', connectTimeout: '1s', dnsRefreshRate: '60s', respectDnsTtl: true, dnsLookupFamily: 'V4_ONLY',
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: host, portValue: 8080 } } } }] }] },
  });
  const resources = (clusters: Cluster[]): XdsResources => ({ listeners: new Map(), routeConfigs: new Map(), clusters: new Map(clusters.map((c) => [c.name, c])), endpoints: new Map() });

  it('resolves localhost with node:dns and swaps 127.0.0.1 into the cluster without a new snapshot', async () => {
    expect(inHostsFile('localhost')).toBe(true);
    expect(await systemResolver.lookup('localhost', 4)).toContain('127.0.0.1');
    const registry = new ClusterRuntimeRegistry(silentLogger);
    const { snapshot, errors } = buildSnapshot(resources([dnsCluster('c', 'localhost')]), registry, 1);
    expect(errors).toEqual([]);
    const cluster = snapshot.clusters.get('c')!;
    // Resolution starts with the first pick; until the answer the name is the endpoint.
    expect(cluster.runtime.pick()?.key).toBe('localhost:8080');
    const until = Date.now() + 5000;
    while (cluster.endpoints[0]?.address !== '127.0.0.1' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(cluster.endpoints.map((e) => e.key)).toEqual(['127.0.0.1:8080']);
    expect(cluster.runtime.pick()?.key).toBe('127.0.0.1:8080');
    // The next snapshot of the same cluster keeps the resolved addresses from the start.
    const next = buildSnapshot(resources([{ ...dnsCluster('c', 'localhost'), connectTimeout: '2s' }]), registry, 2).snapshot;
    expect(next.clusters.get('c')!.endpoints.map((e) => e.key)).toEqual(['127.0.0.1:8080']);
    registry.close();
  });
});

describe('TLS to a DNS service', () => {
  it('sends the resolved host name as SNI when the DestinationRule sets none', async () => {
    const { parseConfigText } = await import('../src/istio/load/load-yaml.ts');
    const { compileMesh } = await import('../src/istio/compile/compile-mesh.ts');
    const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: default }
spec:
  hosts: [api.example.test]
  resolution: DNS
  ports: [{ number: 443, name: tls, protocol: TLS }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: default }
spec:
  host: api.example.test
  trafficPolicy: { tls: { mode: SIMPLE } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api2, namespace: default }
spec:
  host: api2.example.test
  trafficPolicy: { tls: { mode: SIMPLE, sni: front.example.test } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api2, namespace: default }
spec:
  hosts: [api2.example.test]
  resolution: DNS
  ports: [{ number: 443, name: tls, protocol: TLS }]
`;
    const loaded = parseConfigText(yaml, 'tls.yaml');
    expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const compiled = compileMesh(loaded.objects, { namespace: 'default', labels: {}, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' });
    const registry = new ClusterRuntimeRegistry(silentLogger);
    const { snapshot, errors } = buildSnapshot(compiled.resources, registry, 1);
    expect(errors).toEqual([]);
    expect(snapshot.clusters.get('outbound|443||api.example.test')!.tls?.sni).toBe('api.example.test');
    expect(snapshot.clusters.get('outbound|443||api2.example.test')!.tls?.sni).toBe('front.example.test');
    // Nothing was resolved: no cluster was used.
    expect(snapshot.clusters.get('outbound|443||api.example.test')!.runtime.dns?.active).toBe(false);
    registry.close();
  });
});
