// Kubernetes Services, Pods and EndpointSlices watched live from a real kube-apiserver, with
// real traffic: the pods are HTTP servers on their own addresses in a network namespace this
// test creates (EndpointSlices refuse loopback addresses), written to the API as a kubelet and
// the EndpointSlice controller would (pod status, slices). A pod that turns not ready leaves the
// balancer, a new pod joins, a relabelled pod changes subset.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { waitFor } from '../xds-helpers.ts';
import { HAS_GO } from './go-build.ts';
import { KubeCluster, type KubeResource } from './kube-cluster.ts';
import { namespace, routeTo } from './kube-objects.ts';
import { CAN_NETNS, PodNetwork } from './pod-network.ts';

const NS = 'pods';
const HOST = `reviews.${NS}.svc.cluster.local`;

interface Pod {
  name: string;
  ip: string;
  version: string;
  ready: boolean;
}

function podObject(p: Pod): KubeResource {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: p.name, namespace: NS, labels: { app: 'reviews', version: p.version } },
    spec: { serviceAccountName: 'reviews', containers: [{ name: 'reviews', image: 'registry.example.com/reviews:1', ports: [{ name: 'http', containerPort: 9080 }] }] },
  } as KubeResource;
}

/** What the kubelet reports for a running pod. */
function podStatus(p: Pod): KubeResource {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: p.name, namespace: NS },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }], conditions: [{ type: 'Ready', status: p.ready ? 'True' : 'False' }] },
  } as KubeResource;
}

/** What the EndpointSlice controller writes for the Service's pods. */
function slice(pods: Pod[]): KubeResource {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'reviews-x7k2p', namespace: NS, labels: { 'kubernetes.io/service-name': 'reviews' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
    endpoints: pods.map((p) => ({ addresses: [p.ip], conditions: { ready: p.ready, serving: p.ready, terminating: false }, targetRef: { kind: 'Pod', name: p.name, namespace: NS } })),
  };
}

describe.skipIf(!HAS_GO || !CAN_NETNS)('Kubernetes endpoints watched live, with real traffic to pods in a network namespace (needs Go, root and ip)', () => {
  let cluster: KubeCluster;
  let net: PodNetwork;
  let mesh: Mesh;
  let agent: MeshAgent;
  const pods: Pod[] = [];

  async function writePod(p: Pod): Promise<void> {
    await cluster.apply(podObject(p));
    await cluster.apply(podStatus(p), { subresource: 'status' });
  }

  /** The addresses `n` requests reached (round robin, so every endpoint in force is reached). */
  async function reached(n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const res = await request(`http://reviews.${NS}:9080/`, { dispatcher: agent });
      seen.add(await res.body.text());
    }
    return seen;
  }

  const endpointsInForce = (): string[] =>
    (mesh.explain({ url: `http://${HOST}:9080/` }).clusters[0]?.endpoints ?? []).filter((e) => e.healthy).map((e) => e.address.split(':')[0]!).sort();

  beforeAll(async () => {
    net = PodNetwork.create(9080);
    cluster = await KubeCluster.start();
    await cluster.apply(namespace(NS));
    await cluster.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: NS }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 'http' }] } });
    await cluster.apply({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: NS }, spec: { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } });
    for (const name of ['reviews-v1-a', 'reviews-v1-b']) {
      const p: Pod = { name, ip: await net.addPod(), version: 'v1', ready: true };
      pods.push(p);
      await writePod(p);
    }
    await cluster.apply(slice(pods));
    mesh = await createMesh({ kubernetes: { kubeconfig: cluster.writeKubeconfig('admin'), namespaces: [NS] }, namespace: NS, logger: silentLogger, telemetry: false });
    agent = new MeshAgent({ mesh });
  });
  afterAll(async () => {
    await agent?.close();
    await mesh?.close();
    await cluster?.stop();
    await net?.close();
  });

  it("routes a Service's traffic to its ready pods, from the EndpointSlice", async () => {
    expect(endpointsInForce()).toEqual(pods.map((p) => p.ip).sort());
    expect([...(await reached(10))].sort()).toEqual(pods.map((p) => p.ip).sort());
  });

  it('takes a pod that turns not ready out of the balancer, and puts it back when ready', async () => {
    const [a, b] = pods as [Pod, Pod];
    b.ready = false;
    await cluster.apply(podStatus(b), { subresource: 'status' });
    await cluster.apply(slice(pods));
    await waitFor(() => endpointsInForce().join() === a.ip, 5000, 'the not-ready pod to leave');
    expect([...(await reached(10))]).toEqual([a.ip]);

    b.ready = true;
    await cluster.apply(podStatus(b), { subresource: 'status' });
    await cluster.apply(slice(pods));
    await waitFor(() => endpointsInForce().length === 2, 5000, 'the pod to come back');
    expect((await reached(10)).size).toBe(2);
  });

  it('sends traffic to a new pod once its endpoint is written', async () => {
    const c: Pod = { name: 'reviews-v1-c', ip: await net.addPod(), version: 'v1', ready: true };
    pods.push(c);
    await writePod(c);
    await cluster.apply(slice(pods));
    await waitFor(() => endpointsInForce().includes(c.ip), 5000, 'the new pod to join');
    expect([...(await reached(12))].sort()).toEqual(pods.map((p) => p.ip).sort());
  });

  it("follows a pod's labels into DestinationRule subsets", async () => {
    await cluster.apply(routeTo(NS, 'reviews', 'v2'));
    // No pod is v2 yet: the subset has no endpoints.
    await waitFor(() => mesh.explain({ url: `http://${HOST}:9080/` }).clusters[0]?.name === `outbound|9080|v2|${HOST}`, 5000, 'the route to v2');
    const c = pods[2]!;
    c.version = 'v2';
    await cluster.apply(podObject(c));
    await waitFor(() => endpointsInForce().join() === c.ip, 5000, 'the relabelled pod in subset v2');
    expect([...(await reached(6))]).toEqual([c.ip]);
  });
});
