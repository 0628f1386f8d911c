// Pods on loopback for the istiod interop tests: a real HTTP(S) server per pod on its own
// 127.0.0.x address, and the Pod and EndpointSlice objects `kubectl get -o yaml` would print for
// it, so istiod's Kubernetes registry (through the harness's fake client) and Meshlet's embedded
// one see the same endpoints. Ports are picked free at start, so runs never collide.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';

export interface PodSpec {
  /** Pod name, e.g. 'ratings-v1-0'. */
  name: string;
  /** The Service the pod backs (its EndpointSlice's service-name label). */
  service: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** Last octet of 127.0.0.x. */
  ip: number;
  /** How the server answers: status, and a delay before answering. */
  status?: number;
  delayMs?: number;
  /** Serve HTTPS with this certificate (SIMPLE TLS origination). */
  tls?: { certPem: string; keyPem: string };
}

export interface LoopbackPod extends PodSpec {
  address: string;
  port: number;
  hits: number;
  /** What each request arrived over: plaintext, or TLS with the SNI it asked for. */
  seen: { tls: boolean; servername: string | undefined }[];
  close(): Promise<void>;
}

export async function startPod(spec: PodSpec): Promise<LoopbackPod> {
  const address = `127.0.0.${spec.ip}`;
  const pod: LoopbackPod = { ...spec, address, port: 0, hits: 0, seen: [], close: async () => {} };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    pod.hits++;
    const socket = req.socket as TLSSocket;
    pod.seen.push({ tls: socket.encrypted === true, servername: socket.encrypted ? (socket as unknown as { servername?: string }).servername : undefined });
    const answer = () => {
      res.statusCode = spec.status ?? 200;
      res.setHeader('x-pod', spec.name);
      res.end(spec.name);
    };
    if (spec.delayMs) setTimeout(answer, spec.delayMs);
    else answer();
  };
  const server = spec.tls ? createHttpsServer({ cert: spec.tls.certPem, key: spec.tls.keyPem }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  pod.port = (server.address() as AddressInfo).port;
  pod.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return pod;
}

/** The Pod and its own EndpointSlice (one per pod, since each pod listens on its own port). */
export function podObjects(pod: LoopbackPod, namespace = 'default'): string {
  const labels = { ...pod.labels, 'security.istio.io/tlsMode': 'istio' };
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${pod.name}
  namespace: ${namespace}
  labels: ${JSON.stringify(labels)}
spec:
  serviceAccountName: ${pod.serviceAccount}
  nodeName: node-1
  containers: [{ name: ${pod.service}, image: meshlet-test, ports: [{ containerPort: ${pod.port}, name: http }] }]
status:
  phase: Running
  podIP: ${pod.address}
  podIPs: [{ ip: ${pod.address} }]
  conditions: [{ type: Ready, status: "True" }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${pod.name}
  namespace: ${namespace}
  labels: { kubernetes.io/service-name: ${pod.service}, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io }
addressType: IPv4
ports: [{ name: http, port: ${pod.port}, protocol: TCP }]
endpoints:
  - addresses: [${pod.address}]
    conditions: { ready: true, serving: true, terminating: false }
    nodeName: node-1
    targetRef: { kind: Pod, name: ${pod.name}, namespace: ${namespace} }
`;
}
