// The inbound listener `meshlet xds` sends a proxyless server, built as istiod's grpc generator
// builds it: the name's address, the mTLS mode folded to what gRPC can serve (PERMISSIVE →
// plaintext, or STRICT for auto-mTLS workloads), the RBAC filters' names and order — and what
// the server side reads back from it (translateServerListener).

import { describe, expect, it } from 'vitest';
import { compileInboundListener, evaluateRbac, serverListenerAddress, serverListenerName, translateServerListener } from '../src/index.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import type { ClientIdentity } from '../src/istio/compile/common/compile-context.ts';

const workload = (labels: Record<string, string> = { app: 'reviews' }): ClientIdentity => ({ namespace: 'default', labels, clusterDomain: 'cluster.local', rootNamespace: 'istio-system' });
const objects = (yaml: string) => parseConfigText(yaml, 'policies.yaml').objects;

const POLICIES = objects(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: reviews, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  mtls: { mode: STRICT }
  portLevelMtls: { "8081": { mode: PERMISSIVE }, "8082": { mode: DISABLE } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-sleep, namespace: default }
spec:
  action: ALLOW
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-admin, namespace: istio-system }
spec:
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin"] } }] }]
`);

describe('server listener names (gRFC A36)', () => {
  it('fills the template with the listening address, bracketing IPv6 and percent-encoding xdstp names', () => {
    expect(serverListenerName('xds.istio.io/grpc/lds/inbound/%s', '0.0.0.0', 8080)).toBe('xds.istio.io/grpc/lds/inbound/0.0.0.0:8080');
    expect(serverListenerName('xds.istio.io/grpc/lds/inbound/%s', '::', 8080)).toBe('xds.istio.io/grpc/lds/inbound/[::]:8080');
    expect(serverListenerName('xdstp://a/envoy.config.listener.v3.Listener/in/%s', '::1', 80)).toBe('xdstp://a/envoy.config.listener.v3.Listener/in/%5B%3A%3A1%5D%3A80');
  });

  it('reads the address back, and nothing from names that are not server listeners', () => {
    expect(serverListenerAddress('xds.istio.io/grpc/lds/inbound/[::]:8080')).toEqual({ host: '::', port: 8080 });
    expect(serverListenerAddress('xds.istio.io/grpc/lds/inbound/10.0.0.1:9080')).toEqual({ host: '10.0.0.1', port: 9080 });
    for (const bad of ['reviews.default.svc.cluster.local:9080', 'xds.istio.io/grpc/lds/inbound/10.0.0.1', 'xds.istio.io/grpc/lds/inbound/10.0.0.1:99999']) {
      expect(serverListenerAddress(bad)).toBeUndefined();
      expect(compileInboundListener(bad, POLICIES, workload())).toBeUndefined();
    }
  });
});

describe('compileInboundListener', () => {
  const compile = (port: number, labels?: Record<string, string>) => compileInboundListener(`xds.istio.io/grpc/lds/inbound/127.0.0.1:${port}`, POLICIES, workload(labels))!;

  it('writes STRICT as one mTLS chain requiring a client certificate from provider "default"', () => {
    const l = compile(9080);
    expect(l.address).toEqual({ socketAddress: { address: '127.0.0.1', portValue: 9080 } });
    const chains = l.filterChains as Record<string, unknown>[];
    expect(chains.map((c) => c['name'])).toEqual(['inbound-mtls']);
    expect(chains[0]!['transportSocket']).toMatchObject({
      name: 'envoy.transport_sockets.tls',
      typedConfig: { requireClientCertificate: true, commonTlsContext: { tlsCertificateProviderInstance: { instanceName: 'default', certificateName: 'default' } } },
    });
  });

  it('folds PERMISSIVE to a plaintext chain, or to STRICT for a workload labelled for auto-mTLS; DISABLE is plaintext', () => {
    expect((compile(8081).filterChains as Record<string, unknown>[]).map((c) => [c['name'], c['transportSocket'] !== undefined])).toEqual([['inbound-plaintext', false]]);
    expect((compile(8081, { app: 'reviews', 'security.istio.io/tlsMode': 'istio' }).filterChains as Record<string, unknown>[])[0]!['name']).toBe('inbound-mtls');
    expect((compile(8082, { app: 'reviews', 'security.istio.io/tlsMode': 'istio' }).filterChains as Record<string, unknown>[])[0]!['name']).toBe('inbound-plaintext');
  });

  it('puts the DENY filter before the ALLOW filter, the router last, and reads back as the same policy', () => {
    const l = compile(9080);
    const hcm = ((l.filterChains as Record<string, unknown>[])[0]!['filters'] as { typedConfig: { httpFilters: { name: string }[] } }[])[0]!.typedConfig;
    expect(hcm.httpFilters.map((f) => f.name)).toEqual(['envoy.filters.http.rbac.DENY', 'envoy.filters.http.rbac', 'envoy.filters.http.router']);
    const r = translateServerListener(l);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.mtls).toBe('STRICT');
    const allowed = (peerIdentity: string | undefined, path: string) => evaluateRbac(r.value.rbac, { peerIdentity, sourceIp: '10.0.0.1', method: 'GET', path, host: 'reviews', port: 9080, headers: {} }).allowed;
    expect(allowed('spiffe://cluster.local/ns/default/sa/sleep', '/books')).toBe(true);
    expect(allowed('spiffe://cluster.local/ns/default/sa/sleep', '/admin')).toBe(false);
    expect(allowed('spiffe://cluster.local/ns/default/sa/other', '/books')).toBe(false);
    expect(allowed(undefined, '/books')).toBe(false);
    const permissive = translateServerListener(compile(8081));
    expect(permissive.ok && permissive.value.mtls).toBe('PERMISSIVE');
  });
});
