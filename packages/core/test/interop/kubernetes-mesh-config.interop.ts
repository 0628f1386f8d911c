// Kubernetes-native mode, MeshConfig and Sidecar, against a real kube-apiserver with Istio's
// CRDs: the istio ConfigMap in istio-system is the MeshConfig (edits follow, as istiod's
// mesh watcher), a Sidecar read from the API scopes the client, and a service account the
// example RBAC does not grant the ConfigMap starts on istiod's defaults with one warning.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, OutboundBlockedError, type Logger, type Mesh } from '../../src/index.ts';
import { MeshAgent } from '../../../http/src/index.ts';
import { startBackend, waitFor, type Backend } from '../xds-helpers.ts';
import { HAS_GO } from './go-build.ts';
import { KubeCluster, type KubeResource } from './kube-cluster.ts';
import { namespace, serviceEntry, type ApiObject } from './kube-objects.ts';

function recordingLogger(): Logger & { lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = [];
  const add = (level: string) => (obj: object | string, msg?: string) => {
    lines.push({ level, text: typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}` });
  };
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

const istioConfigMap = (mesh: string): ApiObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh } });

const sidecar = (ns: string): ApiObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Sidecar',
  metadata: { name: 'default', namespace: ns },
  spec: { egress: [{ hosts: ['./*'] }] },
});

async function outcome(agent: MeshAgent, origin: string): Promise<string | Error> {
  return agent.request({ origin, path: '/', method: 'GET' }).then(
    async (r) => r.body.text(),
    (e: unknown) => e as Error,
  );
}

describe.skipIf(!HAS_GO)('Kubernetes-native mode: MeshConfig from the istio ConfigMap, Sidecar from the API (needs Go)', () => {
  let cluster: KubeCluster;
  let reviews: Backend, ratings: Backend;
  const meshes: Mesh[] = [];

  beforeAll(async () => {
    cluster = await KubeCluster.start();
    [reviews, ratings] = await Promise.all([startBackend('reviews'), startBackend('ratings')]);
    for (const ns of ['istio-system', 'scoped', 'other']) await cluster.apply(namespace(ns));
    await cluster.apply(serviceEntry('scoped', 'reviews', 9080, 'HTTP', { v1: reviews.port }));
    await cluster.apply(serviceEntry('other', 'ratings', 9080, 'HTTP', { v1: ratings.port }));
    await cluster.apply(istioConfigMap('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\ntrustDomain: example.org\n'));
    await cluster.apply(sidecar('scoped'));
  });
  afterAll(async () => {
    for (const m of meshes) await m.close();
    await Promise.all([reviews?.close(), ratings?.close()]);
    await cluster?.stop();
  });

  it('the ConfigMap\'s MeshConfig and the namespace\'s Sidecar apply, and a ConfigMap edit follows', async () => {
    const logger = recordingLogger();
    const mesh = await createMesh({ kubernetes: { kubeconfig: cluster.writeKubeconfig('admin'), namespaces: ['scoped', 'other'] }, namespace: 'scoped', logger, telemetry: false });
    meshes.push(mesh);
    expect(mesh.meshConfig).toMatchObject({ outboundTrafficPolicy: 'REGISTRY_ONLY', trustDomain: 'example.org' });
    expect(mesh.meshConfig.origin).toMatch(/^ConfigMap istio-system\/istio \(resourceVersion \d+\)$/);
    expect(mesh.configDump().sidecarScope).toMatchObject({ sidecar: 'scoped/default', outOfScope: { 'ratings.other.svc.cluster.local': 'other' } });

    const agent = new MeshAgent({ mesh });
    try {
      expect(await outcome(agent, 'http://reviews:9080')).toBe('reviews');
      const hidden = await outcome(agent, 'http://ratings.other.svc.cluster.local:9080');
      expect(hidden).toBeInstanceOf(OutboundBlockedError);
      expect((hidden as Error).message).toContain('Sidecar scoped/default does not import it');
      const unknown = await outcome(agent, 'http://unknown.example.com');
      expect(unknown).toBeInstanceOf(OutboundBlockedError);
      expect((unknown as Error).message).toContain('ConfigMap istio-system/istio');

      // The ConfigMap edited through the API: ALLOW_ANY from the next compile on.
      await cluster.apply(istioConfigMap('outboundTrafficPolicy:\n  mode: ALLOW_ANY\n'));
      await waitFor(() => mesh.meshConfig.outboundTrafficPolicy === 'ALLOW_ANY', 5000, 'the edited ConfigMap');
      expect(mesh.meshConfig.trustDomain).toBe('cluster.local');
      // Out of scope, the ratings host is now outside the mesh: passed through as it is.
      expect(await outcome(agent, `http://127.0.0.1:${ratings.port}`)).toBe('ratings');
      expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await agent.close();
      await cluster.apply(istioConfigMap('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\ntrustDomain: example.org\n'));
    }
  });

  it('createMesh({ meshConfig }) is in force over the ConfigMap', async () => {
    const mesh = await createMesh({
      kubernetes: { kubeconfig: cluster.writeKubeconfig('admin'), namespaces: ['scoped'] },
      namespace: 'scoped',
      meshConfig: { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } },
      logger: recordingLogger(),
      telemetry: false,
    });
    meshes.push(mesh);
    expect(mesh.meshConfig).toMatchObject({ outboundTrafficPolicy: 'ALLOW_ANY', origin: 'createMesh({ meshConfig })' });
  });

  it('a service account without the ConfigMap grant starts on the defaults, warning once', async () => {
    const text = readFileSync(fileURLToPath(new URL('../../../../examples/kubernetes/native-rbac-namespaced.yaml', import.meta.url)), 'utf8');
    const objects = parseAllDocuments(text).map((d) => d.toJS() as KubeResource).filter(Boolean);
    await cluster.apply(namespace('bookinfo'));
    // Everything but the Role on the istio ConfigMap and its binding.
    for (const o of objects) if (!o.metadata.name.startsWith('meshlet-mesh-config-reader')) await cluster.apply(o);
    const token = await cluster.serviceAccountToken('bookinfo', 'reviews');
    const logger = recordingLogger();
    const mesh = await createMesh({ kubernetes: { kubeconfig: cluster.writeKubeconfig({ token }), namespaces: ['bookinfo'], initialSyncTimeoutMs: 20_000 }, namespace: 'bookinfo', logger, telemetry: false });
    meshes.push(mesh);
    expect(mesh.meshConfig).toMatchObject({ outboundTrafficPolicy: 'ALLOW_ANY', origin: 'defaults' });
    const warnings = logger.lines.filter((l) => l.text.includes('configmaps istio in namespace istio-system'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.text).toContain('forbidden');
    expect(warnings[0]!.text).toContain('meshConfigMap: false');
  });
});
