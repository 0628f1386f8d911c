// The DestinationRule and ServiceEntry analyzers: unknown hosts (IST0174), subsets that select no
// endpoint (IST0173), rules whose merge drops a subset or a policy (MSH0002), TLS modes a
// PeerAuthentication refuses (MSH0003), and ServiceEntries that disagree on a port's protocol
// (IST0177) — each at its file:line.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { loadConfigFiles } from '../src/istio/load/load-files.ts';
import { analyzeYaml, destinationRule, lineOf, peerAuthentication, REVIEWS, serviceEntry } from './analyze-helpers.ts';

describe('destinationrule.Hosts (IST0174)', () => {
  it('a rule for a host no service declares applies to nothing', () => {
    const yaml = REVIEWS + destinationRule('ghost', '  host: ghost.example.com\n  trafficPolicy: { loadBalancer: { simple: RANDOM } }');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'host: ghost')}: DestinationRule default/ghost: spec.host: warning: The host ghost.example.com defined in the DestinationRule does not match any services in the mesh (no Service or ServiceEntry declares it); this rule applies to nothing [IST0174]`,
    ]);
  });

  it('a wildcard rule covering a declared host, and a short name, are fine', () => {
    expect(analyzeYaml(REVIEWS + destinationRule('all', '  host: "*.svc.cluster.local"') + destinationRule('short', '  host: reviews'))).toEqual([]);
  });
});

describe('destinationrule.SubsetSelectsEndpoints (IST0173)', () => {
  it('a subset whose labels match none of the endpoints', () => {
    const yaml = REVIEWS + destinationRule('reviews', '  host: reviews\n  subsets:\n  - { name: v1, labels: { version: v1 } }\n  - name: v3\n    labels: { version: v3 }');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'labels: { version: v3 }')}: DestinationRule default/reviews: spec.subsets[1].labels: The Subset v3 defined in the DestinationRule does not select any endpoint of reviews.default.svc.cluster.local (labels version=v3 match none of its 2); requests routed to it fail with no healthy upstream (503 UH) [IST0173]`,
    ]);
  });

  it('over a cluster dump (Kubernetes Services, EndpointSlices, Pods): Bookinfo\'s rules, the subsets no pod carries', async () => {
    const { objects } = await loadConfigFiles([join(import.meta.dirname, '../../../tests/fixtures/bookinfo')]);
    expect(analyzeMesh(objects).map((p) => `${p.code} ${p.name} ${p.field}`)).toEqual([
      'IST0173 ratings spec.subsets[1].labels',
      'IST0173 ratings spec.subsets[2].labels',
      'IST0173 ratings spec.subsets[3].labels',
      'IST0173 details spec.subsets[1].labels',
    ]);
  });

  it('counts the WorkloadEntries a ServiceEntry selects', () => {
    const yaml = serviceEntry('ratings', '  hosts: [ratings.default.svc.cluster.local]\n  ports: [{ number: 80, name: http }]\n  resolution: STATIC\n  workloadSelector: { labels: { app: ratings } }')
      + 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: { name: r1, namespace: default }\nspec: { address: 10.0.0.5, labels: { app: ratings, version: v2 } }\n---\n'
      + destinationRule('ratings', '  host: ratings\n  subsets: [{ name: v2, labels: { version: v2 } }, { name: v9, labels: { version: v9 } }]');
    expect(analyzeYaml(yaml)).toEqual([expect.stringMatching(/spec.subsets\[1\].labels: The Subset v9 .* \[IST0173\]$/)]);
  });
});

describe('destinationrule.Conflicts (MSH0002)', () => {
  it('a later rule for the same host: its duplicate subset and its trafficPolicy are ignored', () => {
    const yaml = REVIEWS
      + destinationRule('first', '  host: reviews\n  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }\n  subsets: [{ name: v1, labels: { version: v1 } }]')
      + destinationRule('second', '  host: reviews.default.svc.cluster.local\n  trafficPolicy: { loadBalancer: { simple: RANDOM } }\n  subsets:\n  - name: v1\n    labels: { version: v2 }');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, '- name: v1')}: DestinationRule default/second: spec.subsets[0].name: warning: duplicate subset v1 for host reviews.default.svc.cluster.local: DestinationRule default/first is older and already defines it, so this one is ignored [MSH0002]`,
      `mesh.yaml:${lineOf(yaml, 'simple: RANDOM')}: DestinationRule default/second: spec.trafficPolicy: warning: DestinationRule default/first for host reviews.default.svc.cluster.local is older and sets a trafficPolicy, so this one's is ignored (its subsets still apply): merge them into one rule [MSH0002]`,
    ]);
  });

  it('rules in different namespaces do not merge', () => {
    expect(analyzeYaml(REVIEWS + destinationRule('a', '  host: reviews.default.svc.cluster.local\n  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }') + destinationRule('b', '  host: reviews.default.svc.cluster.local\n  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }', 'other'))).toEqual([]);
  });
});

describe('destinationrule.TlsMatchesPeerAuthentication (MSH0003)', () => {
  const strictMesh = peerAuthentication('default', '  mtls: { mode: STRICT }', 'istio-system');

  it('plaintext (DISABLE) to STRICT workloads', () => {
    const yaml = REVIEWS + strictMesh + destinationRule('reviews', '  host: reviews\n  trafficPolicy: { tls: { mode: DISABLE } }');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'mode: DISABLE')}: DestinationRule default/reviews: spec.trafficPolicy.tls.mode: tls mode DISABLE sends plaintext, which a STRICT workload refuses: PeerAuthentication istio-system/default makes endpoint 10.0.0.1:9080 of reviews.default.svc.cluster.local STRICT, so requests to it fail [MSH0003]`,
    ]);
  });

  it('SIMPLE TLS to STRICT, per subset and per port; ISTIO_MUTUAL to a workload with mTLS off', () => {
    const yaml = REVIEWS
      + peerAuthentication('v2-strict', '  selector: { matchLabels: { version: v2 } }\n  mtls: { mode: STRICT }')
      + peerAuthentication('v1-off', '  selector: { matchLabels: { version: v1 } }\n  mtls: { mode: DISABLE }')
      + destinationRule('reviews', `  host: reviews
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
  - name: v2
    labels: { version: v2 }
    trafficPolicy:
      portLevelSettings:
      - port: { number: 9080 }
        tls: { mode: SIMPLE }`);
    expect(analyzeYaml(yaml)).toEqual([
      expect.stringMatching(/spec.subsets\[0\].trafficPolicy.tls.mode: tls mode ISTIO_MUTUAL sends Istio mTLS, which a workload with mTLS DISABLE does not accept: PeerAuthentication default\/v1-off makes endpoint 10.0.0.1:9080 .* DISABLE, so requests to it fail \[MSH0003\]$/),
      expect.stringMatching(/spec.subsets\[1\].trafficPolicy.portLevelSettings\[0\].tls.mode: tls mode SIMPLE sends TLS without the mesh client certificate, which a STRICT workload refuses: PeerAuthentication default\/v2-strict makes endpoint 10.0.0.2:9080 .* STRICT, so requests to it fail \[MSH0003\]$/),
    ]);
  });

  it('PERMISSIVE takes anything; a port-level PERMISSIVE exception is honoured; endpoints outside the mesh are not judged', () => {
    const permissive = REVIEWS + peerAuthentication('default', '  mtls: { mode: PERMISSIVE }', 'istio-system') + destinationRule('reviews', '  host: reviews\n  trafficPolicy: { tls: { mode: DISABLE } }');
    expect(analyzeYaml(permissive)).toEqual([]);
    const portException = REVIEWS + strictMesh
      + peerAuthentication('reviews', '  selector: { matchLabels: { version: v1 } }\n  portLevelMtls: { "9080": { mode: PERMISSIVE } }')
      + destinationRule('reviews', '  host: reviews\n  subsets: [{ name: v1, labels: { version: v1 }, trafficPolicy: { tls: { mode: DISABLE } } }]');
    expect(analyzeYaml(portException)).toEqual([]);
    const external = serviceEntry('api', '  hosts: [api.example.com]\n  ports: [{ number: 80, name: http }]\n  resolution: STATIC\n  endpoints: [{ address: 10.1.0.1 }]')
      + strictMesh + destinationRule('api', '  host: api.example.com\n  trafficPolicy: { tls: { mode: DISABLE } }');
    expect(analyzeYaml(external)).toEqual([]);
  });
});

describe('serviceentry.ConflictingProtocols (IST0177)', () => {
  it('two ServiceEntries giving one host and port different protocols', () => {
    const yaml = serviceEntry('a', '  hosts: [db.example.com]\n  ports: [{ number: 5432, name: tcp, protocol: TCP }]\n  resolution: DNS')
      + serviceEntry('b', '  hosts: [db.example.com]\n  ports:\n  - { number: 5432, name: http, protocol: HTTP }\n  resolution: DNS');
    const text = 'Multiple ServiceEntries (default/a, default/b) define the same host "db.example.com" and port 5432 with conflicting protocols (TCP, HTTP) [IST0177]';
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'protocol: TCP')}: ServiceEntry default/a: spec.ports[0].protocol: warning: ${text}`,
      `mesh.yaml:${lineOf(yaml, 'protocol: HTTP')}: ServiceEntry default/b: spec.ports[0].protocol: warning: ${text}`,
    ]);
  });
});
