// A sidecar's route table per port holds a virtual host per service: decoding and validating one
// RouteConfiguration of 10k of them was one unbroken 400 ms step. These check that the ADS
// client's stepped path (decode in steps, validate virtual host by virtual host) reads it exactly
// as the one-shot path does, yields within it, and leaves the translation for the snapshot build.

import { describe, expect, it } from 'vitest';
import { decodeResource, decodeResourceSteps } from '../src/config/xds/resource-decode.ts';
import { ROUTE_CONFIGURATION } from '../src/config/xds/resource-types.ts';
import { translateRouteConfiguration, translateRouteConfigurationSteps } from '../src/snapshot/translate-route-config.ts';
import { encodeAny } from '../src/xds/codec/index.ts';
import { TYPE_URL, type RouteConfiguration } from '../src/xds/resources.ts';

const vhost = (i: number, domains = [`svc-${i}.ns.svc.cluster.local`, `svc-${i}.ns.svc.cluster.local:80`]) => ({
  name: `svc-${i}.ns.svc.cluster.local:80`,
  domains,
  routes: [{
    name: 'default',
    match: { prefix: '/' },
    route: { cluster: `outbound|80||svc-${i}.ns.svc.cluster.local`, timeout: '0s', retryPolicy: { retryOn: 'connect-failure,refused-stream', numRetries: 2 } },
  }],
});
const routeConfig = (n: number, bad = -1): RouteConfiguration =>
  ({ name: '80', virtualHosts: Array.from({ length: n }, (_, i) => (i === bad ? vhost(i, ['a*b']) : vhost(i))) }) as RouteConfiguration;

const asData = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** Runs a generator to its end; returns its result and how often it yielded. */
function run<T>(gen: Generator<void, T>): { value: T; yields: number } {
  let yields = 0;
  let s = gen.next();
  while (!s.done) { yields++; s = gen.next(); }
  return { value: s.value, yields };
}

describe('translateRouteConfigurationSteps', () => {
  it('yields after each virtual host, gives what the one-shot translation gives, and is remembered', () => {
    const rc = routeConfig(40);
    const stepped = run(translateRouteConfigurationSteps(rc));
    expect(stepped.yields).toBe(40);
    expect(stepped.value.ok).toBe(true);
    // A fresh copy is translated afresh: the same table, virtual host for virtual host (compared
    // as data: compiled matchers are closures, new on every translation).
    const fresh = translateRouteConfiguration(structuredClone(rc));
    expect(fresh).not.toBe(stepped.value);
    expect(asData(fresh)).toEqual(asData(stepped.value));
    if (!stepped.value.ok) throw new Error(stepped.value.error);
    expect(stepped.value.value).toHaveLength(40);
    expect(asData(stepped.value.value[39])).toMatchObject({ name: 'svc-39.ns.svc.cluster.local:80', routes: [{ name: 'default', action: { kind: 'forward', clusters: [{ name: 'outbound|80||svc-39.ns.svc.cluster.local' }] } }] });
    // The same object is not translated again, stepped or not.
    expect(translateRouteConfiguration(rc)).toBe(stepped.value);
    const again = run(translateRouteConfigurationSteps(rc));
    expect(again.yields).toBe(0);
    expect(again.value).toBe(stepped.value);
  });

  it('stops at the first bad virtual host with the one-shot error', () => {
    const rc = routeConfig(30, 12);
    const stepped = run(translateRouteConfigurationSteps(rc));
    expect(stepped.yields).toBe(12);
    expect(stepped.value).toEqual({ ok: false, error: expect.stringContaining('RouteConfiguration 80: virtualHosts[12].domains: "a*b"') });
    expect(translateRouteConfiguration(structuredClone(rc))).toEqual(stepped.value);
  });
});

describe('decodeResourceSteps (RDS)', () => {
  const raw = (rc: RouteConfiguration) => ({ typeUrl: TYPE_URL.RouteConfiguration, bytes: encodeAny({ '@type': TYPE_URL.RouteConfiguration, ...rc }).value, name: '' });

  it('decodes and validates a large route table in steps, as the one-shot decode does, leaving its translation for the build', () => {
    const r = raw(routeConfig(1000));
    expect(r.bytes.byteLength).toBeGreaterThan(64 * 1024); // large enough to be decoded in steps
    const stepped = run(decodeResourceSteps(ROUTE_CONFIGURATION, r, 'v1'));
    // Once per virtual host decoding, once per virtual host validating.
    expect(stepped.yields).toBe(2000);
    expect(stepped.value).toEqual(decodeResource(ROUTE_CONFIGURATION, r, 'v1'));
    expect(stepped.value.error).toBeUndefined();
    const value = stepped.value.value as RouteConfiguration;
    expect(value.virtualHosts).toHaveLength(1000);
    // The build's translation of the accepted value is the validation's, not a second run.
    expect(run(translateRouteConfigurationSteps(value)).yields).toBe(0);
  });

  it('NACKs a bad virtual host in a large table with the one-shot message', () => {
    const r = raw(routeConfig(1000, 700));
    const stepped = run(decodeResourceSteps(ROUTE_CONFIGURATION, r, 'v1'));
    expect(stepped.value.error).toMatch(/^RouteConfiguration 80: virtualHosts\[700\]\.domains: "a\*b"/);
    expect(stepped.value).toEqual(decodeResource(ROUTE_CONFIGURATION, r, 'v1'));
  });

  it('NACKs a truncated large table with the one-shot decode error', () => {
    const r = raw(routeConfig(1000));
    const cut = { ...r, bytes: r.bytes.subarray(0, r.bytes.byteLength - 7) };
    const stepped = run(decodeResourceSteps(ROUTE_CONFIGURATION, cut, 'v1'));
    expect(stepped.value.error).toMatch(/^RouteConfiguration 80: /);
    expect(stepped.value).toEqual(decodeResource(ROUTE_CONFIGURATION, cut, 'v1'));
  });
});
