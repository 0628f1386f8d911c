// The mesh every client of the compatibility matrix is driven through: real servers on
// 127.0.0.1, real certificates, and Istio YAML giving each feature its own service.
//   web       header route (x-to: b → subset b), a rewrite route (/v2/* → b at /*, with a
//             request header set), /slow (route timeout 200 ms), /abort (fault abort 503),
//             /delay (fault delay 300 ms), and an 80/20 split of everything else
//   flaky     a dead endpoint beside a live one (Istio's default retries: connect-failure)
//   retry5xx  an endpoint answering 503 beside a live one, retries on 5xx
//   guarded   http2MaxRequests: 1 in front of a slow endpoint (circuit breaker)
//   ejecting  an endpoint answering 503 beside a live one, consecutive5xxErrors: 1
//   secure    ISTIO_MUTUAL to a server holding the identity the DestinationRule names
//   imposter  ISTIO_MUTUAL to a server holding another identity than the one named
// Used by the per-client matrix files and by the `--import` tests (which run an app unchanged).

import { createServer as createHttpsServer, type Server } from 'node:https';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { spiffeIdOf } from '@meshlet/core';
import { startServer, type TestServer } from '../helpers/servers.ts';
import { createPki, id, type Pki } from '../helpers/mtls.ts';
import { freePort } from '../helpers/haproxy.ts';

export interface World {
  servers: Record<'a' | 'b' | 'slow' | 'flakyOk' | 'bad' | 'ok' | 'held' | 'ejBad' | 'ejGood', TestServer>;
  /** The folder of Istio YAML. */
  config: string;
  /** The client workload's certificates (istio-agent layout), identity `client`. */
  clientCerts: string;
  clientId: string;
  close(): Promise<void>;
}

interface TlsUpstream { port: number; close(): Promise<void> }

/** An mTLS server with a workload identity; answers with the caller's SPIFFE ID. */
async function tlsUpstream(certDir: string): Promise<TlsUpstream> {
  const read = (f: string) => readFileSync(join(certDir, f), 'utf8');
  const server: Server = createHttpsServer({ key: read('key.pem'), cert: read('cert-chain.pem'), ca: read('root-cert.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    res.end(spiffeIdOf((req.socket as TLSSocket).getPeerCertificate().subjectaltname) ?? 'anonymous');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const ep = (port: number, labels = '') => `    - { address: 127.0.0.1, ports: { http: ${port} }${labels} }`;

function service(name: string, endpoints: string[], extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
${endpoints.join('\n')}
${extra}---
`;
}

function rule(host: string, trafficPolicy: string, subsets = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host}, namespace: default }
spec:
  host: ${host}
  trafficPolicy:
${trafficPolicy}
${subsets}---
`;
}

function routes(host: string, http: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${host}, namespace: default }
spec:
  hosts: [${host}]
  http:
${http}
---
`;
}

export async function startWorld(root: string): Promise<World> {
  const pki: Pki = createPki();
  const clientCerts = pki.issue('client', 'client');
  const secure = await tlsUpstream(pki.issue('secure', 'secure'));
  const imposter = await tlsUpstream(pki.issue('imposter', 'imposter'));
  const servers = {
    a: await startServer('a'),
    b: await startServer('b'),
    slow: await startServer('slow', (_req, res) => { setTimeout(() => res.end('slow'), 1500); }),
    flakyOk: await startServer('flaky-ok'),
    bad: await startServer('bad', (_req, res) => { res.statusCode = 503; res.end('bad'); }),
    ok: await startServer('ok'),
    held: await startServer('held', (_req, res) => { setTimeout(() => res.end('held'), 400); }),
    ejBad: await startServer('ej-bad', (_req, res) => { res.statusCode = 503; res.end('ej-bad'); }),
    ejGood: await startServer('ej-good'),
  };
  const dead = await freePort();
  const config = join(root, 'mesh');
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, 'mesh.yaml'), [
    service('web', [ep(servers.a.port, ', labels: { v: a }'), ep(servers.b.port, ', labels: { v: b }'), ep(servers.slow.port, ', labels: { v: slow }')]),
    rule('web', '    loadBalancer: { simple: ROUND_ROBIN }', `  subsets:
  - { name: a, labels: { v: a } }
  - { name: b, labels: { v: b } }
  - { name: slow, labels: { v: slow } }
`),
    routes('web', `  - match: [{ headers: { x-to: { exact: b } } }]
    route: [{ destination: { host: web, subset: b } }]
  - match: [{ uri: { prefix: /v2/ } }]
    rewrite: { uri: / }
    headers: { request: { set: { x-mesh: rewritten } } }
    route: [{ destination: { host: web, subset: b } }]
  - match: [{ uri: { prefix: /slow } }]
    timeout: 200ms
    route: [{ destination: { host: web, subset: slow } }]
  - match: [{ uri: { prefix: /abort } }]
    fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }
    route: [{ destination: { host: web, subset: a } }]
  - match: [{ uri: { prefix: /delay } }]
    fault: { delay: { fixedDelay: 300ms, percentage: { value: 100 } } }
    route: [{ destination: { host: web, subset: a } }]
  - route:
    - { destination: { host: web, subset: a }, weight: 80 }
    - { destination: { host: web, subset: b }, weight: 20 }`),
    service('flaky', [ep(dead), ep(servers.flakyOk.port)]),
    rule('flaky', '    loadBalancer: { simple: ROUND_ROBIN }'),
    service('retry5xx', [ep(servers.bad.port), ep(servers.ok.port)]),
    rule('retry5xx', '    loadBalancer: { simple: ROUND_ROBIN }'),
    routes('retry5xx', `  - retries: { attempts: 3, retryOn: 5xx }
    route: [{ destination: { host: retry5xx } }]`),
    service('guarded', [ep(servers.held.port)]),
    rule('guarded', '    connectionPool: { http: { http2MaxRequests: 1 } }'),
    service('ejecting', [ep(servers.ejBad.port), ep(servers.ejGood.port)]),
    rule('ejecting', `    loadBalancer: { simple: ROUND_ROBIN }
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }`),
    routes('ejecting', `  - retries: { attempts: 0 }
    route: [{ destination: { host: ejecting } }]`),
    service('secure', [ep(secure.port)]),
    rule('secure', `    tls: { mode: ISTIO_MUTUAL, subjectAltNames: ['${id('secure')}'] }`),
    service('imposter', [ep(imposter.port)]),
    rule('imposter', `    tls: { mode: ISTIO_MUTUAL, subjectAltNames: ['${id('secure')}'] }`),
  ].join(''));
  return {
    servers,
    config,
    clientCerts,
    clientId: id('client'),
    async close() {
      await Promise.all([...Object.values(servers).map((s) => s.close()), secure.close(), imposter.close()]);
      pki.cleanup();
      rmSync(config, { recursive: true, force: true });
    },
  };
}

/** Every error code and message along an error's causes (clients wrap errors each their own way). */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || seen.has(e) || depth > 6) return;
    seen.add(e);
    const o = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.code === 'string') parts.push(o.code);
    if (typeof o.message === 'string') parts.push(o.message);
    walk(o.cause, depth + 1);
    if (Array.isArray(o.errors)) for (const x of o.errors) walk(x, depth + 1);
  };
  walk(err, 0);
  return parts.join(' | ');
}
