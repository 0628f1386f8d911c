import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../src/xds/resources.ts';
import {
  assignment,
  client,
  cluster,
  compile,
  endpointAddresses,
  messages,
  routeConfig,
  routes,
  serviceEntry,
  staticService,
  workloadEntry,
} from './compile-helpers.ts';

const REVIEWS = 'reviews.default.svc.cluster.local';

describe('compileMesh: services from ServiceEntries', () => {
  it('emits listener, route config, cluster and load assignment per host × port, with istiod names', () => {
    const r = compile([
      serviceEntry('reviews', {
        hosts: [REVIEWS],
        addresses: ['10.96.0.10'],
        ports: [
          { number: 9080, name: 'http', protocol: 'HTTP' },
          { number: 9090, name: 'grpc', protocol: 'GRPC' },
        ],
        resolution: 'STATIC',
        endpoints: [{ address: '10.0.0.1' }],
      }),
    ]);
    expect([...r.resources.listeners.keys()].sort()).toEqual([`${REVIEWS}:9080`, `${REVIEWS}:9090`]);
    const l = r.resources.listeners.get(`${REVIEWS}:9080`);
    expect(l?.address).toEqual({ socketAddress: { address: '10.96.0.10', portValue: 9080 } });
    expect(l?.apiListener?.apiListener).toEqual({
      '@type': TYPE_URL.HttpConnectionManager,
      httpFilters: [
        { name: 'envoy.filters.http.fault', typedConfig: { '@type': TYPE_URL.HTTPFault } },
        { name: 'envoy.filters.http.router', typedConfig: { '@type': TYPE_URL.Router } },
      ],
      rds: { configSource: { ads: {} }, routeConfigName: `outbound|9080||${REVIEWS}` },
    });
    expect([...r.resources.routeConfigs.keys()].sort()).toEqual([`outbound|9080||${REVIEWS}`, `outbound|9090||${REVIEWS}`]);
    expect([...r.resources.clusters.keys()].sort()).toEqual([`outbound|9080||${REVIEWS}`, `outbound|9090||${REVIEWS}`]);
    const c = cluster(r, `outbound|9080||${REVIEWS}`);
    expect(c.type).toBe('EDS');
    expect(c.edsClusterConfig).toEqual({ serviceName: `outbound|9080||${REVIEWS}`, edsConfig: { ads: {} } });
    expect(c.altStatName).toBe(`outbound|9080||${REVIEWS};`);
    expect(assignment(r, `outbound|9080||${REVIEWS}`).clusterName).toBe(`outbound|9080||${REVIEWS}`);
    expect(r.problems).toEqual([]);
  });

  it('uses 0.0.0.0 as the listener address of a service without addresses', () => {
    const r = compile([staticService(REVIEWS, 9080)]);
    expect(r.resources.listeners.get(`${REVIEWS}:9080`)?.address?.socketAddress?.address).toBe('0.0.0.0');
  });

  it('names one virtual host <fqdn>:<port> with the short names of a same-namespace client', () => {
    const r = compile([staticService(REVIEWS, 9080)], client('default'));
    const vh = routeConfig(r, `outbound|9080||${REVIEWS}`).virtualHosts?.[0];
    expect(vh?.name).toBe(`${REVIEWS}:9080`);
    expect(vh?.domains).toEqual([
      REVIEWS,
      `${REVIEWS}:9080`,
      `${REVIEWS}.`,
      `${REVIEWS}.:9080`,
      'reviews',
      'reviews:9080',
      'reviews.default.svc',
      'reviews.default.svc:9080',
      'reviews.default',
      'reviews.default:9080',
    ]);
    expect(vh?.includeRequestAttemptCount).toBe(true);
  });

  it('gives a client in another namespace only name.ns and name.ns.svc aliases', () => {
    const r = compile([staticService(REVIEWS, 9080)], client('shop'));
    expect(routeConfig(r, `outbound|9080||${REVIEWS}`).virtualHosts?.[0]?.domains).toEqual([
      REVIEWS,
      `${REVIEWS}:9080`,
      `${REVIEWS}.`,
      `${REVIEWS}.:9080`,
      'reviews.default',
      'reviews.default:9080',
      'reviews.default.svc',
      'reviews.default.svc:9080',
    ]);
  });

  it('adds no short names for non-Kubernetes hosts, but adds the service addresses', () => {
    const r = compile([
      serviceEntry('api', { hosts: ['api.example.com'], addresses: ['240.0.0.1'], ports: [{ number: 443, name: 'https', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '1.2.3.4' }] }),
    ]);
    expect(routeConfig(r, 'outbound|443||api.example.com').virtualHosts?.[0]?.domains).toEqual([
      'api.example.com',
      'api.example.com:443',
      'api.example.com.',
      'api.example.com.:443',
      '240.0.0.1',
      '240.0.0.1:443',
    ]);
  });

  it('gives a service without VirtualService one default route with istiod defaults', () => {
    const r = compile([staticService(REVIEWS, 9080)]);
    expect(routes(r, `outbound|9080||${REVIEWS}`)).toEqual([
      {
        name: 'default',
        match: { prefix: '/' },
        decorator: { operation: `${REVIEWS}:9080/*` },
        route: {
          cluster: `outbound|9080||${REVIEWS}`,
          timeout: '0s',
          maxGrpcTimeout: '0s',
          retryPolicy: {
            retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
            numRetries: 2,
            hostSelectionRetryMaxAttempts: 5,
            retryHostPredicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typedConfig: { '@type': TYPE_URL.PreviousHostsPredicate } }],
          },
        },
      },
    ]);
  });

  it('resolves endpoint ports: endpoint port by name, else targetPort, else the service port', () => {
    const r = compile([
      serviceEntry('multi', {
        hosts: ['multi.example.com'],
        ports: [
          { number: 80, name: 'http', protocol: 'HTTP' },
          { number: 81, name: 'admin', protocol: 'HTTP', targetPort: 9081 },
          { number: 82, name: 'plain', protocol: 'HTTP' },
        ],
        resolution: 'STATIC',
        endpoints: [{ address: '10.0.0.1', ports: { http: 8080 } }],
      }),
    ]);
    expect(endpointAddresses(assignment(r, 'outbound|80||multi.example.com'))).toEqual(['10.0.0.1:8080']);
    expect(endpointAddresses(assignment(r, 'outbound|81||multi.example.com'))).toEqual(['10.0.0.1:9081']);
    expect(endpointAddresses(assignment(r, 'outbound|82||multi.example.com'))).toEqual(['10.0.0.1:82']);
  });

  it('groups endpoints by locality (sorted), weights them, keeps labels in metadata, marks them HEALTHY', () => {
    const r = compile([
      serviceEntry('w', {
        hosts: ['weighted.static.svc.cluster.local'],
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        resolution: 'STATIC',
        endpoints: [
          { address: '3.3.3.3', locality: 'us-east/zone-b' },
          { address: '2.2.2.2', locality: 'us-east/zone-b', weight: 8, labels: { version: 'v2', app: 'w' } },
          { address: '1.1.1.1', locality: 'eu-west/zone-a/rack1', weight: 3, serviceAccount: 'w-sa' },
        ],
      }),
    ]);
    const cla = assignment(r, 'outbound|80||weighted.static.svc.cluster.local');
    expect(cla.endpoints?.map((l) => [l.locality, l.loadBalancingWeight])).toEqual([
      [{ region: 'eu-west', zone: 'zone-a', subZone: 'rack1' }, 3],
      [{ region: 'us-east', zone: 'zone-b' }, 9],
    ]);
    const ep = cla.endpoints?.[1]?.lbEndpoints?.[1];
    expect(ep).toEqual({
      endpoint: { address: { socketAddress: { address: '2.2.2.2', portValue: 80 } } },
      healthStatus: 'HEALTHY',
      loadBalancingWeight: 8,
      metadata: { filterMetadata: { istio: { workload: 'w-1;default;w;v2;Kubernetes' }, meshlet: { labels: { version: 'v2', app: 'w' } } } },
    });
    // A service account means the endpoint takes Istio mTLS, as istiod marks it.
    expect(cla.endpoints?.[0]?.lbEndpoints?.[0]?.metadata?.filterMetadata?.['envoy.transport_socket_match']).toEqual({ tlsMode: 'istio' });
    expect(cla.endpoints?.[1]?.lbEndpoints?.[0]?.loadBalancingWeight).toBe(1);
  });

  it('adds WorkloadEntries of the same namespace selected by workloadSelector', () => {
    const r = compile([
      serviceEntry('vm', { hosts: ['vm.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', workloadSelector: { labels: { app: 'vm' } } }, { namespace: 'prod' }),
      workloadEntry('vm-1', { address: '10.1.0.1', labels: { app: 'vm' }, ports: { http: 8000 } }, { namespace: 'prod' }),
      workloadEntry('vm-2', { address: '10.1.0.2', labels: { app: 'other' } }, { namespace: 'prod' }),
      workloadEntry('vm-3', { address: '10.1.0.3', labels: { app: 'vm' } }, { namespace: 'elsewhere' }),
    ]);
    const cla = assignment(r, 'outbound|80||vm.example.com');
    expect(endpointAddresses(cla)).toEqual(['10.1.0.1:8000']);
    expect(cla.endpoints?.[0]?.lbEndpoints?.[0]?.metadata?.filterMetadata?.['istio']).toEqual({ workload: 'vm-1;prod;vm;;Kubernetes' });
  });

  it('resolves a short ServiceEntry host in the entry namespace', () => {
    const r = compile([serviceEntry('ratings', { hosts: ['ratings'], ports: [{ number: 9080, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.9' }] }, { namespace: 'shop' })]);
    expect(r.resources.listeners.has('ratings.shop.svc.cluster.local:9080')).toBe(true);
  });

  it('writes DNS services as the sidecar does: STRICT_DNS / LOGICAL_DNS with endpoints inline, the host itself when none are listed', () => {
    const r = compile([
      serviceEntry('ext', { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS', location: 'MESH_EXTERNAL' }),
      serviceEntry('rr', { hosts: ['rr.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'a.example.com' }, { address: 'b.example.com', ports: { http: 8080 } }] }),
    ]);
    const ext = cluster(r, 'outbound|443||api.example.com');
    expect(ext.type).toBe('STRICT_DNS');
    expect(ext.edsClusterConfig).toBeUndefined();
    expect(endpointAddresses(ext.loadAssignment!)).toEqual(['api.example.com:443']);
    expect(r.resources.endpoints.has('outbound|443||api.example.com')).toBe(false);
    const rr = cluster(r, 'outbound|80||rr.example.com');
    expect(rr.type).toBe('LOGICAL_DNS');
    expect(endpointAddresses(rr.loadAssignment!)).toEqual(['a.example.com:80', 'b.example.com:8080']);
  });

  it('writes resolution NONE as ORIGINAL_DST with CLUSTER_PROVIDED balancing', () => {
    const r = compile([serviceEntry('pt', { hosts: ['*.wiki.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 }], resolution: 'NONE' })]);
    const c = cluster(r, 'outbound|80||*.wiki.example.com');
    expect(c.type).toBe('ORIGINAL_DST');
    expect(c.lbPolicy).toBe('CLUSTER_PROVIDED');
    expect(c.originalDstLbConfig).toEqual({ upstreamPortOverride: 8080 });
    expect(r.resources.listeners.has('*.wiki.example.com:80')).toBe(true);
  });

  it('gives non-HTTP ports a plain default route to the default cluster, without HTTP retries', () => {
    const r = compile([serviceEntry('db', { hosts: ['db.example.com'], ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.5' }] })]);
    const [route] = routes(r, 'outbound|5432||db.example.com');
    expect(route?.route?.cluster).toBe('outbound|5432||db.example.com');
    expect(route?.route?.retryPolicy).toBeUndefined();
  });

  it('honours ServiceEntry exportTo', () => {
    const objs = [
      serviceEntry('priv', { hosts: ['priv.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }], exportTo: ['.'] }, { namespace: 'a' }),
      serviceEntry('named', { hosts: ['named.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.2' }], exportTo: ['b'] }, { namespace: 'a' }),
      serviceEntry('hidden', { hosts: ['hidden.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.3' }], exportTo: ['~'] }, { namespace: 'a' }),
    ];
    const inA = compile(objs, client('a'));
    expect([...inA.resources.clusters.keys()]).toEqual(['outbound|80||priv.example.com']);
    const inB = compile(objs, client('b'));
    expect([...inB.resources.clusters.keys()]).toEqual(['outbound|80||named.example.com']);
  });

  it('prefers the client namespace, then the oldest entry, when a host is declared twice', () => {
    const objs = [
      serviceEntry('old', { hosts: ['dup.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] }, { namespace: 'x', creationTimestamp: '2024-01-01T00:00:00Z' }),
      serviceEntry('new', { hosts: ['dup.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.2' }] }, { namespace: 'y', creationTimestamp: '2025-01-01T00:00:00Z', line: 20 }),
    ];
    const other = compile(objs, client('z'));
    expect(endpointAddresses(assignment(other, 'outbound|80||dup.example.com'))).toEqual(['10.0.0.1:80']);
    expect(messages(other)).toEqual([expect.stringContaining('ServiceEntry y/new spec.hosts: host dup.example.com is also declared in namespace x')]);
    const inY = compile(objs, client('y'));
    expect(endpointAddresses(assignment(inY, 'outbound|80||dup.example.com'))).toEqual(['10.0.0.2:80']);
  });

  it('merges ports and endpoints of ServiceEntries for one host in one namespace', () => {
    const r = compile([
      serviceEntry('a', { hosts: ['m.example.com'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] }, { creationTimestamp: '2024-01-01T00:00:00Z' }),
      serviceEntry('b', { hosts: ['m.example.com'], ports: [{ number: 80, name: 'http' }, { number: 81, name: 'http2' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.2' }] }, { creationTimestamp: '2024-02-01T00:00:00Z' }),
    ]);
    expect(endpointAddresses(assignment(r, 'outbound|80||m.example.com'))).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(r.resources.clusters.has('outbound|81||m.example.com')).toBe(true);
  });
});
