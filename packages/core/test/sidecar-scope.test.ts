// Sidecar scoping as istiod's SidecarScope works: which Sidecar applies to a client, which
// services and VirtualServices its egress hosts import (ports, wildcards, exclusions, the
// destinations of selected routes), where hosts outside go (its outboundTrafficPolicy over the
// mesh's), for ServiceEntries and Kubernetes Services alike — and what the config dump and
// explain() say about a host it hides.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatProblem } from '../src/config-error.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { Mesh } from '../src/mesh.ts';
import { resolveIdentity } from '../src/identity.ts';
import { silentLogger } from '../src/logger.ts';
import { requestView } from '../src/router/request-view.ts';
import type { MeshObject, Sidecar, SidecarSpec } from '../src/istio/types.ts';
import { optionMeshConfig } from '../src/istio/load/load-mesh-config.ts';
import { client, compile, serviceEntry, sourceRef, staticService, virtualService, routes } from './compile-helpers.ts';

function sidecar(name: string, namespace: string, spec: SidecarSpec, created?: string): Sidecar {
  return { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name, namespace, ...(created && { creationTimestamp: created }) }, spec, source: sourceRef() };
}

const svc = (name: string, ns: string, port = 9080, extra: Partial<Parameters<typeof serviceEntry>[1]> = {}) =>
  serviceEntry(`${name}-${ns}`, { hosts: [`${name}.${ns}.svc.cluster.local`], ports: [{ number: port, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }], ...extra }, { namespace: ns });

const listeners = (objects: MeshObject[], who = client('shop')) => [...compile(objects, who).resources.listeners.keys()].sort();

const MESH = [svc('cart', 'shop'), svc('pay', 'shop'), svc('reviews', 'books'), svc('ratings', 'books'), svc('auth', 'istio-system')];

describe('which Sidecar applies', () => {
  const own = sidecar('default', 'shop', { egress: [{ hosts: ['./*'] }] });
  const root = sidecar('default', 'istio-system', { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
  const selecting = sidecar('cart-only', 'shop', { workloadSelector: { labels: { app: 'cart' } }, egress: [{ hosts: ['books/reviews.books.svc.cluster.local'] }] });

  it('a workloadSelector matching the client first, then the namespace default, then the root namespace\'s', () => {
    const r = compile([...MESH, own, root, selecting], client('shop', { app: 'cart' }));
    expect(r.scope?.sidecar).toBe('shop/cart-only');
    expect([...r.resources.listeners.keys()]).toEqual(['reviews.books.svc.cluster.local:9080']);
    expect(compile([...MESH, own, root, selecting], client('shop', { app: 'pay' })).scope?.sidecar).toBe('shop/default');
    // The root namespace's default reads `.` as the client's namespace.
    const viaRoot = compile([...MESH, root, selecting], client('shop', { app: 'pay' }));
    expect(viaRoot.scope?.sidecar).toBe('istio-system/default');
    expect([...viaRoot.resources.listeners.keys()].sort()).toEqual(['auth.istio-system.svc.cluster.local:9080', 'cart.shop.svc.cluster.local:9080', 'pay.shop.svc.cluster.local:9080']);
    // A root Sidecar with a selector is not a default; no Sidecar at all: no scoping.
    const rootSelecting = sidecar('x', 'istio-system', { workloadSelector: { labels: { app: 'pay' } }, egress: [{ hosts: ['./*'] }] });
    expect(compile([...MESH, rootSelecting], client('shop', { app: 'pay' })).scope).toBeUndefined();
    expect(listeners(MESH)).toHaveLength(5);
  });

  it('the oldest of two matching Sidecars wins', () => {
    const older = sidecar('older', 'shop', { workloadSelector: { labels: { app: 'cart' } }, egress: [{ hosts: ['books/*'] }] }, '2024-01-01T00:00:00Z');
    const newer = sidecar('newer', 'shop', { workloadSelector: { labels: { app: 'cart' } }, egress: [{ hosts: ['./*'] }] }, '2025-01-01T00:00:00Z');
    expect(compile([...MESH, newer, older], client('shop', { app: 'cart' })).scope?.sidecar).toBe('shop/older');
  });
});

describe('egress hosts', () => {
  const scoped = (hosts: string[], extra: SidecarSpec = {}) => listeners([...MESH, sidecar('default', 'shop', { egress: [{ hosts }], ...extra })]);

  it('./*, ns/*, */*, ns/host, */host, wildcards', () => {
    expect(scoped(['./*'])).toEqual(['cart.shop.svc.cluster.local:9080', 'pay.shop.svc.cluster.local:9080']);
    expect(scoped(['books/*'])).toEqual(['ratings.books.svc.cluster.local:9080', 'reviews.books.svc.cluster.local:9080']);
    expect(scoped(['*/*'])).toHaveLength(5);
    expect(scoped(['books/reviews.books.svc.cluster.local', 'shop/cart.shop.svc.cluster.local'])).toEqual(['cart.shop.svc.cluster.local:9080', 'reviews.books.svc.cluster.local:9080']);
    // `ns/host` only in that namespace; `*/host` in any.
    expect(scoped(['shop/reviews.books.svc.cluster.local'])).toEqual([]);
    expect(scoped(['*/reviews.books.svc.cluster.local'])).toEqual(['reviews.books.svc.cluster.local:9080']);
    expect(scoped(['*/*.books.svc.cluster.local'])).toEqual(['ratings.books.svc.cluster.local:9080', 'reviews.books.svc.cluster.local:9080']);
  });

  it('~ excludes: ~ns/*, ~ns/host, ~/host (any namespace), and ~/* trims everything', () => {
    expect(scoped(['*/*', '~books/*'])).toEqual(['auth.istio-system.svc.cluster.local:9080', 'cart.shop.svc.cluster.local:9080', 'pay.shop.svc.cluster.local:9080']);
    expect(scoped(['*/*', '~books/ratings.books.svc.cluster.local'])).toHaveLength(4);
    expect(scoped(['books/*', '~/ratings.books.svc.cluster.local'])).toEqual(['reviews.books.svc.cluster.local:9080']);
    expect(scoped(['~/*'])).toEqual([]);
  });

  it('a listener with a port imports that port only; the catch-all every port', () => {
    const multi = serviceEntry('multi', { hosts: ['multi.books.svc.cluster.local'], ports: [{ number: 9080, name: 'http' }, { number: 9090, name: 'admin' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.2' }] }, { namespace: 'books' });
    const one = sidecar('default', 'shop', { egress: [{ port: { number: 9090, protocol: 'HTTP', name: 'admin' }, hosts: ['books/*'] }] });
    expect(listeners([multi, one])).toEqual(['multi.books.svc.cluster.local:9090']);
    const both = sidecar('default', 'shop', { egress: [{ port: { number: 9090, protocol: 'HTTP', name: 'admin' }, hosts: ['books/*'] }, { hosts: ['books/multi.books.svc.cluster.local'] }] });
    expect(listeners([multi, both])).toEqual(['multi.books.svc.cluster.local:9080', 'multi.books.svc.cluster.local:9090']);
    const compiled = compile([multi, one], client('shop'));
    expect([...compiled.resources.clusters.keys()]).toEqual(['outbound|9090||multi.books.svc.cluster.local']);
  });

  it('a host declared in two namespaces comes from the one imported', () => {
    const a = serviceEntry('a', { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.5' }] }, { namespace: 'books', creationTimestamp: '2020-01-01T00:00:00Z' });
    const b = serviceEntry('b', { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.6' }] }, { namespace: 'partners', creationTimestamp: '2021-01-01T00:00:00Z' });
    const r = compile([a, b, sidecar('default', 'shop', { egress: [{ hosts: ['partners/*'] }] })], client('shop'));
    expect(JSON.stringify(r.resources.endpoints.get('outbound|443||api.example.com'))).toContain('10.0.0.6');
    // Without the Sidecar the oldest declaration wins.
    expect(JSON.stringify(compile([a, b], client('shop')).resources.endpoints.get('outbound|443||api.example.com'))).toContain('10.0.0.5');
  });

  it('applies to Kubernetes Services as to ServiceEntries', () => {
    const kube = parseConfigText(`apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: books }
spec: { clusterIP: 10.96.0.13, ports: [{ name: http, port: 9080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: cart, namespace: shop }
spec: { clusterIP: 10.96.0.14, ports: [{ name: http, port: 8080 }] }
`, 'k.yaml').objects;
    const r = compile([...kube, sidecar('default', 'shop', { egress: [{ hosts: ['./*'] }] })], client('shop'));
    expect([...r.resources.listeners.keys()]).toEqual(['cart.shop.svc.cluster.local:8080']);
    expect(Object.fromEntries(r.scope!.outOfScope)).toEqual({ 'reviews.books.svc.cluster.local': 'books' });
  });
});

describe('VirtualServices under a Sidecar', () => {
  const routeToReviews = virtualService('to-reviews', {
    hosts: ['cart.shop.svc.cluster.local'],
    http: [{ match: [{ uri: { prefix: '/reviews' } }], route: [{ destination: { host: 'reviews.books.svc.cluster.local' } }] }, { route: [{ destination: { host: 'cart.shop.svc.cluster.local' } }] }],
  }, { namespace: 'shop' });
  const books = virtualService('reviews', { hosts: ['reviews.books.svc.cluster.local'], http: [{ timeout: '2s', route: [{ destination: { host: 'reviews.books.svc.cluster.local' } }] }] }, { namespace: 'books' });

  it('a selected route\'s destination is imported for its cluster, not as a service of its own', () => {
    const r = compile([...MESH, routeToReviews, books, sidecar('default', 'shop', { egress: [{ hosts: ['./*'] }] })], client('shop'));
    expect([...r.resources.listeners.keys()].sort()).toEqual(['cart.shop.svc.cluster.local:9080', 'pay.shop.svc.cluster.local:9080']);
    expect(r.resources.clusters.has('outbound|9080||reviews.books.svc.cluster.local')).toBe(true);
    expect(r.resources.clusters.has('outbound|9080||ratings.books.svc.cluster.local')).toBe(false);
    expect(routes(r, 'outbound|9080||cart.shop.svc.cluster.local')[0]!.route!.cluster).toBe('outbound|9080||reviews.books.svc.cluster.local');
  });

  it('a VirtualService of a namespace the Sidecar does not import is not applied', () => {
    const sc = sidecar('default', 'shop', { egress: [{ hosts: ['./*', 'books/reviews.books.svc.cluster.local'] }] });
    // books/reviews imported by name: its VirtualService in books is selected too.
    expect(routes(compile([...MESH, books, sc], client('shop')), 'outbound|9080||reviews.books.svc.cluster.local')[0]!.route!.timeout).toBe('2s');
    // The same VirtualService written in another namespace is not imported by books/... entries.
    const elsewhere = virtualService('reviews', { hosts: ['reviews.books.svc.cluster.local'], http: [{ timeout: '5s', route: [{ destination: { host: 'reviews.books.svc.cluster.local' } }] }] }, { namespace: 'ops' });
    expect(routes(compile([...MESH, elsewhere, sc], client('shop')), 'outbound|9080||reviews.books.svc.cluster.local')[0]!.route!.timeout).toBe('0s');
  });
});

describe('outbound traffic policy', () => {
  const registryOnly = optionMeshConfig({ outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }).object!;

  it('the Sidecar\'s overrides the mesh\'s, both ways; no mode in a Sidecar means REGISTRY_ONLY', () => {
    expect(compile([...MESH]).outbound).toEqual({ mode: 'ALLOW_ANY', origin: 'default', egressCluster: undefined });
    expect(compile([...MESH, registryOnly]).outbound).toEqual({ mode: 'REGISTRY_ONLY', origin: 'MeshConfig createMesh({ meshConfig })', egressCluster: undefined });
    const allow = sidecar('default', 'shop', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } });
    expect(compile([...MESH, registryOnly, allow], client('shop')).outbound).toEqual({ mode: 'ALLOW_ANY', origin: 'Sidecar shop/default', egressCluster: undefined });
    expect(compile([...MESH, sidecar('default', 'shop', { outboundTrafficPolicy: {} })], client('shop')).outbound.mode).toBe('REGISTRY_ONLY');
    // An outbound policy alone does not scope services.
    expect([...compile([...MESH, allow], client('shop')).resources.listeners.keys()]).toHaveLength(5);
  });

  it('egressProxy names the cluster hosts outside the registry go to, and warns when it is not in scope', () => {
    const egress = svc('egress', 'istio-system', 80);
    const sc = sidecar('default', 'shop', { egress: [{ hosts: ['./*', 'istio-system/*'] }], outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'egress.istio-system.svc.cluster.local', port: { number: 80 } } } });
    const r = compile([...MESH, egress, sc], client('shop'));
    expect(r.outbound).toEqual({ mode: 'ALLOW_ANY', origin: 'Sidecar shop/default', egressCluster: 'outbound|80||egress.istio-system.svc.cluster.local' });
    expect(r.problems).toEqual([]);
    const hidden = compile([...MESH, egress, { ...sc, spec: { ...sc.spec, egress: [{ hosts: ['./*'] }] } }], client('shop'));
    expect(hidden.problems.map(formatProblem)).toEqual([
      'mesh.yaml:4: Sidecar shop/default: spec.outboundTrafficPolicy.egressProxy: warning: egressProxy egress.istio-system.svc.cluster.local:80 is not a service port this client sees (import it in the egress hosts, as Istio requires); requests to hosts outside the registry fail with ClusterNotFoundError (Envoy answers 503 NC)',
    ]);
  });
});

describe('what a client is told about a host its Sidecar hides', () => {
  function meshWith(objects: MeshObject[]): Mesh {
    const mesh = new Mesh(resolveIdentity({ namespace: 'shop' }), silentLogger);
    const r = compile(objects, client('shop'));
    mesh.setMeshConfig(r.mesh);
    mesh.applyResources(r.resources, 'test', [], { outbound: r.outbound, scope: r.scope });
    return mesh;
  }
  const view = (host: string) => requestView('GET', 'http', host, '/', { host });

  it('explain() and configDump() name the Sidecar; REGISTRY_ONLY fails the request with the reason', async () => {
    const sc = sidecar('default', 'shop', { egress: [{ hosts: ['./*'] }] });
    const allow = meshWith([...MESH, sc]);
    const e = allow.explain({ url: 'http://reviews.books:9080/x' });
    expect(e.action).toBe('passthrough');
    expect(e.outOfScope).toBe('reviews.books.svc.cluster.local (namespace books) is out of this client\'s scope: Sidecar shop/default does not import it (egress hosts ./*)');
    const dump = allow.configDump();
    expect(dump.sidecarScope).toEqual({
      sidecar: 'shop/default', egressHosts: ['./*'], servicesInScope: 2,
      outOfScope: { 'reviews.books.svc.cluster.local': 'books', 'ratings.books.svc.cluster.local': 'books', 'auth.istio-system.svc.cluster.local': 'istio-system' },
    });
    expect(allow.decide(view('reviews.books'), 'reviews.books', 9080).kind).toBe('passthrough');
    await allow.close();

    const blocked = meshWith([...MESH, { ...sc, spec: { ...sc.spec, outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } } }]);
    const d = blocked.decide(view('reviews.books'), 'reviews.books', 9080);
    expect(d.kind).toBe('error');
    if (d.kind !== 'error') return;
    expect(d.error.code).toBe('MESHLET_OUTBOUND_BLOCKED');
    expect(d.error.message).toBe('reviews.books:9080 is not a service of the mesh and the outbound traffic policy is REGISTRY_ONLY (set by Sidecar shop/default): the request is refused as Envoy\'s BlackHoleCluster refuses it (listener virtualOutbound; a sidecar answers 502); reviews.books.svc.cluster.local (namespace books) is out of this client\'s scope: Sidecar shop/default does not import it (egress hosts ./*)');
    expect(blocked.explain({ url: 'http://reviews.books:9080/x' }).action).toBe('blocked');
    expect(blocked.decide(view('cart'), 'cart', 9080).kind).toBe('forward');
    expect(blocked.configDump().outboundTrafficPolicy).toEqual({ mode: 'REGISTRY_ONLY', origin: 'Sidecar shop/default' });
    await blocked.close();
  });
});

describe('meshlet explain and dump', () => {
  it('take the client\'s labels and a MeshConfig file, and name the Sidecar that hid a host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshlet-cli-sidecar-'));
    const meshFile = join(mkdtempSync(join(tmpdir(), 'meshlet-cli-mesh-')), 'istio-mesh.conf');
    try {
      writeFileSync(join(dir, 'a.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: books }
spec: { hosts: [reviews.books.svc.cluster.local], ports: [{ number: 9080, name: http }], resolution: STATIC, endpoints: [{ address: 10.0.0.1 }] }
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: cart, namespace: shop }
spec: { workloadSelector: { labels: { app: cart } }, egress: [{ hosts: ["./*"] }] }
`);
      writeFileSync(meshFile, 'outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');
      const main = join(import.meta.dirname, '../src/cli/main.ts');
      const run = (...args: string[]) => promisify(execFile)(process.execPath, ['--conditions=source', main, ...args]);
      const explained = JSON.parse((await run('explain', '--config', dir, '--namespace', 'shop', '--label', 'app=cart', '--mesh-config', meshFile, 'GET', 'http://reviews.books:9080/')).stdout) as { action: string; outOfScope: string };
      expect(explained.action).toBe('blocked');
      expect(explained.outOfScope).toContain('Sidecar shop/cart does not import it');
      // Without the label the Sidecar does not select the client: the host is in scope.
      const other = JSON.parse((await run('explain', '--config', dir, '--namespace', 'shop', 'GET', 'http://reviews.books:9080/')).stdout) as { action: string };
      expect(other.action).toBe('forward');
      const dump = JSON.parse((await run('dump', '--config', dir, '--namespace', 'shop', '--label', 'app=cart')).stdout) as { sidecarScope: { sidecar: string; outOfScope: Record<string, string> }; listeners: unknown[] };
      expect(dump.sidecarScope.sidecar).toBe('shop/cart');
      expect(dump.sidecarScope.outOfScope).toEqual({ 'reviews.books.svc.cluster.local': 'books' });
      expect(dump.listeners).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(join(meshFile, '..'), { recursive: true, force: true });
    }
  }, 30_000);
});
