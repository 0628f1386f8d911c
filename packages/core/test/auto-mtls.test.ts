// Auto-mTLS, Istio's default: a mesh service without DestinationRule TLS settings gets mTLS to
// endpoints marked tlsMode "istio" (labelled so, or with a service account) and plaintext to
// the rest — as the sidecar generator writes it (transport socket matches on the cluster, the
// `envoy.transport_socket_match` metadata on endpoints), unless PeerAuthentication disables mTLS
// or the service is MESH_EXTERNAL. endpointTransport() then picks per endpoint; a process without a
// workload certificate talks plaintext, as a client outside the mesh would.

import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, endpointTransport, issueDevCertificates, silentLogger, type Mesh } from '../src/index.ts';
import { tempDir } from './temp-dir.ts';

const FQDN = 'reviews.default.svc.cluster.local';
const CLUSTER = `outbound|9080||${FQDN}`;

function config(extra = '', location = 'MESH_INTERNAL'): string {
  const dir = tempDir('automtls');
  writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${FQDN}]
  location: ${location}
  resolution: STATIC
  ports: [{ number: 9080, name: http }]
  endpoints:
  - { address: 10.0.0.1, serviceAccount: reviews }
  - { address: 10.0.0.2, labels: { security.istio.io/tlsMode: istio, app: legacy } }
  - { address: 10.0.0.3 }
${extra}`);
  return dir;
}

async function withMesh<T>(dir: string, certs: string | undefined, fn: (m: Mesh) => T): Promise<T> {
  const mesh = await createMesh({ config: dir, watch: false, logger: silentLogger, ...(certs !== undefined && { certs }) });
  try {
    return fn(mesh);
  } finally {
    await mesh.close();
  }
}

/** Which endpoints get TLS: address → the SPIFFE IDs it must present, or 'plaintext'. */
function tlsByEndpoint(mesh: Mesh): Record<string, string> {
  const c = mesh.snapshot.clusters.get(CLUSTER)!;
  const out: Record<string, string> = {};
  for (const ep of c.endpoints) {
    const { tls } = endpointTransport(c, ep, mesh.credentials);
    out[ep.address] = tls ? tls.subjectAltNames.map((s) => s.text).join(',') : 'plaintext';
  }
  return out;
}

const certs = (() => {
  const root = tempDir('automtls-certs');
  return issueDevCertificates({ out: join(root, 'w'), caDir: join(root, 'ca'), namespace: 'default', serviceAccount: 'sleep' }).dir;
})();

describe('auto-mTLS', () => {
  it('writes the sidecar form: transport socket matches on the cluster, tlsMode on the endpoints', async () => {
    await withMesh(config(), certs, (mesh) => {
      const dump = mesh.configDump();
      const cluster = dump.clusters.find((c) => (c as { name: string }).name === CLUSTER) as Record<string, unknown>;
      expect(cluster['transportSocket']).toBeUndefined();
      expect((cluster['transportSocketMatches'] as { name: string; match: object }[]).map((m) => [m.name, m.match])).toEqual([['tlsMode-istio', { tlsMode: 'istio' }], ['tlsMode-disabled', {}]]);
      const cla = dump.endpoints.find((e) => (e as { clusterName: string }).clusterName === CLUSTER) as { endpoints: { lbEndpoints: { metadata: { filterMetadata: Record<string, unknown> } }[] }[] };
      expect(cla.endpoints[0]!.lbEndpoints.map((e) => e.metadata.filterMetadata['envoy.transport_socket_match'])).toEqual([{ tlsMode: 'istio' }, { tlsMode: 'istio' }, undefined]);
    });
  });

  it('gives mTLS, checked against the service accounts, to endpoints marked tlsMode istio and plaintext to the rest', async () => {
    await withMesh(config(), certs, (mesh) => {
      expect(tlsByEndpoint(mesh)).toEqual({
        '10.0.0.1': 'spiffe://cluster.local/ns/default/sa/reviews',
        '10.0.0.2': 'spiffe://cluster.local/ns/default/sa/reviews',
        '10.0.0.3': 'plaintext',
      });
    });
  });

  it('stays plaintext in a process without a workload certificate', async () => {
    await withMesh(config(), undefined, (mesh) => {
      expect(Object.values(tlsByEndpoint(mesh))).toEqual(['plaintext', 'plaintext', 'plaintext']);
    });
  });

  it('yields to DestinationRule TLS settings, MESH_EXTERNAL services and PeerAuthentication DISABLE', async () => {
    const dr = (mode: string) => `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec: { host: ${FQDN}, trafficPolicy: { tls: { mode: ${mode} } } }
`;
    await withMesh(config(dr('DISABLE')), certs, (mesh) => expect(Object.values(tlsByEndpoint(mesh))).toEqual(['plaintext', 'plaintext', 'plaintext']));
    await withMesh(config(dr('ISTIO_MUTUAL')), certs, (mesh) => expect(tlsByEndpoint(mesh)['10.0.0.3']).not.toBe('plaintext'));
    await withMesh(config('', 'MESH_EXTERNAL'), certs, (mesh) => expect(Object.values(tlsByEndpoint(mesh))).toEqual(['plaintext', 'plaintext', 'plaintext']));
    const pa = (ns: string, mode: string, selector = '') => `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: pa-${ns}-${mode.toLowerCase()}, namespace: ${ns} }
spec: {${selector} mtls: { mode: ${mode} } }
`;
    await withMesh(config(pa('default', 'DISABLE')), certs, (mesh) => expect(Object.values(tlsByEndpoint(mesh))).toEqual(['plaintext', 'plaintext', 'plaintext']));
    // A workload-level DISABLE turns off only the endpoints it selects.
    await withMesh(config(pa('default', 'DISABLE', ' selector: { matchLabels: { app: legacy } },')), certs, (mesh) => {
      expect(tlsByEndpoint(mesh)).toEqual({ '10.0.0.1': 'spiffe://cluster.local/ns/default/sa/reviews', '10.0.0.2': 'plaintext', '10.0.0.3': 'plaintext' });
    });
    // STRICT in the mesh changes nothing for the client: the endpoints' marks decide.
    await withMesh(config(pa('istio-system', 'STRICT')), certs, (mesh) => expect(tlsByEndpoint(mesh)['10.0.0.3']).toBe('plaintext'));
  });
});
