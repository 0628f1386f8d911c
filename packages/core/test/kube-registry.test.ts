// The Kubernetes registry as istiod's reads it, checked through the compiler's output: Services
// (protocol, headless, ExternalName, exportTo, names and cluster IPs), endpoints from
// EndpointSlices, Endpoints or the selected Pods (health, ports, pods' identity, locality,
// network, workload name), and how a Service and ServiceEntries for one host meet.

import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import type { MeshObject } from '../src/istio/types.ts';
import { inferPortProtocol } from '../src/kube/kube-protocol.ts';
import type { LbEndpoint } from '../src/xds/resources.ts';
import { assignment, client, cluster, compile, messages, routeConfig, routes } from './compile-helpers.ts';

const FQDN = 'reviews.default.svc.cluster.local';
const C = (subset = '', host = FQDN, port = 9080) => `outbound|${port}|${subset}|${host}`;

function load(...docs: string[]): MeshObject[] {
  const r = parseConfigText(docs.join('\n---\n'), 'k.yaml');
  expect(r.problems.filter((p) => p.severity === 'error').map(formatProblem)).toEqual([]);
  return r.objects;
}

const service = (extra = '', name = 'reviews', ns = 'default', ports = '[{ name: http, port: 9080 }]') => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns}${extra.includes('labels:') || extra.includes('annotations:') ? `, ${extra}` : ''} }
spec: { clusterIP: 10.96.0.13, ports: ${ports}, selector: { app: ${name} }${extra.includes('labels:') || extra.includes('annotations:') ? '' : extra} }`;

function pod(name: string, ip: string, opts: { labels?: string; sa?: string; node?: string; ready?: boolean; ns?: string; ports?: string; extraMeta?: string; phase?: string } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${opts.ns ?? 'default'}, labels: { ${opts.labels ?? 'app: reviews'} }${opts.extraMeta ?? ''} }
spec: { ${opts.sa ? `serviceAccountName: ${opts.sa}, ` : ''}${opts.node ? `nodeName: ${opts.node}, ` : ''}containers: [{ name: app, ports: ${opts.ports ?? '[{ containerPort: 9080 }]'} }] }
status: { phase: ${opts.phase ?? 'Running'}, podIP: ${ip}, conditions: [{ type: Ready, status: "${opts.ready === false ? 'False' : 'True'}" }] }`;
}

function slice(name: string, endpoints: string, opts: { svc?: string; ports?: string } = {}): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}, namespace: default, labels: { kubernetes.io/service-name: ${opts.svc ?? 'reviews'} } }
addressType: IPv4
ports: ${opts.ports ?? '[{ name: http, port: 9080 }]'}
endpoints:
${endpoints}`;
}

const ep = (ip: string, podName: string | undefined, conditions = '{ ready: true, serving: true, terminating: false }', extra = '') =>
  `- { addresses: [${ip}], conditions: ${conditions}${podName ? `, targetRef: { kind: Pod, name: ${podName}, namespace: default }` : ''}${extra} }`;

const lbEndpoints = (r: ReturnType<typeof compile>, name: string): LbEndpoint[] => (assignment(r, name).endpoints ?? []).flatMap((l) => l.lbEndpoints ?? []);
const summary = (e: LbEndpoint) => `${e.endpoint?.address?.socketAddress?.address}:${e.endpoint?.address?.socketAddress?.portValue} ${e.healthStatus}`;

describe('Service ports', () => {
  it("infer their protocol as istiod does: UDP, then appProtocol (with Kubernetes' own names), else the port name's prefix", () => {
    const cases: [number, string | undefined, string | undefined, string | undefined, string | undefined][] = [
      [9080, 'http', undefined, undefined, 'HTTP'],
      [9080, 'http-reviews', undefined, undefined, 'HTTP'],
      [9080, 'HTTP2', undefined, undefined, 'HTTP2'],
      [9080, 'grpc', undefined, undefined, 'GRPC'],
      [9080, 'grpc-web', undefined, undefined, 'GRPC-Web'],
      [9080, 'grpc-web-ui', undefined, undefined, 'GRPC-Web'],
      [5432, 'tcp-postgres', undefined, undefined, 'TCP'],
      [27017, 'mongo', undefined, undefined, 'Mongo'],
      [9080, 'web', undefined, undefined, undefined],
      [9080, undefined, undefined, undefined, undefined],
      [3306, 'db', undefined, undefined, 'TCP'],
      [53, '', 'UDP', undefined, 'UDP'],
      [53, 'dns', undefined, undefined, 'TCP'],
      [9080, 'http', 'UDP', undefined, 'UDP'],
      [9080, 'tcp', undefined, 'kubernetes.io/h2c', 'HTTP2'],
      [9080, 'tcp', undefined, 'kubernetes.io/ws', 'HTTP'],
      [9080, 'http', undefined, 'kubernetes.io/wss', 'HTTPS'],
      [9080, 'http', undefined, 'https', 'HTTPS'],
      [9080, 'tcp', undefined, 'grpc', 'GRPC'],
      [9080, 'http', undefined, 'custom', undefined],
    ];
    for (const [port, name, protocol, app, want] of cases) expect(inferPortProtocol(port, name, protocol, app), `${port} ${name} ${protocol} ${app}`).toBe(want);
  });

  it('get HTTP routes only when HTTP or sniffed: a VirtualService does not route a tcp- port', () => {
    const r = compile(load(
      service('', 'reviews', 'default', '[{ name: http, port: 9080 }, { name: tcp-admin, port: 9090 }]'),
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec: { hosts: [reviews], http: [{ route: [{ destination: { host: reviews }, weight: 100 }], timeout: 3s }] }`,
    ));
    expect(routes(r, C('', FQDN, 9080))[0]?.route?.timeout).toBe('3s');
    expect(routes(r, C('', FQDN, 9090))[0]?.route?.timeout).toBe('0s');
  });
});

describe('endpoints', () => {
  it("come from EndpointSlices, one per address and port, with istiod's health", () => {
    const r = compile(load(
      service('labels: { app: reviews }'),
      slice('reviews-a', [
        ep('10.0.0.1', undefined, '{}'),
        ep('10.0.0.2', undefined, '{ ready: false, serving: false, terminating: false }'),
        ep('10.0.0.3', undefined, '{ ready: false, serving: true, terminating: true }'),
        ep('10.0.0.4', undefined, '{ ready: false }'),
      ].join('\n')),
      // The same address in a second slice (moving between slices) counts once, the healthier kept.
      slice('reviews-b', [ep('10.0.0.2', undefined), ep('10.0.0.5', undefined, '{ ready: true }')].join('\n'), { ports: '[{ name: http, port: 19080 }]' }),
    ));
    expect(lbEndpoints(r, C()).map(summary).sort()).toEqual(['10.0.0.1:9080 HEALTHY', '10.0.0.2:19080 HEALTHY', '10.0.0.5:19080 HEALTHY']);
  });

  it('keep not-ready pods as UNHEALTHY with panic mode off, or leave them out when minHealthPercent could send them traffic', () => {
    const objs = load(service(), slice('reviews-a', [ep('10.0.0.1', undefined), ep('10.0.0.2', undefined, '{ ready: false, serving: false, terminating: false }')].join('\n')));
    const plain = compile(objs);
    expect(lbEndpoints(plain, C()).map(summary)).toEqual(['10.0.0.1:9080 HEALTHY', '10.0.0.2:9080 UNHEALTHY']);
    expect(cluster(plain, C()).commonLbConfig?.healthyPanicThreshold).toEqual({ value: 0 });
    const guarded = compile([...objs, ...load(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec: { host: reviews, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3, minHealthPercent: 50 } } }`)]);
    expect(lbEndpoints(guarded, C()).map(summary)).toEqual(['10.0.0.1:9080 HEALTHY']);
    expect(cluster(guarded, C()).commonLbConfig?.healthyPanicThreshold).toEqual({ value: 50 });
  });

  it('send draining pods only to persistent-session services, as DRAINING', () => {
    const draining = ep('10.0.0.2', undefined, '{ ready: false, serving: true, terminating: true }');
    const labelled = ep('10.0.0.3', 'p3');
    const pods = pod('p3', '10.0.0.3', { labels: 'app: reviews, istio.io/draining: "true"' });
    const plain = compile(load(service(), slice('s', [ep('10.0.0.1', undefined), draining, labelled].join('\n')), pods));
    expect(lbEndpoints(plain, C()).map(summary)).toEqual(['10.0.0.1:9080 HEALTHY']);
    const sticky = compile(load(service('labels: { istio.io/persistent-session: cookie }'), slice('s', [ep('10.0.0.1', undefined), draining, labelled].join('\n')), pods));
    expect(lbEndpoints(sticky, C()).map(summary)).toEqual(['10.0.0.1:9080 HEALTHY', '10.0.0.2:9080 DRAINING', '10.0.0.3:9080 DRAINING']);
  });

  it('serve only the ports their slice lists', () => {
    const r = compile(load(
      service('', 'reviews', 'default', '[{ name: http, port: 9080 }, { name: grpc, port: 9090 }]'),
      slice('a', ep('10.0.0.1', undefined), { ports: '[{ name: http, port: 8080 }, { name: grpc, port: 8090 }]' }),
      slice('b', ep('10.0.0.2', undefined), { ports: '[{ name: http, port: 8080 }]' }),
    ));
    expect(lbEndpoints(r, C('', FQDN, 9080)).map(summary)).toEqual(['10.0.0.1:8080 HEALTHY', '10.0.0.2:8080 HEALTHY']);
    expect(lbEndpoints(r, C('', FQDN, 9090)).map(summary)).toEqual(['10.0.0.1:8090 HEALTHY']);
  });

  it("leave out an address whose Pod is not known, saying so at the slice's targetRef", () => {
    const r = compile(load(service(), slice('reviews-a', [ep('10.0.0.1', 'gone'), ep('10.0.0.2', 'here')].join('\n')), pod('here', '10.0.0.2')));
    expect(lbEndpoints(r, C()).map(summary)).toEqual(['10.0.0.2:9080 HEALTHY']);
    expect(r.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^k\.yaml:\d+: EndpointSlice default\/reviews-a: endpoints\[0\]\.targetRef: warning: Pod default\/gone \(endpoint 10\.0\.0\.1\) is not in the config; the endpoint is left out/),
    ]);
  });

  it('come from v1 Endpoints when a Service has no EndpointSlice (not-ready addresses left out, as mirrored slices are)', () => {
    const endpoints = `apiVersion: v1
kind: Endpoints
metadata: { name: reviews, namespace: default }
subsets:
- addresses: [{ ip: 10.0.0.1 }, { ip: 10.0.0.2, targetRef: { kind: Pod, name: p2, namespace: default } }]
  notReadyAddresses: [{ ip: 10.0.0.3 }]
  ports: [{ name: http, port: 8080 }]`;
    const r = compile(load(service(), endpoints, pod('p2', '10.0.0.2', { labels: 'app: reviews, version: v2' })));
    expect(lbEndpoints(r, C()).map((e) => `${summary(e)} ${(e.metadata?.filterMetadata?.['meshlet']?.['labels'] as Record<string, string>)['version'] ?? '-'}`)).toEqual(['10.0.0.1:8080 HEALTHY -', '10.0.0.2:8080 HEALTHY v2']);
    // Once a slice exists, it is the source.
    const both = compile(load(service(), endpoints, slice('reviews-a', ep('10.0.0.9', undefined))));
    expect(lbEndpoints(both, C()).map(summary)).toEqual(['10.0.0.9:9080 HEALTHY']);
  });

  it('come from the selected Pods when nothing else lists them, targetPort resolved by name on each pod', () => {
    const r = compile(load(
      service('', 'reviews', 'default', '[{ name: http, port: 80, targetPort: web }, { name: metrics, port: 9100, targetPort: 9102 }, { name: plain, port: 7070 }]'),
      pod('a', '10.0.0.1', { ports: '[{ name: web, containerPort: 8080 }]' }),
      pod('b', '10.0.0.2', { ports: '[{ name: web, containerPort: 8081 }]', ready: false }),
      pod('c', '10.0.0.3', { ports: '[{ name: other, containerPort: 8082 }]' }),
      pod('done', '10.0.0.4', { phase: 'Succeeded' }),
      pod('elsewhere', '10.0.0.5', { ns: 'prod' }),
      pod('unrelated', '10.0.0.6', { labels: 'app: ratings' }),
    ));
    expect(lbEndpoints(r, C('', FQDN, 80)).map(summary)).toEqual(['10.0.0.1:8080 HEALTHY', '10.0.0.2:8081 UNHEALTHY']);
    expect(lbEndpoints(r, C('', FQDN, 9100)).map(summary)).toEqual(['10.0.0.1:9102 HEALTHY', '10.0.0.2:9102 UNHEALTHY', '10.0.0.3:9102 HEALTHY']);
    expect(lbEndpoints(r, C('', FQDN, 7070)).map(summary)).toEqual(['10.0.0.1:7070 HEALTHY', '10.0.0.2:7070 UNHEALTHY', '10.0.0.3:7070 HEALTHY']);
  });

  it("carry the pod's identity: service account, tlsMode, labels with topology, locality from its Node, network, workload name", () => {
    const r = compile(load(
      service(),
      slice('reviews-a', [
        ep('10.0.0.1', 'reviews-v1-6d4f8c9b7d-q8w2e', undefined, ', zone: not-this-one'),
        ep('10.0.0.2', 'plain', undefined, ', zone: us-east-1c'),
        ep('10.0.0.3', 'pinned'),
        ep('10.0.0.4', undefined, '{ ready: true }', ', zone: eu-west-1c'),
        ep('10.0.0.5', 'nowhere'),
      ].join('\n')),
      pod('reviews-v1-6d4f8c9b7d-q8w2e', '10.0.0.1', {
        labels: 'app: reviews, version: v1, pod-template-hash: 6d4f8c9b7d, security.istio.io/tlsMode: istio',
        sa: 'bookinfo-reviews', node: 'node-a',
        extraMeta: ', generateName: reviews-v1-6d4f8c9b7d-, ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: reviews-v1-6d4f8c9b7d, controller: true }]',
      }),
      pod('plain', '10.0.0.2', { node: 'node-unknown' }),
      pod('nowhere', '10.0.0.5'),
      pod('pinned', '10.0.0.3', { labels: 'app: reviews, istio-locality: us-west.zone1, topology.istio.io/network: net-b', node: 'node-a' }),
      `apiVersion: v1
kind: Node
metadata: { name: node-a, labels: { topology.kubernetes.io/region: us-east-1, topology.kubernetes.io/zone: us-east-1a, topology.istio.io/subzone: rack-7 } }`,
      `apiVersion: v1
kind: Namespace
metadata: { name: istio-system, labels: { topology.istio.io/network: net-a } }`,
    ));
    const byIp = new Map(lbEndpoints(r, C()).map((e) => [e.endpoint?.address?.socketAddress?.address, e]));
    const groups = assignment(r, C()).endpoints ?? [];
    const localityOf = (ip: string) => groups.find((g) => g.lbEndpoints?.some((e) => e.endpoint?.address?.socketAddress?.address === ip))?.locality;
    const meta = (ip: string) => byIp.get(ip)?.metadata?.filterMetadata ?? {};
    expect(localityOf('10.0.0.1')).toEqual({ region: 'us-east-1', zone: 'us-east-1a', subZone: 'rack-7' });
    // Its Node is not in the config: the slice's zone stands in.
    expect(localityOf('10.0.0.2')).toEqual({ zone: 'us-east-1c' });
    expect(localityOf('10.0.0.5')).toEqual({});
    expect(localityOf('10.0.0.3')).toEqual({ region: 'us-west', zone: 'zone1' });
    expect(localityOf('10.0.0.4')).toEqual({ zone: 'eu-west-1c' });
    expect(meta('10.0.0.1')['envoy.transport_socket_match']).toEqual({ tlsMode: 'istio' });
    expect(meta('10.0.0.2')['envoy.transport_socket_match']).toBeUndefined();
    expect(meta('10.0.0.1')['istio']).toEqual({ workload: 'reviews-v1;default;reviews;v1;Kubernetes' });
    expect(meta('10.0.0.2')['istio']).toEqual({ workload: 'plain;default;reviews;;Kubernetes' });
    expect(meta('10.0.0.1')['meshlet']).toEqual({
      labels: {
        app: 'reviews', version: 'v1', 'pod-template-hash': '6d4f8c9b7d', 'security.istio.io/tlsMode': 'istio',
        'topology.kubernetes.io/region': 'us-east-1', 'topology.kubernetes.io/zone': 'us-east-1a', 'topology.istio.io/subzone': 'rack-7',
        'topology.istio.io/cluster': 'Kubernetes', 'kubernetes.io/hostname': 'node-a', 'topology.istio.io/network': 'net-a',
      },
      network: 'net-a',
    });
    expect((meta('10.0.0.3')['meshlet'] as { network: string }).network).toBe('net-b');
    // Auto-mTLS pins the identities of the service's pods: their service accounts ('default' when unset).
    const tls = JSON.stringify(cluster(r, C()).transportSocketMatches);
    expect(tls).toContain('spiffe://cluster.local/ns/default/sa/bookinfo-reviews');
    expect(tls).toContain('spiffe://cluster.local/ns/default/sa/default');
  });

  it("drop the tlsMode mark where the pod's PeerAuthentication disables mTLS", () => {
    const r = compile(load(
      service(),
      slice('reviews-a', [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b')].join('\n')),
      pod('a', '10.0.0.1', { labels: 'app: reviews, version: v1, security.istio.io/tlsMode: istio' }),
      pod('b', '10.0.0.2', { labels: 'app: reviews, version: v2, security.istio.io/tlsMode: istio' }),
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: v2-plain, namespace: default }
spec: { selector: { matchLabels: { version: v2 } }, mtls: { mode: DISABLE } }`,
    ));
    expect(lbEndpoints(r, C()).map((e) => e.metadata?.filterMetadata?.['envoy.transport_socket_match']?.['tlsMode'] ?? 'none')).toEqual(['istio', 'none']);
  });

  it('get subsets by pod labels, topology labels included', () => {
    const r = compile(load(
      service(),
      slice('reviews-a', [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b')].join('\n')),
      pod('a', '10.0.0.1', { labels: 'app: reviews, version: v1', node: 'node-a' }),
      pod('b', '10.0.0.2', { labels: 'app: reviews, version: v1', node: 'node-b' }),
      `apiVersion: v1\nkind: Node\nmetadata: { name: node-a, labels: { topology.kubernetes.io/region: r, topology.kubernetes.io/zone: z1 } }`,
      `apiVersion: v1\nkind: Node\nmetadata: { name: node-b, labels: { topology.kubernetes.io/region: r, topology.kubernetes.io/zone: z2 } }`,
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec: { host: reviews, subsets: [{ name: v1, labels: { version: v1 } }, { name: z2, labels: { topology.kubernetes.io/zone: z2 } }] }`,
    ));
    expect(lbEndpoints(r, C('v1')).map(summary)).toEqual(['10.0.0.1:9080 HEALTHY', '10.0.0.2:9080 HEALTHY']);
    expect(lbEndpoints(r, C('z2')).map(summary)).toEqual(['10.0.0.2:9080 HEALTHY']);
  });
});

describe('Services', () => {
  it('answer to the names Kubernetes DNS gives them and to their cluster IPs', () => {
    const r = compile(load(service().replace('clusterIP: 10.96.0.13', 'clusterIP: 10.96.0.13, clusterIPs: [10.96.0.13, "fd00:10:96::13"]')));
    expect(routeConfig(r, C()).virtualHosts?.[0]?.domains).toEqual([
      FQDN, `${FQDN}:9080`, `${FQDN}.`, `${FQDN}.:9080`, 'reviews', 'reviews:9080', 'reviews.default.svc', 'reviews.default.svc:9080', 'reviews.default', 'reviews.default:9080',
      '10.96.0.13', '10.96.0.13:9080', '[fd00:10:96::13]', '[fd00:10:96::13]:9080',
    ]);
    // From another namespace, only the qualified short names.
    expect(routeConfig(compile(load(service()), client('prod')), C()).virtualHosts?.[0]?.domains).not.toContain('reviews');
  });

  it('without a cluster IP (headless) pass through to the address the caller resolved', () => {
    const r = compile(load(service().replace('clusterIP: 10.96.0.13', 'clusterIP: None'), slice('a', ep('10.0.0.1', undefined))));
    expect(cluster(r, C()).type).toBe('ORIGINAL_DST');
    expect(r.resources.endpoints.has(C())).toBe(false);
    expect(r.resources.listeners.get(`${FQDN}:9080`)?.address?.socketAddress?.address).toBe('0.0.0.0');
  });

  it('of type ExternalName are aliases: routed by the named service, which answers to their names', () => {
    const alias = (name: string, target: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec: { type: ExternalName, externalName: ${target}, ports: [{ name: http, port: 9080 }] }`;
    const r = compile(load(
      service(),
      slice('a', ep('10.0.0.1', undefined)),
      alias('reviews-alias', FQDN),
      alias('alias-of-alias', 'reviews-alias.default.svc.cluster.local'),
      alias('nowhere', 'api.example.com'),
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec: { hosts: [ratings.example.com], http: [{ route: [{ destination: { host: reviews-alias, port: { number: 9080 } } }] }] }`,
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec: { hosts: [ratings.example.com], ports: [{ number: 9080, name: http }], resolution: STATIC, endpoints: [{ address: 10.0.0.9 }] }`,
    ));
    const aliasListener = r.resources.listeners.get('reviews-alias.default.svc.cluster.local:9080');
    expect(aliasListener?.apiListener?.apiListener?.rds?.routeConfigName).toBe(C());
    expect(r.resources.listeners.get('alias-of-alias.default.svc.cluster.local:9080')?.apiListener?.apiListener?.rds?.routeConfigName).toBe(C());
    expect(routeConfig(r, C()).virtualHosts?.[0]?.domains).toEqual(expect.arrayContaining(['reviews-alias', 'reviews-alias.default.svc.cluster.local:9080', 'alias-of-alias:9080']));
    expect([...r.resources.clusters.keys()].filter((c) => c.includes('alias'))).toEqual([]);
    expect(r.resources.listeners.has('nowhere.default.svc.cluster.local:9080')).toBe(false);
    // A route to the alias goes to the concrete service's cluster.
    expect(routes(r, C('', 'ratings.example.com'))[0]?.route?.cluster).toBe(C());
    expect(messages(r)).toEqual([expect.stringMatching(/^Service default\/nowhere spec.externalName: this ExternalName Service is an alias of api.example.com, which is not a service visible in namespace default/)]);
  });

  it("take routes without a destination port on their only port (istiod's GetDestinationCluster)", () => {
    const r = compile(load(
      service('', 'reviews', 'default', '[{ name: http, port: 80 }]'),
      service('', 'ratings', 'default', '[{ name: http, port: 9080 }]').replace('10.96.0.13', '10.96.0.12'),
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec: { hosts: [reviews], http: [{ route: [{ destination: { host: ratings } }] }] }`,
    ));
    expect(routes(r, C('', FQDN, 80))[0]?.route?.cluster).toBe(C('', 'ratings.default.svc.cluster.local', 9080));
    expect(messages(r)).toEqual([]);
  });

  it('are hidden by networking.istio.io/exportTo from other namespaces', () => {
    const objs = load(service('annotations: { networking.istio.io/exportTo: "." }'), slice('a', ep('10.0.0.1', undefined)));
    expect(compile(objs).resources.clusters.has(C())).toBe(true);
    expect(compile(objs, client('prod')).resources.clusters.has(C())).toBe(false);
  });

  it('add the identities of their service-account annotations to the ones auto-mTLS accepts', () => {
    const r = compile(load(service('annotations: { alpha.istio.io/kubernetes-serviceaccounts: "legacy", alpha.istio.io/canonical-serviceaccounts: "spiffe://other.domain/ns/x/sa/y" }'), slice('a', ep('10.0.0.1', undefined))));
    const tls = JSON.stringify(cluster(r, C()).transportSocketMatches);
    expect(tls).toContain('spiffe://cluster.local/ns/default/sa/legacy');
    expect(tls).toContain('spiffe://other.domain/ns/x/sa/y');
  });

  it('take their host from a ServiceEntry in the same namespace, whose endpoints still join them (istiod)', () => {
    const r = compile(load(
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: squatter, namespace: default, creationTimestamp: "2020-01-01T00:00:00Z" }
spec: { hosts: [${FQDN}], ports: [{ number: 7000, name: http }], resolution: STATIC, endpoints: [{ address: 10.0.0.50, ports: { http: 7001 } }] }`,
      service(),
      slice('a', ep('10.0.0.1', undefined)),
    ));
    expect([...r.resources.clusters.keys()]).toEqual([C()]);
    expect(lbEndpoints(r, C()).map(summary)).toEqual(['10.0.0.1:9080 HEALTHY', '10.0.0.50:7001 HEALTHY']);
    expect(messages(r)).toEqual([expect.stringMatching(/^ServiceEntry default\/squatter spec.hosts: host reviews.default.svc.cluster.local is the Kubernetes Service default\/reviews, which takes precedence as in istiod/)]);
  });

  it("give way, like any declaration, to one in the client's own namespace", () => {
    const r = compile(load(
      service(),
      slice('a', ep('10.0.0.1', undefined)),
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: local, namespace: prod }
spec: { hosts: [${FQDN}], ports: [{ number: 9080, name: http }], resolution: STATIC, endpoints: [{ address: 10.0.0.60 }] }`,
    ), client('prod'));
    expect(lbEndpoints(r, C()).map(summary)).toEqual(['10.0.0.60:9080 HEALTHY']);
    expect(messages(r)).toEqual([expect.stringMatching(/^Service default\/reviews metadata.name: host reviews.default.svc.cluster.local is also declared in namespace prod/)]);
  });
});
