// Cluster.load_balancing_policy as Envoy and gRPC read it: the first entry this client
// implements wins and lb_policy is then ignored; unknown types are skipped; a known type whose
// settings cannot be honoured, or a list with nothing usable, rejects the cluster by field.

import { describe, expect, it } from 'vitest';
import { translateCluster } from '../src/snapshot/translate-cluster.ts';
import { LB_POLICY_TYPE_URL, type Cluster } from '../src/xds/resources.ts';

const policy = (typeUrl: string, fields: Record<string, unknown> = {}) => ({ typedExtensionConfig: { name: 'x', typedConfig: { '@type': typeUrl, ...fields } } });
const cluster = (policies: ReturnType<typeof policy>[], extra: Partial<Cluster> = {}): Cluster => ({ name: 'c', type: 'EDS', lbPolicy: 'RING_HASH', loadBalancingPolicy: { policies }, ...extra });

describe('load_balancing_policy', () => {
  it('takes the first supported entry, skipping unknown types, over lb_policy', () => {
    const r = translateCluster(cluster([policy('type.googleapis.com/some.Unknown'), policy(LB_POLICY_TYPE_URL.LeastRequest, { slowStartConfig: { slowStartWindow: '5s' } }), policy(LB_POLICY_TYPE_URL.RoundRobin)]));
    expect(r.ok && r.value.lbPolicy).toBe('LEAST_REQUEST');
    expect(r.ok && r.value.slowStart).toEqual({ windowMs: 5000, aggression: 1, minWeightPercent: 10 });
  });

  it('reads ring and table sizes, and locality weighting from the entry or WrrLocality', () => {
    const ring = translateCluster(cluster([policy(LB_POLICY_TYPE_URL.RingHash, { hashFunction: 'XX_HASH', minimumRingSize: '2048' })]));
    expect(ring.ok && ring.value.hashLb).toEqual({ minimumRingSize: 2048, maximumRingSize: 8388608 });
    const maglev = translateCluster(cluster([policy(LB_POLICY_TYPE_URL.Maglev, { tableSize: '65537', localityWeightedLbConfig: {} })]));
    expect(maglev.ok && [maglev.value.lbPolicy, maglev.value.hashLb, maglev.value.localityWeighted]).toEqual(['MAGLEV', { tableSize: 65537 }, true]);
    const wrr = translateCluster(cluster([policy(LB_POLICY_TYPE_URL.WrrLocality, { endpointPickingPolicy: { policies: [policy(LB_POLICY_TYPE_URL.Random)] } })]));
    expect(wrr.ok && [wrr.value.lbPolicy, wrr.value.localityWeighted]).toEqual(['RANDOM', true]);
    const plain = translateCluster(cluster([policy(LB_POLICY_TYPE_URL.RoundRobin)]));
    expect(plain.ok && plain.value.localityWeighted).toBe(false);
  });

  it('rejects a list with nothing usable, or an entry it cannot honour, naming the field', () => {
    const none = translateCluster(cluster([policy('type.googleapis.com/envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin')]));
    expect(!none.ok && none.error).toBe('Cluster c: loadBalancingPolicy: none of the policies is supported (envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin; Meshlet implements LeastRequest, RoundRobin, Random, RingHash, Maglev, WrrLocality)');
    const murmur = translateCluster(cluster([policy(LB_POLICY_TYPE_URL.RingHash, { hashFunction: 'MURMUR_HASH_2' }), policy(LB_POLICY_TYPE_URL.RoundRobin)]));
    expect(!murmur.ok && murmur.error).toBe('Cluster c: loadBalancingPolicy.policies[0].typedExtensionConfig.typedConfig.hashFunction: MURMUR_HASH_2 is not supported (XX_HASH)');
    const table = translateCluster(cluster([policy(LB_POLICY_TYPE_URL.Maglev, { tableSize: '100' })]));
    expect(!table.ok && table.error).toMatch(/policies\[0\]\.typedExtensionConfig\.typedConfig\.tableSize: "100" must be a prime/);
  });

  it('falls back to lb_policy only when the list is absent', () => {
    const r = translateCluster({ name: 'c', type: 'EDS', lbPolicy: 'RANDOM' });
    expect(r.ok && r.value.lbPolicy).toBe('RANDOM');
  });
});
