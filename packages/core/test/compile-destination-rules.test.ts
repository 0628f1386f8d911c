import { describe, expect, it } from 'vitest';
import type { DestinationRuleSpec } from '../src/istio/types.ts';
import { TYPE_URL } from '../src/xds/resources.ts';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import {
  assignment,
  client,
  cluster,
  compile,
  destinationRule,
  endpointAddresses,
  findings,
  messages,
  routes,
  serviceEntry,
  staticService,
  virtualService,
} from './compile-helpers.ts';

const HOST = 'reviews.default.svc.cluster.local';
const DEFAULT = `outbound|9080||${HOST}`;
const SVC = staticService(HOST, 9080, [
  { address: '10.0.0.1', labels: { version: 'v1' } },
  { address: '10.0.0.2', labels: { version: 'v2' } },
  { address: '10.0.0.3', labels: { version: 'v2', canary: 'yes' } },
]);
const UNLIMITED = { maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 4294967295, maxRetries: 4294967295, trackRemaining: true };

function withRule(spec: DestinationRuleSpec, who = client()) {
  return compile([SVC, destinationRule('reviews', spec)], who);
}

describe('compileMesh: clusters and DestinationRules', () => {
  it('without a DestinationRule: LEAST_REQUEST, 10s connect timeout, unlimited breakers, no outlier detection', () => {
    const c = cluster(compile([SVC]), DEFAULT);
    expect(c.lbPolicy).toBe('LEAST_REQUEST');
    expect(c.connectTimeout).toBe('10s');
    expect(c.circuitBreakers).toEqual({ thresholds: [UNLIMITED] });
    expect(c.outlierDetection).toBeUndefined();
    // location defaults to MESH_EXTERNAL, which the sidecar marks on the cluster.
    expect(c.metadata?.filterMetadata?.['istio']).toEqual({ services: [{ host: HOST, name: HOST, namespace: 'default' }], external: true });
    const internal = serviceEntry('in', { hosts: ['in.example.com'], location: 'MESH_INTERNAL', ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.9' }] });
    expect(cluster(compile([internal]), 'outbound|80||in.example.com').metadata?.filterMetadata?.['istio']).not.toHaveProperty('external');
  });

  it('one cluster per subset, with only the endpoints the subset labels select', () => {
    const r = withRule({ host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }, { name: 'all' }] });
    expect([...r.resources.clusters.keys()]).toEqual([DEFAULT, `outbound|9080|v1|${HOST}`, `outbound|9080|v2|${HOST}`, `outbound|9080|all|${HOST}`]);
    const v2 = cluster(r, `outbound|9080|v2|${HOST}`);
    expect(v2.edsClusterConfig?.serviceName).toBe(`outbound|9080|v2|${HOST}`);
    expect(v2.metadata?.filterMetadata?.['istio']).toMatchObject({ subset: 'v2', config: '/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews' });
    expect(endpointAddresses(assignment(r, `outbound|9080|v2|${HOST}`))).toEqual(['10.0.0.2:9080', '10.0.0.3:9080']);
    expect(endpointAddresses(assignment(r, `outbound|9080|all|${HOST}`))).toHaveLength(3);
    expect(r.problems).toEqual([]);
  });

  it('a subset that selects no endpoint gets an empty cluster, and the analyzers say so (IST0173)', () => {
    const spec: DestinationRuleSpec = { host: 'reviews', subsets: [{ name: 'v3', labels: { version: 'v3' } }] };
    const r = withRule(spec);
    expect(endpointAddresses(assignment(r, `outbound|9080|v3|${HOST}`))).toEqual([]);
    expect(messages(r)).toEqual([]);
    expect(findings([SVC, destinationRule('reviews', spec)])).toEqual([expect.stringMatching(/^\[IST0173\] DestinationRule default\/reviews spec.subsets\[0\].labels: The Subset v3 defined in the DestinationRule does not select any endpoint/)]);
  });

  it('loadBalancer.simple → lbPolicy', () => {
    const lb = (simple: NonNullable<NonNullable<DestinationRuleSpec['trafficPolicy']>['loadBalancer']>['simple']) =>
      cluster(withRule({ host: 'reviews', trafficPolicy: { loadBalancer: { simple } } }), DEFAULT);
    expect(lb('ROUND_ROBIN').lbPolicy).toBe('ROUND_ROBIN');
    expect(lb('RANDOM').lbPolicy).toBe('RANDOM');
    expect(lb('LEAST_CONN').lbPolicy).toBe('LEAST_REQUEST');
    expect(lb('LEAST_REQUEST').lbPolicy).toBe('LEAST_REQUEST');
    expect(lb('UNSPECIFIED').lbPolicy).toBe('LEAST_REQUEST');
    const pt = lb('PASSTHROUGH');
    expect([pt.type, pt.lbPolicy, pt.edsClusterConfig]).toEqual(['ORIGINAL_DST', 'CLUSTER_PROVIDED', undefined]);
  });

  it('consistentHash → RING_HASH / MAGLEV on the cluster and hashPolicy on the default route', () => {
    const ring = withRule({ host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'session', ttl: '60s', path: '/' } } } } });
    expect(cluster(ring, DEFAULT)).toMatchObject({ lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: '1024' } });
    expect(routes(ring, DEFAULT)[0]?.route?.hashPolicy).toEqual([{ cookie: { name: 'session', ttl: '60s', path: '/' } }]);
    const mag = withRule({ host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 65537 } } } } });
    expect(cluster(mag, DEFAULT)).toMatchObject({ lbPolicy: 'MAGLEV', maglevLbConfig: { tableSize: '65537' } });
    expect(routes(mag, DEFAULT)[0]?.route?.hashPolicy).toEqual([{ connectionProperties: { sourceIp: true } }]);
    const q = withRule({ host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpQueryParameterName: 'u', ringHash: { minimumRingSize: 64 } } } } });
    expect(cluster(q, DEFAULT).ringHashLbConfig).toEqual({ minimumRingSize: '64' });
    expect(routes(q, DEFAULT)[0]?.route?.hashPolicy).toEqual([{ queryParameter: { name: 'u' } }]);
  });

  it('connectionPool → circuit-breaker thresholds, connectTimeout and HTTP protocol options', () => {
    const c = cluster(
      withRule({
        host: 'reviews',
        trafficPolicy: {
          connectionPool: {
            tcp: { maxConnections: 99, connectTimeout: '6s', tcpKeepalive: { probes: 3, time: '7200s', interval: '75s' } },
            http: { http2MaxRequests: 33, maxRequestsPerConnection: 65, maxRetries: 4, http1MaxPendingRequests: 14, idleTimeout: '30s' },
          },
          retryBudget: { percent: 25 },
        },
      }),
      DEFAULT,
    );
    expect(c.connectTimeout).toBe('6s');
    expect(c.circuitBreakers?.thresholds).toEqual([
      { maxConnections: 99, maxPendingRequests: 14, maxRequests: 33, maxRetries: 4, trackRemaining: true, retryBudget: { budgetPercent: { value: 25 }, minRetryConcurrency: 3 } },
    ]);
    expect(c.typedExtensionProtocolOptions?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']).toEqual({
      '@type': TYPE_URL.HttpProtocolOptions,
      commonHttpProtocolOptions: { idleTimeout: '30s', maxRequestsPerConnection: 65 },
    });
    expect(c.upstreamConnectionOptions).toEqual({ tcpKeepalive: { keepaliveProbes: 3, keepaliveTime: 7200, keepaliveInterval: 75 } });
  });

  it('outlierDetection → Envoy fields with istiod enforcing percentages, panic threshold from minHealthPercent', () => {
    const c = cluster(withRule({ host: 'reviews', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 7, consecutiveGatewayErrors: 0, interval: '8ms', baseEjectionTime: '1m', maxEjectionPercent: 11 } } }), DEFAULT);
    expect(c.outlierDetection).toEqual({
      enforcingSuccessRate: 0,
      consecutive5xx: 7,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 0,
      enforcingConsecutiveGatewayFailure: 0,
      interval: '0.008s',
      baseEjectionTime: '60s',
      maxEjectionPercent: 11,
    });
    expect(c.commonLbConfig).toEqual({ healthyPanicThreshold: { value: 0 } });
    const local = cluster(withRule({ host: 'reviews', trafficPolicy: { outlierDetection: { splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, minHealthPercent: 40 } } }), DEFAULT);
    expect(local.outlierDetection).toEqual({
      enforcingSuccessRate: 0,
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailure: 2,
      enforcingConsecutiveLocalOriginFailure: 100,
      enforcingLocalOriginSuccessRate: 0,
    });
    expect(local.commonLbConfig?.healthyPanicThreshold).toEqual({ value: 40 });
  });

  it('tls becomes the cluster transport socket (details in mtls-config.test.ts)', () => {
    const c = cluster(withRule({ host: 'reviews', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', sni: 'reviews' } } }), DEFAULT);
    expect(c.transportSocket).toMatchObject({ name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'reviews' } });
  });

  it('portLevelSettings replace the top-level policy for that port (unset blocks fall back to defaults)', () => {
    const r = compile([
      serviceEntry('two', { hosts: ['two.example.com'], ports: [{ number: 80, name: 'http' }, { number: 81, name: 'http-alt' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] }),
      destinationRule('two', {
        host: 'two.example.com',
        trafficPolicy: {
          loadBalancer: { simple: 'RANDOM' },
          connectionPool: { http: { http2MaxRequests: 10 } },
          portLevelSettings: [{ port: { number: 81 }, loadBalancer: { simple: 'ROUND_ROBIN' } }],
        },
      }),
    ]);
    expect(cluster(r, 'outbound|80||two.example.com')).toMatchObject({ lbPolicy: 'RANDOM', circuitBreakers: { thresholds: [{ maxRequests: 10 }] } });
    expect(cluster(r, 'outbound|81||two.example.com')).toMatchObject({ lbPolicy: 'ROUND_ROBIN', circuitBreakers: { thresholds: [UNLIMITED] } });
  });

  it("a subset's trafficPolicy blocks override the rule's whole blocks", () => {
    const r = withRule({
      host: 'reviews',
      trafficPolicy: { loadBalancer: { simple: 'RANDOM' }, connectionPool: { tcp: { maxConnections: 5, connectTimeout: '2s' } }, outlierDetection: { consecutive5xxErrors: 3 } },
      subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { connectionPool: { http: { http2MaxRequests: 7 } } } }],
    });
    const v1 = cluster(r, `outbound|9080|v1|${HOST}`);
    expect(v1.lbPolicy).toBe('RANDOM');
    expect(v1.outlierDetection).toMatchObject({ consecutive5xx: 3 });
    // The subset's connectionPool replaces the rule's: maxConnections and connectTimeout are back to defaults.
    expect(v1.connectTimeout).toBe('10s');
    expect(v1.circuitBreakers?.thresholds?.[0]).toEqual({ ...UNLIMITED, maxRequests: 7 });
  });

  it('looks up rules in the client namespace, then the service namespace, then the root namespace', () => {
    const objs = [
      serviceEntry('svc', { hosts: ['svc.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] }, { namespace: 'owner' }),
      destinationRule('root', { host: 'svc.example.com', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }, { namespace: 'istio-system' }),
      destinationRule('owner', { host: 'svc.example.com', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } }, { namespace: 'owner' }),
      destinationRule('client', { host: 'svc.example.com', trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } }, exportTo: ['.'] }, { namespace: 'client' }),
    ];
    const lbFor = (ns: string, objects = objs) => cluster(compile(objects, client(ns)), 'outbound|80||svc.example.com').lbPolicy;
    expect(lbFor('client')).toBe('LEAST_REQUEST');
    expect(lbFor('elsewhere')).toBe('ROUND_ROBIN');
    expect(lbFor('elsewhere', objs.filter((o) => o.metadata.name !== 'owner'))).toBe('RANDOM');
  });

  it('merges rules for one host: subsets join by unique name, the oldest top-level policy wins', () => {
    const objects = [
      SVC,
      destinationRule('b', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } }, subsets: [{ name: 'v2', labels: { version: 'v2' } }, { name: 'v1', labels: { version: 'nope' } }] }, { creationTimestamp: '2024-05-01T00:00:00Z', line: 30 }),
      destinationRule('a', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] }, { creationTimestamp: '2024-01-01T00:00:00Z' }),
    ];
    const r = compile(objects);
    expect([...r.resources.clusters.keys()]).toEqual([DEFAULT, `outbound|9080|v1|${HOST}`, `outbound|9080|v2|${HOST}`]);
    expect(cluster(r, DEFAULT).lbPolicy).toBe('ROUND_ROBIN');
    expect(endpointAddresses(assignment(r, `outbound|9080|v1|${HOST}`))).toEqual(['10.0.0.1:9080']);
    expect(r.problems).toEqual([]);
    // What the merge leaves out is the analyzers' to report, at the losing rule's fields.
    expect(analyzeMesh(objects).map((p) => `${p.code} ${p.name} ${p.line} ${p.field}`)).toEqual([
      'IST0173 b 34 spec.subsets[1].labels', // version: nope selects nothing (and loses to a's v1 anyway)
      'MSH0002 b 34 spec.subsets[1].name',
      'MSH0002 b 32 spec.trafficPolicy',
    ]);
  });

  it('a rule with a workloadSelector applies only to matching clients of its namespace', () => {
    const objs = [
      SVC,
      destinationRule('all', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
      destinationRule('canary', { host: 'reviews', workloadSelector: { matchLabels: { app: 'canary' } }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } }),
    ];
    expect(cluster(compile(objs, client('default', { app: 'canary' })), DEFAULT).lbPolicy).toBe('ROUND_ROBIN');
    expect(cluster(compile(objs, client('default', { app: 'web' })), DEFAULT).lbPolicy).toBe('RANDOM');
  });

  it('a VirtualService subset resolves against the rule the client sees', () => {
    const r = compile([
      SVC,
      destinationRule('reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }], exportTo: ['.'] }),
      virtualService('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }),
    ], client('other'));
    expect(messages(r)).toEqual([expect.stringMatching(/unknown subset v1/)]);
  });

  it('reports settings that compile to nothing', () => {
    const objects = [
      SVC,
      destinationRule('reviews', { host: 'reviews', trafficPolicy: { outlierDetection: { consecutiveErrors: 5 }, loadBalancer: { simple: 'RANDOM', warmup: { duration: '30s' } } } }),
      destinationRule('ghost', { host: 'ghost.example.com' }),
    ];
    expect(messages(compile(objects))).toEqual([
      expect.stringMatching(/reviews spec.trafficPolicy.outlierDetection.consecutiveErrors: consecutiveErrors is deprecated/),
      expect.stringMatching(/reviews spec.trafficPolicy.loadBalancer.warmup: warmup applies only to ROUND_ROBIN and LEAST_REQUEST/),
    ]);
    expect(findings(objects)).toEqual([expect.stringMatching(/^\[IST0174\] DestinationRule default\/ghost spec.host: The host ghost.example.com defined in the DestinationRule does not match any services in the mesh \(no Service or ServiceEntry declares it\)/)]);
  });
});

describe('locality failover priorities (istiod applyLocalityFailover)', () => {
  const se = serviceEntryWithLocalities();
  function serviceEntryWithLocalities() {
    return serviceEntry('geo', {
      hosts: ['geo.example.com'], resolution: 'STATIC', ports: [{ number: 80, name: 'http' }],
      endpoints: [
        { address: '10.0.0.1', locality: 'us-east/a/1' }, { address: '10.0.0.2', locality: 'us-east/a/2' },
        { address: '10.0.0.3', locality: 'us-east/b' }, { address: '10.0.0.4', locality: 'us-west/c' },
        { address: '10.0.0.5', locality: 'eu/d' },
      ],
    });
  }
  const priorities = (r: ReturnType<typeof compile>) =>
    Object.fromEntries(r.resources.endpoints.get('outbound|80||geo.example.com')!.endpoints!.map((g) => [`${g.locality?.region}/${g.locality?.zone}/${g.locality?.subZone ?? ''}`, g.priority ?? 0]));

  it('orders same subzone, zone, region, failover region, then the rest; only with outlier detection and a known locality', () => {
    const dr = (extra: object) => destinationRule('geo', { host: 'geo.example.com', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 }, ...extra } });
    const withFailover = compile([se, dr({ loadBalancer: { localityLbSetting: { failover: [{ from: 'us-east', to: 'eu' }] } } })], { ...client('default'), locality: 'us-east/a/1' });
    expect(priorities(withFailover)).toEqual({ 'us-east/a/1': 0, 'us-east/a/2': 1, 'us-east/b/': 2, 'eu/d/': 3, 'us-west/c/': 4 });
    const plain = compile([se, dr({})], { ...client('default'), locality: 'us-east/b' });
    expect(priorities(plain)).toEqual({ 'us-east/a/1': 1, 'us-east/a/2': 1, 'us-east/b/': 0, 'eu/d/': 2, 'us-west/c/': 2 });
    const noOutlier = compile([se, destinationRule('geo', { host: 'geo.example.com' })], { ...client('default'), locality: 'us-east/b' });
    expect(Object.values(priorities(noOutlier))).toEqual([0, 0, 0, 0, 0]);
    const noLocality = compile([se, dr({})], client('default'));
    expect(Object.values(priorities(noLocality))).toEqual([0, 0, 0, 0, 0]);
  });
});
