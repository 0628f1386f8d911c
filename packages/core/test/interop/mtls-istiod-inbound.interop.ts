// Server-side policy from istiod: the inbound listener istiod's proxyless generator sends a
// server workload carries its PeerAuthentication (as the filter chains' DownstreamTlsContext)
// and its AuthorizationPolicies (as RBAC HTTP filters). Meshlet must read both from istiod's
// real output and decide every request exactly as it does from the CRDs themselves.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { authorize, applicablePolicies, translateServerListener, evaluateRbac, peerAuthenticationFor, mtlsModeForPort, type AuthzRequest, type Listener } from '../../src/index.ts';
import { ADS_SERVICE_DEFINITION } from '../../src/config/xds/ads-service.ts';
import { encodeRequest, readSotwResponse } from '../../src/xds/discovery-envelope.ts';
import { decodeAny } from '../../src/xds/codec/index.ts';
import { TYPE_URL } from '../../src/xds/resources.ts';
import { parseConfigText } from '../../src/istio/load/load-yaml.ts';
import type { AuthorizationPolicy, PeerAuthentication } from '../../src/istio/types.ts';
import { tempDir, writeConfig } from '../xds-helpers.ts';
import { buildGo, HAS_GO, startGoServer, type GoServer } from './go-build.ts';

const CRDS = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP, targetPort: 9080 }, { number: 9081, name: http-alt, protocol: HTTP, targetPort: 9081 }]
  endpoints:
  - { address: 127.0.0.1, serviceAccount: reviews, labels: { app: reviews } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: reviews, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  portLevelMtls: { "9081": { mode: PERMISSIVE } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/admin*"] } }]
  - from: [{ source: { notNamespaces: ["default"] } }]
    to: [{ operation: { methods: ["DELETE"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow, namespace: default }
spec:
  action: ALLOW
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }]
    to: [{ operation: { methods: ["GET", "DELETE"], paths: ["/api/*", "/admin/*"], ports: ["9080", "9081"] } }]
  - from: [{ source: { namespaces: ["prod"] } }]
    when: [{ key: "request.headers[x-env]", values: ["prod*"] }]
  - to: [{ operation: { paths: ["*.public", "/health"] } }]
`;

async function fetchListener(address: string, name: string): Promise<Listener> {
  const Client = grpc.makeGenericClientConstructor(ADS_SERVICE_DEFINITION, 'ads');
  const client = new Client(address, grpc.credentials.createInsecure());
  const stream = (client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<Uint8Array, Buffer> }).StreamAggregatedResources();
  try {
    return await new Promise<Listener>((resolve, reject) => {
      stream.on('data', (b: Buffer) => {
        const r = readSotwResponse(b);
        if (!r.ok) return reject(new Error(r.error));
        const raw = r.value.resources;
        if (raw.length === 0) return reject(new Error(`istiod sent no ${name}`));
        const d = decodeAny(raw.typeUrlAt(0), raw.bytesAt(0));
        if (!d.ok) return reject(d.error);
        resolve(d.value as Listener);
      });
      stream.on('error', reject);
      const node = { id: 'sidecar~127.0.0.1~reviews-1.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'reviews' } }, locality: {} };
      stream.write(encodeRequest(false, { node, typeUrl: TYPE_URL.Listener, resourceNames: [name] }));
    });
  } finally {
    stream.cancel();
    client.close();
  }
}

describe.skipIf(!HAS_GO)('server policy from istiod\'s inbound listeners', () => {
  let istiod: GoServer;
  const listeners = new Map<number, Listener>();
  const objects = parseConfigText(CRDS, 'crds.yaml').objects;
  const authz = applicablePolicies(objects.filter((o): o is AuthorizationPolicy => o.kind === 'AuthorizationPolicy'), { namespace: 'default', labels: { app: 'reviews' } }, 'istio-system');
  const peer = peerAuthenticationFor(objects.filter((o): o is PeerAuthentication => o.kind === 'PeerAuthentication'), { namespace: 'default', labels: { app: 'reviews' } }, 'istio-system');

  beforeAll(async () => {
    const dir = tempDir('istiod-inbound');
    writeConfig(dir, { 'crds.yaml': CRDS });
    istiod = await startGoServer(await buildGo('istiod'), ['-config', dir]);
    for (const port of [9080, 9081]) listeners.set(port, await fetchListener(istiod.address, `xds.istio.io/grpc/lds/inbound/127.0.0.1:${port}`));
  });
  afterAll(async () => { await istiod?.stop(); });

  it('reads the mTLS mode: STRICT as a client-certificate chain, PERMISSIVE as istiod\'s plaintext chain', () => {
    expect(mtlsModeForPort(peer, 9080)).toBe('STRICT');
    expect(mtlsModeForPort(peer, 9081)).toBe('PERMISSIVE');
    for (const [port, l] of listeners) {
      const r = translateServerListener(l);
      if (!r.ok) throw new Error(r.error);
      expect(r.value.mtls).toBe(mtlsModeForPort(peer, port));
    }
  });

  it('decides every request from istiod\'s RBAC filters as from the AuthorizationPolicies', () => {
    const peers = [undefined, 'spiffe://cluster.local/ns/default/sa/sleep', 'spiffe://cluster.local/ns/prod/sa/api', 'spiffe://cluster.local/ns/other/sa/x'];
    const paths = ['/api/x', '/admin/users', '/admin', '/health', '/a.public', '/other'];
    const methods = ['GET', 'DELETE', 'POST'];
    let checked = 0;
    for (const [port, l] of listeners) {
      const r = translateServerListener(l);
      if (!r.ok) throw new Error(r.error);
      expect(r.value.rbac.map((f) => f.action)).toEqual(['DENY', 'ALLOW']);
      for (const peerIdentity of peers) for (const path of paths) for (const method of methods) for (const env of [undefined, 'production']) {
        const req: AuthzRequest = { peerIdentity, sourceIp: '10.0.0.9', method, path, host: 'reviews:9080', port, headers: env ? { 'x-env': env } : {} };
        const want = authorize(authz, req).allowed;
        expect({ port, peerIdentity, path, method, env, allowed: evaluateRbac(r.value.rbac, req).allowed }).toEqual({ port, peerIdentity, path, method, env, allowed: want });
        checked++;
      }
    }
    expect(checked).toBe(2 * 4 * 6 * 3 * 2);
  });
});
