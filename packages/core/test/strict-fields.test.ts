// Strict field validation, as `kubectl apply` has done by default since Kubernetes 1.27: an
// unknown field anywhere in any kind Meshlet reads is an error at its own line, naming the field
// most likely meant — and everything a real Istio object (or `kubectl get -o yaml`) carries is
// accepted.

import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { HANDLED_KINDS } from '../src/istio/load/load-kinds.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { nearestName } from '../src/istio/validate/validate-field-name.ts';
import { specSchema } from '../src/istio/validate/validate-object.ts';
import type { Schema } from '../src/istio/validate/validate-schema.ts';
import type { AuthorizationPolicy, IstioConfigObject } from '../src/istio/types.ts';
import { KUBE_SCHEMAS } from '../src/kube/kube-schemas.ts';
import { authorize } from '../src/security/authorization-policy.ts';

function load(yaml: string) {
  const { objects, problems } = parseConfigText(yaml, 'mesh.yaml');
  return { objects, problems, lines: problems.map(formatProblem) };
}

function lineOf(yaml: string, needle: string): number {
  return yaml.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('the nearest known field', () => {
  it.each([
    ['weigth', ['destination', 'weight', 'headers'], 'weight'],
    ['retires', ['retries', 'route', 'rewrite'], 'retries'],
    ['per_try_timeout', ['attempts', 'perTryTimeout'], 'perTryTimeout'],
    ['Hosts', ['hosts', 'http'], 'hosts'],
    ['lables', ['labels', 'name'], 'labels'],
    ['http2MaxRequest', ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection'], 'http2MaxRequests'],
  ])('%s → %s', (word, known, meant) => {
    expect(nearestName(word, known)).toBe(meant);
  });

  it('suggests nothing when nothing is close', () => {
    expect(nearestName('foo', ['hosts', 'http', 'tcp'])).toBeUndefined();
    expect(nearestName('completelyUnrelated', ['weight'])).toBeUndefined();
  });
});

describe('unknown fields are errors in every kind, at every depth', () => {
  const cases: [kind: string, yaml: string, field: string, hint: string | undefined][] = [
    ['VirtualService', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 80
    - destination: { host: reviews, subset: v2 }
      weigth: 20`, 'spec.http[0].route[1].weigth', 'weight'],
    ['DestinationRule', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: r }
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      http: { http2MaxRequest: 10 }`, 'spec.trafficPolicy.connectionPool.http.http2MaxRequest', 'http2MaxRequests'],
    ['ServiceEntry', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: s }
spec:
  hosts: [a.example.com]
  ports: [{ number: 80, name: http }]
  resolution: STATIC
  endpoints:
  - address: 10.0.0.1
    lables: { version: v1 }`, 'spec.endpoints[0].lables', 'labels'],
    ['WorkloadEntry', `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: w }
spec:
  address: 10.0.0.1
  serviceAcount: reviews`, 'spec.serviceAcount', 'serviceAccount'],
    ['PeerAuthentication', `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: p }
spec:
  mtls: { mdoe: STRICT }`, 'spec.mtls.mdoe', 'mode'],
    ['AuthorizationPolicy', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: a }
spec:
  rules:
  - from:
    - source: { principal: [cluster.local/ns/default/sa/web] }`, 'spec.rules[0].from[0].source.principal', 'principals'],
    ['HTTPRoute', `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: h }
spec:
  parentRefs: [{ kind: Service, group: "", name: svc }]
  rules:
  - backendRefs:
    - { name: svc, port: 80, wieght: 3 }`, 'spec.rules[0].backendRefs[0].wieght', 'weight'],
    ['GRPCRoute', `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: g }
spec:
  parentRefs: [{ kind: Service, group: "", name: svc }]
  rules:
  - matches:
    - method: { servce: helloworld.Greeter }
    backendRefs: [{ name: svc, port: 80 }]`, 'spec.rules[0].matches[0].method.servce', 'service'],
    ['metadata', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: r
  lables: { app: reviews }
spec: { host: reviews }`, 'metadata.lables', 'labels'],
    ['top level', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: r }
sepc: { host: reviews }`, 'sepc', 'spec'],
    ['anything far off', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: r }
spec:
  host: reviews
  colour: blue`, 'spec.colour', undefined],
  ];

  it.each(cases)('%s', (_kind, yaml, field, hint) => {
    const { objects, problems } = load(yaml);
    const key = field.split('.').at(-1)!.replace(/\[\d+\]$/, '');
    expect(objects, 'the object is rejected, not loaded without the field').toEqual([]);
    expect(problems).toContainEqual(expect.objectContaining({
      severity: 'error',
      field,
      line: lineOf(yaml, `${key}:`),
      message: hint === undefined ? `unknown field "${key}"` : `unknown field "${key}"; did you mean "${hint}"?`,
    }));
  });

  it('a List wrapper with a misspelt field', () => {
    const { problems } = load('apiVersion: v1\nkind: List\nitmes: []\n');
    expect(problems.map(formatProblem)).toEqual(['mesh.yaml:3: itmes: unknown field "itmes"; did you mean "items"?']);
  });

  // Strictness lives in the schema DSL: obj() is strict at every depth; any() and openObj() opt
  // out. Each opt-out is listed here, so a new one is a deliberate choice.
  function looseParts(root: Schema, name: string): string[] {
    const loose: string[] = [];
    const walk = (s: Schema, path: string, seen: Set<Schema>): void => {
      if (seen.has(s)) return;
      seen.add(s);
      if (s.type === 'any') loose.push(`${path} (any)`);
      else if (s.type === 'object') {
        if (s.open) loose.push(`${path} (open)`);
        for (const [k, f] of Object.entries(s.fields)) walk(f, `${path}.${k}`, seen);
      } else if (s.type === 'array') walk(s.items, `${path}[]`, seen);
      else if (s.type === 'map') walk(s.values, `${path}{}`, seen);
    };
    walk(root, name, new Set());
    return loose;
  }

  it('no Istio kind\'s schema accepts arbitrary fields anywhere', () => {
    for (const kind of Object.keys(HANDLED_KINDS) as IstioConfigObject['kind'][]) expect(looseParts(specSchema(kind), `${kind}.spec`)).toEqual([]);
  });

  it('Kubernetes objects are open only in the parts Meshlet does not read', () => {
    const loose = Object.entries(KUBE_SCHEMAS).flatMap(([kind, s]) => looseParts(s, kind));
    expect(loose).toEqual([
      'Service.spec (open)', 'Service.spec.ports[] (open)', 'Service.spec.ports[].targetPort (any)', 'Service.status (any)',
      'EndpointSlice.endpoints[] (open)', 'EndpointSlice.endpoints[].conditions (open)', 'EndpointSlice.endpoints[].targetRef (open)', 'EndpointSlice.ports[] (open)',
      'Endpoints.subsets[] (open)', 'Endpoints.subsets[].addresses[] (open)', 'Endpoints.subsets[].addresses[].targetRef (open)',
      'Endpoints.subsets[].notReadyAddresses[] (open)', 'Endpoints.subsets[].notReadyAddresses[].targetRef (open)', 'Endpoints.subsets[].ports[] (open)',
      'Pod.spec (open)', 'Pod.spec.containers[] (open)', 'Pod.spec.containers[].ports[] (open)', 'Pod.spec.initContainers[] (open)', 'Pod.spec.initContainers[].ports[] (open)', 'Pod.status (open)', 'Pod.status.podIPs[] (open)', 'Pod.status.conditions[] (open)',
      'Node.spec (any)', 'Node.status (any)',
      'Namespace.spec (any)', 'Namespace.status (any)',
    ]);
  });
});

describe('what a valid Istio document carries is accepted', () => {
  it('an object as `kubectl get -o yaml` prints it: server metadata and status', () => {
    const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"networking.istio.io/v1","kind":"VirtualService"}
  creationTimestamp: "2026-01-02T03:04:05Z"
  generation: 3
  labels: { app: reviews }
  name: reviews
  namespace: default
  resourceVersion: "123456"
  uid: 0b3f8f7e-5a1b-4c55-9a0e-2c1f2b3d4e5f
  finalizers: [example.com/keep]
  ownerReferences:
  - { apiVersion: apps/v1, kind: Deployment, name: reviews, uid: 1a2b, controller: true, blockOwnerDeletion: true }
  managedFields:
  - apiVersion: networking.istio.io/v1
    fieldsType: FieldsV1
    fieldsV1: { "f:spec": { "f:hosts": {} } }
    manager: kubectl-client-side-apply
    operation: Update
    time: "2026-01-02T03:04:05Z"
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews }
status:
  observedGeneration: 3
  conditions: [{ type: Reconciled, status: "True" }]
`;
    const { objects, problems } = load(yaml);
    expect(problems).toEqual([]);
    expect(objects).toHaveLength(1);
  });

  it('websocketUpgrade, dropped from Istio\'s API, is a warning and the object loads', () => {
    const { objects, lines } = load('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: ws }\nspec:\n  hosts: [ws]\n  http:\n  - websocketUpgrade: true\n    route:\n    - destination: { host: ws }\n');
    expect(objects).toHaveLength(1);
    expect(lines).toEqual(['mesh.yaml:7: VirtualService default/ws: spec.http[0].websocketUpgrade: warning: websocketUpgrade was removed from Istio\'s API (WebSocket upgrades are always allowed); ignored']);
  });

  it('AuthorizationPolicy source.trustDomains loads, and is enforced', () => {
    const { objects, problems } = load(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: td, namespace: default }
spec:
  targetRefs: [{ kind: Service, group: "", name: reviews }]
  rules:
  - from:
    - source: { trustDomains: [cluster.local, "*.partner.io"], notTrustDomains: [bad.partner.io] }
`);
    expect(problems).toEqual([]);
    const policies = objects.filter((o): o is AuthorizationPolicy => o.kind === 'AuthorizationPolicy');
    const allowed = (peerIdentity: string): boolean => authorize(policies, { peerIdentity, sourceIp: '10.0.0.1', method: 'GET', path: '/', host: 'reviews', port: 9080, headers: {} }).allowed;
    expect(allowed('spiffe://cluster.local/ns/default/sa/web')).toBe(true);
    expect(allowed('spiffe://a.partner.io/ns/default/sa/web')).toBe(true);
    expect(allowed('spiffe://bad.partner.io/ns/default/sa/web')).toBe(false);
    expect(allowed('spiffe://other.domain/ns/default/sa/web')).toBe(false);
  });
});
