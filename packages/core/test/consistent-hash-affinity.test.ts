// DestinationRule consistentHash end to end in core: CRDs → compiled cluster (RING_HASH / MAGLEV)
// and route hash_policy → snapshot → the decision's hash → the cluster's pick. The HTTP adapter
// calls exactly these: action.hash(req, sourceIp) and cluster.loadBalancer.pick(exclude, n, hash).

import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { compileMesh } from '../src/istio/compile/compile-mesh.ts';
import { Mesh } from '../src/mesh.ts';
import { resolveIdentity } from '../src/identity.ts';
import { silentLogger } from '../src/logger.ts';
import { requestView } from '../src/router/request-view.ts';
import { setCookieHeader } from '../src/router/hash-policy.ts';

const HOST = 'reviews.default.svc.cluster.local';

function meshFor(loadBalancer: string): Mesh {
  const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [${Array.from({ length: 6 }, (_, i) => `{ address: 10.0.0.${i + 1}${i === 5 ? ', weight: 5' : ''} }`).join(', ')}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy:
    loadBalancer:
${loadBalancer}
`;
  const loaded = parseConfigText(yaml, 'dr.yaml');
  expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
  const compiled = compileMesh(loaded.objects, { namespace: 'default', labels: {}, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' });
  const mesh = new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
  expect(mesh.applyResources(compiled.resources, 'test')).toEqual([]);
  return mesh;
}

function pickFor(mesh: Mesh, headers: Record<string, string>, sourceIp?: string, path = '/') {
  const d = mesh.decide(requestView('GET', 'http', `${HOST}:9080`, path, headers), HOST, 9080);
  if (d.kind !== 'forward') throw new Error(`not forwarded: ${d.kind}`);
  const h = d.action.hash?.(requestView('GET', 'http', `${HOST}:9080`, path, headers), sourceIp);
  return { endpoint: d.cluster.loadBalancer.pick(undefined, 1, h?.hash), hash: h, cluster: d.cluster };
}

describe('DestinationRule consistentHash through the snapshot', () => {
  for (const [name, lb] of [
    ['ring hash (httpHeaderName)', '      consistentHash: { httpHeaderName: x-user, ringHash: { minimumRingSize: 2048 } }'],
    ['maglev (httpHeaderName)', '      consistentHash: { httpHeaderName: x-user, maglev: { tableSize: 65537 } }'],
  ] as const) {
    it(`${name}: one user stays on one endpoint; users spread over all of them, by weight`, () => {
      const mesh = meshFor(lb);
      const { cluster } = pickFor(mesh, { 'x-user': 'u' });
      expect(cluster.lbPolicy).toBe(name.startsWith('ring') ? 'RING_HASH' : 'MAGLEV');
      const counts = new Map<string, number>();
      for (let u = 0; u < 3000; u++) {
        const first = pickFor(mesh, { 'x-user': `user-${u}` }).endpoint!.key;
        if (u < 200) for (let again = 0; again < 3; again++) expect(pickFor(mesh, { 'x-user': `user-${u}` }).endpoint!.key).toBe(first);
        counts.set(first, (counts.get(first) ?? 0) + 1);
      }
      expect(counts.size).toBe(6);
      // 10.0.0.6 has weight 5 of 10: about half the users (deterministic keys; bound is loose).
      const heavy = (counts.get('10.0.0.6:9080') ?? 0) / 3000;
      expect(heavy).toBeGreaterThan(0.4);
      expect(heavy).toBeLessThan(0.6);
      void mesh.close();
    });
  }

  it('explain shows the key and the endpoint it lands on', () => {
    const mesh = meshFor('      consistentHash: { httpHeaderName: x-user }');
    const e = mesh.explain({ url: `http://${HOST}:9080/`, headers: { 'x-user': 'alice' } });
    const picked = pickFor(mesh, { 'x-user': 'alice' }).endpoint!.key;
    expect(e.consistentHash).toEqual({ key: expect.stringMatching(/^[0-9a-f]{16}$/), setCookie: null, endpoints: { [`outbound|9080||${HOST}`]: picked } });
    expect(mesh.explain({ url: `http://${HOST}:9080/` }).consistentHash?.key).toBeNull();
    void mesh.close();
  });

  it('httpCookie with a ttl issues the cookie, and the cookie then pins the endpoint', () => {
    const mesh = meshFor('      consistentHash: { httpCookie: { name: stick, path: /, ttl: 60s, attributes: [{ name: SameSite, value: Lax }] } }');
    const first = pickFor(mesh, {});
    expect(first.hash?.setCookie).toMatchObject({ name: 'stick', path: '/', ttlSeconds: 60 });
    expect(setCookieHeader(first.hash!.setCookie!)).toMatch(/^stick="[0-9a-f]{16}"; Max-Age=60; Path=\/; SameSite=Lax; HttpOnly$/);
    const cookie = setCookieHeader(first.hash!.setCookie!).split(';')[0]!;
    for (let i = 0; i < 20; i++) {
      const again = pickFor(mesh, { cookie });
      expect(again.hash?.setCookie).toBeUndefined();
      expect(again.endpoint).toBe(first.endpoint);
    }
    void mesh.close();
  });

  it('useSourceIp and httpQueryParameterName key on what they name', () => {
    const byIp = meshFor('      consistentHash: { useSourceIp: true }');
    expect(pickFor(byIp, {}, '10.9.8.7').endpoint).toBe(pickFor(byIp, {}, '10.9.8.7').endpoint);
    const byQuery = meshFor('      consistentHash: { httpQueryParameterName: tenant }');
    const a = pickFor(byQuery, {}, undefined, '/x?tenant=acme');
    for (let i = 0; i < 10; i++) expect(pickFor(byQuery, {}, undefined, `/y?z=${i}&tenant=acme`).endpoint).toBe(a.endpoint);
    void byIp.close();
    void byQuery.close();
  });
});
