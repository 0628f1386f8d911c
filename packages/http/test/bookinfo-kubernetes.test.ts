// Istio's bookinfo, as a cluster holds it, routed in the embedded mode: the folder
// tests/fixtures/bookinfo has the Services, ServiceAccounts, Deployments, Pods, EndpointSlices,
// Nodes and Namespace `kubectl get -o yaml` prints, plus bookinfo's destination-rule-all and
// the jason route. Every pod is a real server on its own loopback address (127.0.0.x, port 9080
// as in the EndpointSlices) with a workload certificate for its service account, refusing
// anything but Istio mTLS. The client is productpage: MeshAgent with productpage's identity.
// Should another run on this machine hold those addresses, the pods move to a free 127.a.b.0/24
// block (a copy of the fixture with its addresses rewritten), so parallel runs never collide.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { MeshAgent, createMeshServer, peerIdentity, type MeshServer } from '@meshlet/http';
import { loadConfigFiles } from '../../core/src/istio/load/load-files.ts';
import type { KubePod } from '../../core/src/kube/kube-types.ts';
import { createPki, id, serverConfig, type Pki } from './helpers/mtls.ts';

const FIXTURES = join(import.meta.dirname, '../../../tests/fixtures');
const BOOKINFO = join(FIXTURES, 'bookinfo');
const NETWORKING = join(BOOKINFO, 'networking');
const PRODUCTPAGE = id('bookinfo-productpage');

interface Reply { pod: string; version: string; peer: string | undefined }

let pki: Pki;
let pods: KubePod[];
/** The cluster dump in use: the fixture's, or a copy on another address block. */
let platform = join(BOOKINFO, 'platform');
let relocated: string | undefined;
const serverMeshes: Mesh[] = [];
let servers: MeshServer[] = [];
let warnings: string[];
let jason: { mesh: Mesh; agent: MeshAgent };
let split: { mesh: Mesh; agent: MeshAgent };

async function client(config: string | string[], certs: string | undefined, log?: string[]): Promise<{ mesh: Mesh; agent: MeshAgent }> {
  const logger = log ? { ...silentLogger, warn: (o: unknown) => log.push(String(o)), error: (o: unknown) => log.push(`ERROR ${String(o)}`) } : silentLogger;
  const mesh = await createMesh({ config, watch: false, namespace: 'default', logger, ...(certs !== undefined && { certs }) });
  return { mesh, agent: new MeshAgent({ mesh }) };
}

async function get(c: { agent: MeshAgent }, url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(url, { dispatcher: c.agent, headers });
  const text = await res.body.text();
  expect(res.statusCode, text).toBe(200);
  return JSON.parse(text) as Reply;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** A copy of the fixture's cluster dump with every 127.0.0.x address moved to `prefix`x. */
function relocate(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bookinfo-'));
  for (const f of readdirSync(join(BOOKINFO, 'platform'))) {
    writeFileSync(join(dir, f), readFileSync(join(BOOKINFO, 'platform', f), 'utf8').replaceAll('127.0.0.', prefix));
  }
  return dir;
}

async function startPods(meshBySa: Map<string, Mesh>): Promise<void> {
  // The pods as the dump declares them: one server each, on the pod's IP and the slice's port.
  pods = (await loadConfigFiles([join(platform, 'pods.yaml')])).objects as KubePod[];
  expect(pods.length).toBe(8);
  for (const pod of pods) {
    const sa = pod.spec.serviceAccountName as string;
    let mesh = meshBySa.get(sa);
    if (!mesh) {
      pki.issue(sa, sa);
      const dir = serverConfig(join(pki.root, `srv-${sa}`), [`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }`]);
      mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, certs: pki.dir(sa) });
      meshBySa.set(sa, mesh);
      serverMeshes.push(mesh);
    }
    const reply = (peer: string | undefined): string => JSON.stringify({ pod: pod.metadata.name, version: pod.metadata.labels?.['version'], peer });
    const server = createMeshServer({ mesh }, (req, res) => res.end(reply(peerIdentity(req))));
    servers.push(server);
    await server.listen(9080, pod.status?.podIP);
  }
}

beforeAll(async () => {
  pki = createPki();
  const meshBySa = new Map<string, Mesh>();
  for (let attempt = 1; ; attempt++) {
    try {
      await startPods(meshBySa);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 5) throw err;
      for (const s of servers) await s.close();
      servers = [];
      if (relocated) rmSync(relocated, { recursive: true, force: true });
      relocated = relocate(`127.${2 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}.`);
      platform = relocated;
    }
  }
  pki.issue('bookinfo-productpage-client', 'bookinfo-productpage');
  warnings = [];
  jason = await client([platform, NETWORKING], pki.dir('bookinfo-productpage-client'), warnings);
  split = await client([platform, join(NETWORKING, 'destination-rule-all.yaml'), join(FIXTURES, 'bookinfo-reviews-50-v3')], pki.dir('bookinfo-productpage-client'));
});

afterAll(async () => {
  for (const c of [jason, split]) {
    await c?.agent.close();
    await c?.mesh.close();
  }
  for (const s of servers) await s.close();
  for (const m of serverMeshes) await m.close();
  pki?.cleanup();
  if (relocated) rmSync(relocated, { recursive: true, force: true });
});

const podOf = (suffix: string): string => pods.find((p) => p.metadata.name.endsWith(suffix))?.metadata.name as string;

describe('bookinfo from a cluster dump, in the embedded mode', () => {
  it('loads with one note per skipped kind and the subsets no pod carries, nothing else', () => {
    // The only errors: istioctl analyze's IST0173 for the subsets no pod carries (as below).
    expect(warnings.filter((w) => w.startsWith('ERROR') && !w.endsWith('[IST0173]'))).toEqual([]);
    expect(warnings.filter((w) => w.includes('kind Deployment (apps/v1)'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('kind ServiceAccount (v1)'))).toHaveLength(1);
    expect(warnings.find((w) => w.includes('kind Deployment'))).toMatch(/a Deployment is not an endpoint .* skipped 6 Deployments/);
    const rest = warnings.filter((w) => !w.includes('kind Deployment') && !w.includes('kind ServiceAccount'));
    expect(rest.map((w) => /The Subset (\S+) defined in the DestinationRule does not select any endpoint of (\w+)/.exec(w)?.slice(1).join(' ')).sort()).toEqual(['v2 details', 'v2 ratings', 'v2-mysql ratings', 'v2-mysql-vm ratings']);
  });

  it('routes jason to reviews v2 and everyone else to v3, by the pods\' version labels', async () => {
    const forJason = await Promise.all(Array.from({ length: 40 }, () => get(jason, 'http://reviews:9080/reviews/0', { 'end-user': 'jason' })));
    expect(countBy(forJason, (r) => r.pod)).toEqual({ [podOf('z5r7y')]: 40 });
    const others = await Promise.all(Array.from({ length: 40 }, (_, i) => get(jason, 'http://reviews:9080/reviews/0', i % 2 ? { 'end-user': 'kim' } : {})));
    // v3 has a second pod that is not ready yet: it is in EDS as UNHEALTHY and never picked.
    expect(countBy(others, (r) => r.pod)).toEqual({ [podOf('h3j9k')]: 40 });
  });

  it('splits reviews 50/50 between v1 and v3, never to a not-ready or terminating pod', async () => {
    const n = 1000;
    const replies: Reply[] = [];
    for (let i = 0; i < n; i += 50) replies.push(...(await Promise.all(Array.from({ length: 50 }, () => get(split, 'http://reviews:9080/')))));
    const byPod = countBy(replies, (r) => r.pod);
    expect(Object.keys(byPod).sort()).toEqual([podOf('h3j9k'), podOf('q8w2e')].sort());
    // Binomial(1000, 0.5): sd 15.8, so ±120 is over 7 sd.
    expect(Math.abs((byPod[podOf('q8w2e')] ?? 0) - n / 2)).toBeLessThanOrEqual(120);
  });

  it('answers to the names Kubernetes DNS gives a Service and to its cluster IP', async () => {
    for (const host of ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local', '10.96.10.13']) {
      expect((await get(jason, `http://${host}:9080/`, { 'end-user': 'jason' })).pod, host).toBe(podOf('z5r7y'));
    }
    expect((await get(jason, 'http://10.96.10.12:9080/ratings/0')).pod).toBe(podOf('m2n4t'));
    expect((await get(jason, 'http://details:9080/details/0')).pod).toBe(podOf('x7kqp'));
    expect((await get(jason, 'http://10.96.10.16:9080/productpage')).pod).toBe(podOf('c4v6b'));
  });

  it('speaks Istio mTLS to pods marked tlsMode istio, as productpage\'s identity', async () => {
    const replies = await Promise.all(['details', 'ratings', 'reviews', 'productpage'].map((s) => get(jason, `http://${s}:9080/`)));
    expect(replies.map((r) => r.peer)).toEqual([PRODUCTPAGE, PRODUCTPAGE, PRODUCTPAGE, PRODUCTPAGE]);
    // A client without a workload certificate is outside the mesh: plaintext, which the STRICT pods refuse.
    const outside = await client([platform, NETWORKING], undefined);
    try {
      await expect(request('http://details:9080/', { dispatcher: outside.agent })).rejects.toThrow();
    } finally {
      await outside.agent.close();
      await outside.mesh.close();
    }
  });

  it('checks each pod against the identity of its service account', async () => {
    // A pod that claims service account bookinfo-details on the address where ratings' server
    // (certificate for bookinfo-ratings) answers: the identity check refuses it.
    const dir = mkdtempSync(join(tmpdir(), 'meshlet-impostor-'));
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'impostor.yaml'), `apiVersion: v1
kind: Service
metadata: { name: impostor, namespace: default }
spec: { clusterIP: 10.96.10.99, ports: [{ name: http, port: 9080 }], selector: { app: impostor } }
---
apiVersion: v1
kind: Pod
metadata: { name: impostor-0, namespace: default, labels: { app: impostor, security.istio.io/tlsMode: istio } }
spec: { serviceAccountName: bookinfo-details, containers: [{ name: app, ports: [{ containerPort: 9080 }] }] }
status: { phase: Running, podIP: ${pods.find((p) => p.metadata.name.endsWith('m2n4t'))?.status?.podIP}, conditions: [{ type: Ready, status: "True" }] }
`);
      const c = await client(dir, pki.dir('bookinfo-productpage-client'));
      try {
        await expect(request('http://impostor:9080/', { dispatcher: c.agent })).rejects.toThrow(/sa\/bookinfo-details[\s\S]*sa\/bookinfo-ratings|sa\/bookinfo-ratings[\s\S]*sa\/bookinfo-details/);
      } finally {
        await c.agent.close();
        await c.mesh.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
