// Kubernetes objects through the same loader as Istio's CRDs: what `kubectl get -o yaml` prints
// is read (single objects and Lists, every field kubectl adds left alone), what a cluster would
// refuse is an error at file:line, and workload controllers are noted once per kind.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { loadConfigFiles } from '../src/istio/load/load-files.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import type { KubeEndpointSlice, KubePod } from '../src/kube/kube-types.ts';

const POD = `apiVersion: v1
kind: Pod
metadata:
  annotations:
    sidecar.istio.io/status: '{"initContainers":["istio-init"],"containers":["istio-proxy"]}'
  creationTimestamp: "2026-03-02T09:14:09Z"
  generateName: reviews-v1-6d4f8c9b7d-
  labels: { app: reviews, version: v1, pod-template-hash: 6d4f8c9b7d, security.istio.io/tlsMode: istio }
  managedFields:
  - apiVersion: v1
    fieldsType: FieldsV1
    fieldsV1: { "f:metadata": { "f:labels": { ".": {} } } }
    manager: kubelet
    operation: Update
    time: "2026-03-02T09:14:09Z"
  name: reviews-v1-6d4f8c9b7d-q8w2e
  namespace: default
  ownerReferences:
  - { apiVersion: apps/v1, blockOwnerDeletion: true, controller: true, kind: ReplicaSet, name: reviews-v1-6d4f8c9b7d, uid: 1b2c }
  resourceVersion: "2002"
  uid: 9f8e
spec:
  containers:
  - image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.3
    name: reviews
    ports: [{ containerPort: 9080, protocol: TCP }]
    resources: {}
    volumeMounts: [{ mountPath: /var/run/secrets/kubernetes.io/serviceaccount, name: kube-api-access, readOnly: true }]
  dnsPolicy: ClusterFirst
  nodeName: node-a
  serviceAccount: bookinfo-reviews
  serviceAccountName: bookinfo-reviews
  tolerations: [{ effect: NoExecute, key: node.kubernetes.io/not-ready, operator: Exists, tolerationSeconds: 300 }]
status:
  conditions:
  - { lastProbeTime: null, lastTransitionTime: "2026-03-02T09:14:09Z", status: "True", type: Ready }
  containerStatuses: [{ name: reviews, ready: true, restartCount: 0, state: { running: { startedAt: "2026-03-02T09:14:09Z" } } }]
  hostIP: 172.18.0.2
  phase: Running
  podIP: 10.244.0.13
  podIPs: [{ ip: 10.244.0.13 }]
  qosClass: BestEffort
`;

const SLICE = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  generateName: reviews-
  labels: { kubernetes.io/service-name: reviews, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io }
  name: reviews-w4cxn
  namespace: default
  ownerReferences: [{ apiVersion: v1, kind: Service, name: reviews, uid: 77aa, controller: true }]
addressType: IPv4
endpoints:
- addresses: [10.244.0.13]
  conditions: { ready: true, serving: true, terminating: false }
  nodeName: node-a
  targetRef: { kind: Pod, name: reviews-v1-6d4f8c9b7d-q8w2e, namespace: default, uid: 9f8e }
  zone: us-east-1a
  hints: { forZones: [{ name: us-east-1a }] }
ports: [{ name: http, port: 9080, protocol: TCP }]
`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const problemsOf = (text: string, file = 'k.yaml') => parseConfigText(text, file).problems.map(formatProblem);

describe('Kubernetes objects in a config folder', () => {
  it("reads kubectl's output whole: managedFields, status and every field Meshlet ignores pass untouched", () => {
    const { objects, problems } = parseConfigText(`apiVersion: v1\nkind: List\nmetadata: { resourceVersion: "" }\nitems:\n${[POD, SLICE].map((d) => `- ${d.replaceAll('\n', '\n  ').trimEnd()}`).join('\n')}\n`, 'k.yaml');
    expect(problems.map(formatProblem)).toEqual([]);
    const pod = objects[0] as KubePod;
    expect(pod.kind).toBe('Pod');
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: 'reviews-v1-6d4f8c9b7d', controller: true });
    expect(pod.metadata.generateName).toBe('reviews-v1-6d4f8c9b7d-');
    expect(pod.spec.serviceAccountName).toBe('bookinfo-reviews');
    expect(pod.status?.podIP).toBe('10.244.0.13');
    // Fields Meshlet does not read are kept as the API server stored them.
    expect((pod.spec as Record<string, unknown>)['tolerations']).toHaveLength(1);
    const slice = objects[1] as KubeEndpointSlice;
    expect(slice.endpoints?.[0]).toMatchObject({ addresses: ['10.244.0.13'], zone: 'us-east-1a', targetRef: { kind: 'Pod' } });
    expect(slice.source.line).toBeGreaterThan(pod.source.line);
  });

  it('names what a cluster would refuse at file:line, and drops only that object', () => {
    const text = `apiVersion: v1
kind: Service
metadata: { name: reviews }
spec:
  ports:
  - { name: http, port: 9080, targetPort: Web_Port }
  - { port: 9443 }
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: { name: old }
addressType: IPv4
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: bad, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
endpoints:
- addresses: [fd00::1]
ports: [{ name: http, port: 70000 }]
---
apiVersion: v1
kind: Pod
metadata: { name: p }
spec: { containers: [{ name: c, ports: [{ containerPort: "9080" }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: ext }
spec: { type: ExternalName }
---
apiVersion: v1
kind: Service
metadata: { name: ok }
spec: { ports: [{ port: 80 }] }
`;
    const { objects, problems } = parseConfigText(text, 'bad.yaml');
    expect(problems.map(formatProblem)).toEqual([
      'bad.yaml:6: Service default/reviews: spec.ports[0].targetPort: targetPort "Web_Port" is not a port name: at most 15 lowercase letters, digits and \'-\', with at least one letter and no \'--\'',
      'bad.yaml:7: Service default/reviews: spec.ports[1].name: a port name is required when a Service has more than one port',
      'bad.yaml:9: EndpointSlice default/old: apiVersion: apiVersion discovery.k8s.io/v1beta1 is not served for EndpointSlice; use discovery.k8s.io/v1',
      'bad.yaml:20: EndpointSlice default/bad: ports[0].port: 70000 is out of range (0..65535)',
      'bad.yaml:19: EndpointSlice default/bad: endpoints[0].addresses[0]: "fd00::1" is not an IPv4 address',
      'bad.yaml:25: Pod default/p: spec.containers[0].ports[0].containerPort: expected an integer, got string "9080"',
      'bad.yaml:30: Service default/ext: spec.externalName: externalName is required for a Service of type ExternalName',
    ]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Service/ok']);
  });

  it('reads Nodes and Namespaces as cluster-scoped, and warns about a slice that belongs to no Service', () => {
    const { objects, problems } = parseConfigText(`apiVersion: v1
kind: Node
metadata: { name: node-a, namespace: default, labels: { topology.kubernetes.io/zone: us-east-1a } }
spec: { podCIDR: 10.244.0.0/24 }
status: { nodeInfo: { kubeletVersion: v1.34.0 } }
---
apiVersion: v1
kind: Namespace
metadata: { name: prod, labels: { topology.istio.io/network: net-1 } }
spec: { finalizers: [kubernetes] }
status: { phase: Active }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: orphan }
addressType: IPv4
`, 'c.yaml');
    expect(objects.map((o) => `${o.kind} ${JSON.stringify(o.metadata.namespace)}/${o.metadata.name}`)).toEqual(['Node ""/node-a', 'Namespace ""/prod', 'EndpointSlice "default"/orphan']);
    expect(problems.map(formatProblem)).toEqual(['c.yaml:15: EndpointSlice default/orphan: metadata.labels: warning: no kubernetes.io/service-name label: this EndpointSlice belongs to no Service and is ignored']);
  });

  it('says once per kind, across files, that a Deployment is not an endpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshlet-kube-load-'));
    dirs.push(dir);
    const deployment = (name: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: ${name}, namespace: default }\nspec: { replicas: 1 }\n`;
    writeFileSync(join(dir, 'a.yaml'), `${deployment('a1')}---\n${deployment('a2')}---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: db }\n`);
    writeFileSync(join(dir, 'b.yaml'), `${deployment('b1')}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: { name: bookinfo-reviews }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\n`);
    const { problems } = await loadConfigFiles([dir]);
    expect(problems.map(formatProblem)).toEqual([
      `${join(dir, 'b.yaml')}:10: ConfigMap default/cfg: warning: kind ConfigMap (v1) is not handled by Meshlet; skipped`,
      `${join(dir, 'a.yaml')}:1: warning: kind Deployment (apps/v1): a Deployment is not an endpoint — Meshlet, like istiod, takes a Service's endpoints from its EndpointSlices (or Endpoints) and the Pods they name; skipped 3 Deployments (default/a1, default/a2, default/b1)`,
      `${join(dir, 'a.yaml')}:11: warning: kind StatefulSet (apps/v1): a StatefulSet is not an endpoint — Meshlet, like istiod, takes a Service's endpoints from its EndpointSlices (or Endpoints) and the Pods they name; skipped 1 StatefulSet (default/db)`,
      `${join(dir, 'b.yaml')}:6: warning: kind ServiceAccount (v1): not needed — a pod's identity (spiffe://<trust domain>/ns/<ns>/sa/<sa>) comes from its own spec.serviceAccountName; skipped 1 ServiceAccount (default/bookinfo-reviews)`,
    ]);
  });

  it('refuses unknown top-level fields, as for Istio kinds (kubectl\'s strict field validation)', () => {
    expect(problemsOf('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: {}\nextra: 1\n')).toEqual(['k.yaml:5: Pod default/p: extra: unknown field "extra"']);
  });

  it('in the open parts of a Kubernetes object, a misspelling of a field Meshlet reads is an error; other fields pass', () => {
    const service = 'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  selectr: { app: web }\n  sessionAffinity: None\n  ports: [{ port: 80 }]\n';
    expect(problemsOf(service)).toEqual(['k.yaml:5: Service default/web: spec.selectr: unknown field "selectr"; did you mean "selector"?']);
    expect(problemsOf(service.replace('selectr', 'selector'))).toEqual([]);
  });
});
