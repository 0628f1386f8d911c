// Seeds for the fuzzers: one Istio config that uses most of what the loader and compiler
// understand (matches of every kind, weights, retries, timeouts, faults, mirrors, rewrites,
// redirects, header changes, subsets, balancers, pools, outlier detection, TLS, consistent
// hashing, DNS and static ServiceEntries, WorkloadEntries, PeerAuthentication), its compiled
// xDS resources, and the project's Istio fixture corpus (tests/fixtures/istio: valid and invalid
// documents of every kind, and CRD sets). Mutating real, rich inputs reaches far deeper into the
// decoders and validators than random bytes do.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../../packages/core/src/istio/load/load-yaml.ts';
import { compileMesh } from '../../../packages/core/src/istio/compile/compile-mesh.ts';
import { Mesh, resolveIdentity, silentLogger, type XdsResources } from '../../../packages/core/src/index.ts';

export const SEED_YAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }, { number: 9443, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 10.0.0.1, ports: { http: 9080 }, labels: { version: v1 }, locality: us-east/a, weight: 2 }
    - { address: 10.0.0.2, ports: { http: 9081 }, labels: { version: v2 }, locality: us-west/b }
    - { address: 10.0.0.3, labels: { version: v3 }, serviceAccount: reviews }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external, namespace: default }
spec:
  hosts: [api.example.com, www.example.org]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{ number: 443, name: https, protocol: TLS }, { number: 80, name: http, protocol: HTTP }]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-1, namespace: default, labels: { app: ratings } }
spec: { address: 10.0.1.1, labels: { app: ratings, version: v1 }, ports: { http: 8080 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: default }
spec:
  hosts: [ratings.default.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP, targetPort: 8080 }]
  resolution: STATIC
  workloadSelector: { labels: { app: ratings } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
      localityLbSetting: { enabled: true, failover: [{ from: us-east, to: us-west }] }
    connectionPool:
      tcp: { maxConnections: 100, connectTimeout: 2s }
      http: { http1MaxPendingRequests: 10, http2MaxRequests: 50, maxRequestsPerConnection: 5, maxRetries: 3, idleTimeout: 30s }
    outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 20 }
    tls: { mode: ISTIO_MUTUAL }
    portLevelSettings:
      - port: { number: 9443 }
        loadBalancer: { consistentHash: { httpHeaderName: x-user, ringHash: { minimumRingSize: 1024 } } }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 }, trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } } }
    - { name: v3, labels: { version: v3 }, trafficPolicy: { loadBalancer: { consistentHash: { maglev: { tableSize: 65537 }, httpCookie: { name: sess, ttl: 10s } } } } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: external, namespace: default }
spec:
  host: api.example.com
  trafficPolicy: { tls: { mode: SIMPLE, sni: api.example.com }, loadBalancer: { simple: RANDOM } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
    - name: jason
      match:
        - headers: { end-user: { exact: jason }, x-canary: { regex: "^(on|yes)$" } }
          uri: { prefix: /api }
          ignoreUriCase: true
        - queryParams: { debug: { exact: "1" } }
          withoutHeaders: { x-skip: {} }
      route: [{ destination: { host: reviews, subset: v2 } }]
      headers:
        request: { set: { x-route: jason }, add: { x-trace: "1" }, remove: [x-internal] }
        response: { set: { x-served-by: v2 } }
    - name: regex
      match: [{ uri: { regex: "/reviews/[0-9]+" }, method: { exact: GET } }]
      rewrite: { uri: /r/ }
      route: [{ destination: { host: reviews, subset: v1 } }]
      timeout: 2s
      retries: { attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,reset,connect-failure,503", retryRemoteLocalities: true }
    - name: faulty
      match: [{ uri: { exact: /fault } }]
      fault:
        delay: { fixedDelay: 5ms, percentage: { value: 50 } }
        abort: { httpStatus: 503, percentage: { value: 10.5 } }
      route: [{ destination: { host: reviews, subset: v3 } }]
    - name: moved
      match: [{ uri: { prefix: /old } }]
      redirect: { uri: /new, authority: reviews.default, redirectCode: 301 }
    - name: split
      route:
        - { destination: { host: reviews, subset: v1, port: { number: 9080 } }, weight: 70, headers: { request: { set: { x-w: "70" } } } }
        - { destination: { host: reviews, subset: v3 }, weight: 30 }
      mirror: { host: reviews, subset: v2 }
      mirrorPercentage: { value: 5 }
      retries: { attempts: 0 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: external, namespace: default }
spec:
  hosts: [api.example.com]
  http:
    - match: [{ authority: { prefix: api } }]
      route: [{ destination: { host: api.example.com, port: { number: 80 } } }]
      timeout: 100ms
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: reviews, namespace: default }
spec: { selector: { matchLabels: { app: reviews } }, mtls: { mode: STRICT }, portLevelMtls: { 9080: { mode: PERMISSIVE } } }
`;

const FIXTURES = join(import.meta.dirname, '../../fixtures/istio');

/** Seed texts as [file, text], split by whether they load: what the text fuzzer starts from. */
export interface SeedTexts {
  /** The seed config, each CRD set (config-*.yaml) whole, each valid validation document. */
  loading: [string, string][];
  /** Each invalid validation document: every one holds an error Istio rejects. */
  rejected: [string, string][];
}

/**
 * The seed config plus the fixture corpus. CRD sets stay whole, since their objects refer to
 * each other; validation documents go one by one, as Istio validates them, which also keeps
 * every mutated input small, so 16k of them stay quick.
 */
export function seedTexts(): SeedTexts {
  const out: SeedTexts = { loading: [['seed.yaml', SEED_YAML]], rejected: [] };
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.yaml')).sort()) {
    const text = readFileSync(join(FIXTURES, f), 'utf8');
    if (!f.startsWith('validation-')) { out.loading.push([f, text]); continue; }
    const docs = text.split(/^---[ \t]*$/m).filter((d) => /^[a-z]/im.test(d));
    docs.forEach((doc, i) => (f.endsWith('-invalid.yaml') ? out.rejected : out.loading).push([`${f}#${i}`, doc]));
  }
  return out;
}

export function newMesh(): Mesh {
  return new Mesh(resolveIdentity({ namespace: 'default' }), silentLogger);
}

/** The xDS resources the seed config compiles to (for the client in namespace default). */
export function seedResources(): XdsResources {
  const loaded = parseConfigText(SEED_YAML, 'seed.yaml');
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new Error(`seed config has errors: ${JSON.stringify(errors)}`);
  const mesh = newMesh();
  const compiled = compileMesh(loaded.objects, mesh.identity);
  void mesh.close();
  return compiled.resources;
}
