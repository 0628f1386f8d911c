// The compiler's locality load balancing and warmup, rule by rule against istiod's output
// (pilot loadbalancer.go, cluster_traffic_policy.go): what each endpoint group's weight and
// priority become, and what the cluster carries.

import { describe, expect, it } from 'vitest';
import type { TrafficPolicy, WorkloadEntrySpec } from '../src/istio/types.ts';
import { translateCluster } from '../src/snapshot/translate-cluster.ts';
import { decodeMessage, encodeMessage } from '../src/xds/codec/index.ts';
import { assignment, client, cluster, compile, destinationRule, messages, serviceEntry, staticService } from './compile-helpers.ts';

const HOST = 'geo.example.com';
const CLUSTER = `outbound|80||${HOST}`;

function geo(endpoints: WorkloadEntrySpec[], trafficPolicy: TrafficPolicy, who: { locality?: string; labels?: Record<string, string> } = {}) {
  const se = serviceEntry('geo', { hosts: [HOST], resolution: 'STATIC', ports: [{ number: 80, name: 'http' }], endpoints });
  return compile([se, destinationRule('geo', { host: HOST, trafficPolicy })], { ...client('default', who.labels ?? {}), locality: who.locality });
}

/** 'locality (first address)' → [weight, priority, endpoint count] per group. */
function groups(r: ReturnType<typeof compile>): Record<string, [number | undefined, number, number]> {
  const out: Record<string, [number | undefined, number, number]> = {};
  for (const g of assignment(r, CLUSTER).endpoints ?? []) {
    const l = g.locality ?? {};
    const first = g.lbEndpoints?.[0]?.endpoint?.address?.socketAddress?.address ?? '-';
    out[`${l.region ?? ''}/${l.zone ?? ''}/${l.subZone ?? ''} ${first}`] = [g.loadBalancingWeight, g.priority ?? 0, g.lbEndpoints?.length ?? 0];
  }
  return out;
}

describe('localityLbSetting.distribute (applyLocalityWeights)', () => {
  const eps: WorkloadEntrySpec[] = [
    { address: '10.0.0.1', locality: 'us-east/a/1' },
    { address: '10.0.0.2', locality: 'us-east/a/2', weight: 3 },
    { address: '10.0.0.3', locality: 'us-west/c' },
    { address: '10.0.0.4', locality: 'eu/d' },
  ];
  const distribute = { loadBalancer: { localityLbSetting: { distribute: [
    { from: 'eu/*', to: { 'eu/*': 100 } },
    { from: 'us-east/a/*', to: { 'us-east/a/*': 80, 'us-west/*': 20 } },
  ] } } };

  it('the first matching `from` sets weights; a `to` shared by its groups\' weights, rounded up; the rest lose their endpoints', () => {
    const r = geo(eps, distribute, { locality: 'us-east/a/1' });
    expect(groups(r)).toEqual({
      'eu/d/ -': [1, 0, 0],
      'us-east/a/1 10.0.0.1': [20, 0, 1],
      'us-east/a/2 10.0.0.2': [60, 0, 1],
      'us-west/c/ 10.0.0.3': [20, 0, 1],
    });
    // Panic mode off, as istiod writes it for every cluster whose rule leaves it unset.
    expect(cluster(r, CLUSTER).commonLbConfig).toEqual({ healthyPanicThreshold: { value: 0 }, localityWeightedLbConfig: {} });
    expect(messages(r)).toEqual([]);
  });

  it('with outlier detection too: distribute wins, no priorities', () => {
    const r = geo(eps, { ...distribute, outlierDetection: { consecutive5xxErrors: 1 } }, { locality: 'us-east/a/1' });
    expect(Object.values(groups(r)).map((g) => g[1])).toEqual([0, 0, 0, 0]);
    expect(cluster(r, CLUSTER).commonLbConfig).toEqual({ healthyPanicThreshold: { value: 0 }, localityWeightedLbConfig: {} });
  });

  it('no matching `from`: weights stay, and the cluster is still locality-weighted (istiod sets it for any distribute)', () => {
    const r = geo(eps, distribute, { locality: 'ap/x' });
    expect(Object.values(groups(r)).map((g) => g[0])).toEqual([1, 1, 3, 1]);
    expect(cluster(r, CLUSTER).commonLbConfig?.localityWeightedLbConfig).toEqual({});
  });

  it('wildcard `from` matches a client with no locality', () => {
    const r = geo(eps, { loadBalancer: { localityLbSetting: { distribute: [{ from: '*', to: { 'us-west/c': 100 } }] } } });
    expect(Object.values(groups(r)).map((g) => g[2])).toEqual([0, 0, 0, 1]);
  });

  it('enabled: false turns it all off', () => {
    const r = geo(eps, { loadBalancer: { localityLbSetting: { enabled: false, distribute: distribute.loadBalancer.localityLbSetting.distribute } } }, { locality: 'us-east/a/1' });
    expect(Object.values(groups(r)).map((g) => g[0])).toEqual([1, 1, 3, 1]);
    expect(cluster(r, CLUSTER).commonLbConfig).toEqual({ healthyPanicThreshold: { value: 0 } });
  });
});

describe('localityLbSetting.failoverPriority (applyFailoverPriorities)', () => {
  const eps: WorkloadEntrySpec[] = [
    { address: '10.0.0.1', locality: 'us-east/a', labels: { version: 'v1' } },
    { address: '10.0.0.4', locality: 'us-east/a', labels: { version: 'v2' }, weight: 2 },
    { address: '10.0.0.2', locality: 'us-east/b', labels: { version: 'v2' } },
    { address: '10.0.0.3', locality: 'us-west/c', labels: { version: 'v1' } },
  ];
  const od = { outlierDetection: { consecutive5xxErrors: 1 } };
  const who = { locality: 'us-east/a', labels: { version: 'v1' } };

  it('priority n − (index of the first label that differs); groups split by priority, weights re-summed', () => {
    const r = geo(eps, { ...od, loadBalancer: { localityLbSetting: { failoverPriority: ['topology.kubernetes.io/region', 'version'] } } }, who);
    expect(groups(r)).toEqual({
      'us-east/a/ 10.0.0.1': [1, 0, 1],
      'us-east/a/ 10.0.0.4': [2, 1, 1],
      'us-east/b/ 10.0.0.2': [1, 1, 1],
      'us-west/c/ 10.0.0.3': [1, 2, 1],
    });
    expect(cluster(r, CLUSTER).commonLbConfig?.localityWeightedLbConfig).toEqual({});
  });

  it('`label=value` compares against that value instead of the client\'s', () => {
    const r = geo(eps, { ...od, loadBalancer: { localityLbSetting: { failoverPriority: ['version=v2'] } } }, who);
    expect(Object.fromEntries(Object.entries(groups(r)).map(([k, g]) => [k.split(' ')[1], g[1]]))).toEqual({ '10.0.0.1': 1, '10.0.0.4': 0, '10.0.0.2': 0, '10.0.0.3': 1 });
  });

  it('topology.istio.io/network compares the endpoint\'s network with the client\'s label', () => {
    const withNet = eps.map((e, i) => (i % 2 === 0 ? { ...e, network: 'n1' } : e));
    const r = geo(withNet, { ...od, loadBalancer: { localityLbSetting: { failoverPriority: ['topology.istio.io/network'] } } }, { locality: 'us-east/a', labels: { 'topology.istio.io/network': 'n1' } });
    expect(Object.fromEntries(Object.entries(groups(r)).map(([k, g]) => [k.split(' ')[1], g[1]]))).toEqual({ '10.0.0.1': 0, '10.0.0.4': 1, '10.0.0.2': 0, '10.0.0.3': 1 });
  });

  it('with `failover` as well, region failover refines each failoverPriority level (priority × 5 + locality priority)', () => {
    const r = geo(eps, { ...od, loadBalancer: { localityLbSetting: { failoverPriority: ['version'], failover: [{ from: 'us-east', to: 'us-west' }] } } }, who);
    expect(Object.fromEntries(Object.entries(groups(r)).map(([k, g]) => [k.split(' ')[1], g[1]]))).toEqual({ '10.0.0.1': 0, '10.0.0.3': 1, '10.0.0.4': 2, '10.0.0.2': 3 });
  });

  it('does nothing without outlier detection (traffic could never fail over)', () => {
    const r = geo(eps, { loadBalancer: { localityLbSetting: { failoverPriority: ['version'] } } }, who);
    expect(Object.values(groups(r)).map((g) => g[1])).toEqual([0, 0, 0]);
    expect(cluster(r, CLUSTER).commonLbConfig).toEqual({ healthyPanicThreshold: { value: 0 } });
  });
});

describe('warmup → slow_start_config', () => {
  const svc = staticService('web.example.com', 80);
  const name = 'outbound|80||web.example.com';
  const withLb = (loadBalancer: NonNullable<TrafficPolicy['loadBalancer']>) => cluster(compile([svc, destinationRule('web', { host: 'web.example.com', trafficPolicy: { loadBalancer } })]), name);

  it('warmup on ROUND_ROBIN: window, aggression and minimumPercent as istiod writes them', () => {
    const c = withLb({ simple: 'ROUND_ROBIN', warmup: { duration: '30s', aggression: 2, minimumPercent: 25 } });
    expect(c.roundRobinLbConfig).toEqual({ slowStartConfig: { slowStartWindow: '30s', aggression: { defaultValue: 2, runtimeKey: '(' }, minWeightPercent: { value: 25 } } });
    expect(translateCluster(c)).toMatchObject({ ok: true, value: { lbPolicy: 'ROUND_ROBIN', slowStart: { windowMs: 30000, aggression: 2, minWeightPercent: 25 } } });
  });

  it('warmup defaults (aggression 1, 10%); the deprecated warmupDurationSecs gives the window only; default LEAST_REQUEST', () => {
    const c = withLb({ warmup: { duration: '10s' } });
    expect(c.leastRequestLbConfig).toEqual({ slowStartConfig: { slowStartWindow: '10s', aggression: { defaultValue: 1, runtimeKey: '(' }, minWeightPercent: { value: 10 } } });
    const old = withLb({ simple: 'LEAST_REQUEST', warmupDurationSecs: '15s' });
    expect(old.leastRequestLbConfig).toEqual({ slowStartConfig: { slowStartWindow: '15s' } });
    expect(translateCluster(old)).toMatchObject({ ok: true, value: { slowStart: { windowMs: 15000, aggression: 1, minWeightPercent: 10 } } });
  });

  it('after the wire (proto3 drops zeros), minimumPercent 0 and a panic threshold of 0 stay 0, not the defaults', () => {
    const c = withLb({ simple: 'ROUND_ROBIN', warmup: { duration: '10s', minimumPercent: 0 } });
    c.commonLbConfig = { healthyPanicThreshold: { value: 0 } };
    const wire = decodeMessage('envoy.config.cluster.v3.Cluster', encodeMessage('envoy.config.cluster.v3.Cluster', c));
    expect(wire.ok).toBe(true);
    expect(translateCluster(wire.ok ? wire.value : c)).toMatchObject({ ok: true, value: { panicThreshold: 0, slowStart: { windowMs: 10000, aggression: 1, minWeightPercent: 0 } } });
  });

  it('consistent hashing replaces the slow start config (lb_config is a oneof); RANDOM has none', () => {
    const hashed = withLb({ warmup: { duration: '10s' }, consistentHash: { httpHeaderName: 'x-user' } });
    expect(hashed.leastRequestLbConfig).toBeUndefined();
    expect(translateCluster(hashed)).toMatchObject({ ok: true, value: { slowStart: undefined } });
    expect(withLb({ simple: 'RANDOM', warmup: { duration: '10s' } }).roundRobinLbConfig).toBeUndefined();
  });
});
