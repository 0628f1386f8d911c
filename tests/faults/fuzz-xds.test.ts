// Fuzzing the xDS decoders with fast-check (issue 10): Listener, RouteConfiguration, Cluster,
// ClusterLoadAssignment, DiscoveryResponse and DeltaDiscoveryResponse, through the code a
// control plane's bytes reach — decode, validate/translate, the ADS client's cache, snapshot
// building, routing and host picking. Inputs are generated and mutated: the compiled seed
// config's resources with structural edits that still fit the schema (that is,
// what a server could send), with byte edits on top, random wire-shaped messages, random
// bytes, and whole discovery responses mixing good, edited, mistyped, duplicated and garbage
// resources. No input may throw, hang, or fail other than as a typed error (fuzz/pipeline.ts).
// Run counts are fixed, seeds random; a failure prints the seed and path to replay it.

import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeMessage, EncodeError } from '../../packages/core/src/xds/codec/index.ts';
import { WireWriter } from '../../packages/core/src/xds/codec/wire-writer.ts';
import { RESOURCE_TYPES, type ResourceType } from '../../packages/core/src/config/xds/resource-types.ts';
import { DELTA_DISCOVERY_RESPONSE, DISCOVERY_RESPONSE, decodeRequest } from '../../packages/core/src/xds/discovery-envelope.ts';
import { decodeMessage, DecodeError } from '../../packages/core/src/xds/codec/index.ts';
import { AdsClient } from '../../packages/core/src/config/xds/ads-client.ts';
import { parseBootstrap, silentLogger, type XdsResources } from '../../packages/core/src/index.ts';
import { int, mulberry32, mutateBytes, mutateJson, pick, type Rnd } from './fuzz/mutate.ts';
import { applyAndRoute, assertTypedThrowFree, decodeAndValidate, feedResponse, KEY, newStats, timed, type FuzzStats } from './fuzz/pipeline.ts';
import { newMesh, seedResources } from './fuzz/seeds.ts';
import { record } from './helpers/report.ts';

const SEED = seedResources();
const mesh = newMesh();
afterAll(() => mesh.close());

const RUNS = { mutated: 10_000, random: 3_000, sotw: 6_000, delta: 6_000 };
const stats = new Map<string, FuzzStats>();
const statsFor = (k: string): FuzzStats => {
  let s = stats.get(k);
  if (!s) stats.set(k, (s = newStats()));
  return s;
};

afterAll(() => {
  const all = [...stats.values()];
  const sum = (f: (s: FuzzStats) => number) => all.reduce((n, s) => n + f(s), 0);
  record({
    id: 'fuzz-xds',
    scenario: 'fuzz: xDS decoders (Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, DiscoveryResponse, DeltaDiscoveryResponse)',
    checks: 'no throw, no hang (> 2 s per input), only DecodeError / validation results; accepted resources build snapshots that route',
    sent: sum((s) => s.inputs),
    failures: 0,
    p99Ms: undefined,
    notes: `inputs by kind: ${[...stats].map(([k, s]) => `${k} ${s.inputs}`).join(', ')}; ${sum((s) => s.decodeErrors)} decode errors, ${sum((s) => s.invalid)} rejected by validation, ${sum((s) => s.accepted)} accepted, slowest input ${Math.max(...all.map((s) => s.slowestMs)).toFixed(1)} ms`,
  });
});

/**
 * A structural edit of `seed` that still fits the message schema (what a server could send),
 * encoded. Edits that do not fit are redrawn; after 20 misses the seed is encoded as it is and
 * only the byte edits apply.
 */
function encodableEdit(type: ResourceType, seed: Record<string, unknown>, rnd: Rnd): Uint8Array {
  const message = type.typeUrl.slice('type.googleapis.com/'.length);
  for (let i = 0; i < 20; i++) {
    try {
      return encodeMessage(message, mutateJson(seed, rnd));
    } catch (err) {
      if (!(err instanceof EncodeError)) throw err;
    }
  }
  return encodeMessage(message, seed);
}

function seedsOf(type: ResourceType): Record<string, unknown>[] {
  return [...(SEED[KEY[type.kind]] as unknown as Map<string, Record<string, unknown>>).values()];
}

/** The seed resources with `value` added (or replacing its namesake). */
function withResource(type: ResourceType, value: Record<string, unknown>): XdsResources {
  const r: XdsResources = { listeners: new Map(SEED.listeners), routeConfigs: new Map(SEED.routeConfigs), clusters: new Map(SEED.clusters), endpoints: new Map(SEED.endpoints) };
  (r[KEY[type.kind]] as Map<string, unknown>).set(type.nameOf(value) || 'unnamed', value);
  return r;
}

/** Random bytes shaped like protobuf: fields 1–40 of every wire type, nested up to 3 deep. */
function wireShaped(rnd: Rnd, depth = 0): Uint8Array {
  const w = new WireWriter();
  for (let n = int(rnd, 0, 8); n > 0; n--) {
    const no = int(rnd, 1, 40);
    const wt = pick(rnd, [0, 1, 2, 2, 2, 5]);
    w.tag(no, wt);
    if (wt === 0) w.varint64(int(rnd, 0, 0xffffffff) >>> 0, pick(rnd, [0, 0, 0xffffffff, int(rnd, 0, 0xffffffff)]) >>> 0);
    else if (wt === 1) w.fixed64(int(rnd, 0, 0xffffffff) >>> 0, int(rnd, 0, 0xffffffff) >>> 0);
    else if (wt === 5) w.fixed32(int(rnd, 0, 0xffffffff) >>> 0);
    else if (depth < 3 && rnd() < 0.5) w.bytes(wireShaped(rnd, depth + 1));
    else w.bytes(Uint8Array.from({ length: int(rnd, 0, 12) }, () => int(rnd, 0, 255)));
  }
  return w.finish();
}

const seedArb = fc.noShrink(fc.integer());

describe.each(RESOURCE_TYPES.map((t) => [t.kind, t] as const))('%s', (kind, type) => {
  it(`${RUNS.mutated} seed resources with structural and byte edits: decode, validate, snapshot, route`, () => {
    const seeds = seedsOf(type);
    expect(seeds.length).toBeGreaterThan(0);
    const s = statsFor(kind);
    fc.assert(fc.property(seedArb, (seed) => {
      const rnd = mulberry32(seed);
      assertTypedThrowFree(`${kind} seed ${seed}`, () => timed(s, kind, () => {
        const bytes = encodableEdit(type, pick(rnd, seeds), rnd);
        const accepted = decodeAndValidate(type, rnd() < 0.3 ? mutateBytes(bytes, rnd) : bytes, s);
        if (accepted) applyAndRoute(mesh, withResource(type, accepted), s);
      }));
    }), { numRuns: RUNS.mutated });
  });

  it(`${RUNS.random} random wire-shaped and random byte strings`, () => {
    const s = statsFor(kind);
    fc.assert(fc.property(seedArb, (seed) => {
      const rnd = mulberry32(seed);
      const bytes = rnd() < 0.7 ? wireShaped(rnd) : Uint8Array.from({ length: int(rnd, 0, 64) }, () => int(rnd, 0, 255));
      assertTypedThrowFree(`${kind} random seed ${seed}`, () => timed(s, kind, () => {
        const accepted = decodeAndValidate(type, bytes, s);
        if (accepted) applyAndRoute(mesh, withResource(type, accepted), s);
      }));
    }), { numRuns: RUNS.random });
  });
});

describe.each([['DiscoveryResponse', false, RUNS.sotw], ['DeltaDiscoveryResponse', true, RUNS.delta]] as const)('%s', (kind, delta, runs) => {
  it(`${runs} responses mixing good, edited, mistyped, duplicated and garbage resources, through AdsStream into AdsClient`, () => {
    const boot = parseBootstrap(JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }], server_features: delta ? ['delta'] : [] }], node: { id: 'fuzz' } }), 'fuzz');
    if (!boot.ok) throw new Error(boot.error);
    const created = AdsClient.create(boot.value, { logger: silentLogger, onChange: () => {} });
    if (!created.ok) throw new Error(created.error);
    const client = created.value; // never started: responses are pushed in through a fake stream
    const subscriptions = new Map(RESOURCE_TYPES.map((t) => [t.typeUrl, seedsOf(t).map((v) => t.nameOf(v))]));
    for (const [typeUrl, names] of subscriptions) client.setSubscription(typeUrl, names);
    const s = statsFor(kind);
    try {
      fc.assert(fc.property(seedArb, (seed) => {
        const rnd = mulberry32(seed);
        const bytes = responseBytes(rnd, delta);
        assertTypedThrowFree(`${kind} seed ${seed}`, () => timed(s, kind, () => {
          // The whole-message decoder must cope with the same bytes.
          const whole = decodeMessage(delta ? DELTA_DISCOVERY_RESPONSE : DISCOVERY_RESPONSE, bytes);
          if (!whole.ok && !(whole.error instanceof DecodeError)) throw new Error('whole-response decode failed without a DecodeError');
          feedResponse(client, delta, subscriptions, bytes, mesh, s);
        }));
      }), { numRuns: runs });
    } finally {
      client.close();
    }
    // Requests the client wrote in answer decode as requests (ACKs and NACKs are well formed).
    expect(decodeRequest(delta, encodeMessageSafe(delta)).ok).toBe(true);
  });
});

function encodeMessageSafe(delta: boolean): Uint8Array {
  return encodeMessage(delta ? 'envoy.service.discovery.v3.DeltaDiscoveryRequest' : 'envoy.service.discovery.v3.DiscoveryRequest', { typeUrl: RESOURCE_TYPES[0]!.typeUrl, responseNonce: 'n', errorDetail: { code: 3, message: 'x' } });
}

/** One resource inside a response, as an Any: good, edited, of the wrong type, or garbage. */
function anyResource(rnd: Rnd, type: ResourceType): { any: { '@type': string; [k: string]: unknown }; name: string } {
  const r = rnd();
  const seed = pick(rnd, seedsOf(type));
  const name = type.nameOf(seed);
  if (r < 0.5) return { any: { '@type': type.typeUrl, ...seed }, name };
  if (r < 0.75) {
    return { any: { '@type': type.typeUrl, '@bytes': encodableEdit(type, seed, rnd) }, name };
  }
  if (r < 0.85) {
    const other = pick(rnd, RESOURCE_TYPES);
    return { any: { '@type': other.typeUrl, ...pick(rnd, seedsOf(other)) }, name };
  }
  return { any: { '@type': rnd() < 0.8 ? type.typeUrl : 'type.googleapis.com/not.a.Type', '@bytes': rnd() < 0.5 ? wireShaped(rnd) : Uint8Array.from({ length: int(rnd, 0, 20) }, () => int(rnd, 0, 255)) }, name };
}

function responseBytes(rnd: Rnd, delta: boolean): Uint8Array {
  const type = pick(rnd, RESOURCE_TYPES);
  const typeUrl = rnd() < 0.9 ? type.typeUrl : pick(rnd, ['', 'type.googleapis.com/envoy.config.core.v3.Node', 'nonsense']);
  const items = Array.from({ length: int(rnd, 0, 4) }, () => anyResource(rnd, type));
  if (items.length > 0 && rnd() < 0.1) items.push(items[0]!); // a duplicate name
  let bytes: Uint8Array;
  if (!delta) {
    bytes = encodeMessage(DISCOVERY_RESPONSE, { versionInfo: String(int(rnd, 0, 50)), typeUrl, nonce: `n${int(rnd, 0, 1e6)}`, resources: items.map((i) => i.any) });
  } else {
    const names = seedsOf(type).map((v) => type.nameOf(v));
    bytes = encodeMessage(DELTA_DISCOVERY_RESPONSE, {
      systemVersionInfo: String(int(rnd, 0, 50)),
      typeUrl,
      nonce: `n${int(rnd, 0, 1e6)}`,
      // The envelope's name usually matches the resource inside; sometimes it does not.
      resources: items.map((i) => ({ name: rnd() < 0.9 ? i.name : pick(rnd, ['', 'other', ...names]), version: `v${int(rnd, 0, 9)}`, resource: i.any })),
      ...(rnd() < 0.2 && { removedResources: [pick(rnd, names), ...(rnd() < 0.3 ? ['never-subscribed'] : [])] }),
    });
  }
  return rnd() < 0.25 ? mutateBytes(bytes, rnd) : bytes;
}
