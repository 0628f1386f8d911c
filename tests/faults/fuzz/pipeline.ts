// What the fuzzers run each input through — the real code a control plane's bytes or a user's
// YAML reach — and the oracle: nothing may throw, decoders may only fail with a DecodeError
// value, validators and translators only with a { ok: false, error } result, snapshot building
// only with error strings; and no input may take long enough to look like a hang.

import { EventEmitter } from 'node:events';
import { requestView, type Mesh, type XdsResources } from '../../../packages/core/src/index.ts';
import { decodeAny, DecodeError } from '../../../packages/core/src/xds/codec/index.ts';
import { RESOURCE_TYPES, type ResourceType } from '../../../packages/core/src/config/xds/resource-types.ts';
import { AdsStream } from '../../../packages/core/src/config/xds/ads-stream.ts';
import type { AdsClient } from '../../../packages/core/src/config/xds/ads-client.ts';

/** One input taking longer than this is reported as a hang (inputs take well under 10 ms). */
export const HANG_MS = 2_000;

export interface FuzzStats {
  inputs: number;
  decodeErrors: number;
  invalid: number;
  accepted: number;
  snapshotErrors: number;
  slowestMs: number;
}

export const newStats = (): FuzzStats => ({ inputs: 0, decodeErrors: 0, invalid: 0, accepted: 0, snapshotErrors: 0, slowestMs: 0 });

export function timed(stats: FuzzStats, what: string, fn: () => void): void {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  stats.inputs++;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  if (ms > HANG_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms: a hang`);
}

export const KEY: Record<ResourceType['kind'], keyof XdsResources> = {
  Listener: 'listeners',
  RouteConfiguration: 'routeConfigs',
  Cluster: 'clusters',
  ClusterLoadAssignment: 'endpoints',
};

/** Requests that exercise every seed route: plain, header, regex, fault, redirect, split. */
const REQUESTS: [string, string, Record<string, string>, string, number][] = [
  ['GET', '/api/x', { 'end-user': 'jason', 'x-canary': 'yes' }, 'reviews', 9080],
  ['GET', '/reviews/123', {}, 'reviews', 9080],
  ['POST', '/fault', { 'x-user': 'u1', cookie: 'sess=abc' }, 'reviews.default.svc.cluster.local', 9080],
  ['GET', '/old/a?x=1', {}, 'reviews', 9080],
  ['GET', '/' + 'a'.repeat(2000), { 'x-user': 'z'.repeat(500) }, 'reviews', 9443],
  ['GET', '/', {}, 'api.example.com', 80],
];

/** Publishes `resources` and routes the sample requests through the snapshot, picking hosts. */
export function applyAndRoute(mesh: Mesh, resources: XdsResources, stats: FuzzStats): void {
  const errors = mesh.applyResources(resources, 'fuzz');
  for (const e of errors) if (typeof e !== 'string' || e === '') throw new Error(`snapshot error is not a message: ${String(e)}`);
  stats.snapshotErrors += errors.length;
  for (const [method, path, headers, host, port] of REQUESTS) {
    const d = mesh.decide(requestView(method, 'http', `${host}:${port}`, path, headers), host, port);
    if (d.kind === 'forward') d.cluster.loadBalancer.pick(undefined, 1);
  }
}

/** One resource's bytes through decode → validate (the ADS client's per-resource path). */
export function decodeAndValidate(type: ResourceType, bytes: Uint8Array, stats: FuzzStats): Record<string, unknown> | undefined {
  const d = decodeAny(type.typeUrl, bytes);
  if (!d.ok) {
    if (!(d.error instanceof DecodeError) || d.error.message === '') throw new Error(`decode failed without a DecodeError: ${String(d.error)}`);
    stats.decodeErrors++;
    return undefined;
  }
  const { '@type': _t, ...value } = d.value as Record<string, unknown>;
  return validate(type, value, stats) ? value : undefined;
}

/** A decoded (or hand-mutated) value through the resource type's checks. */
export function validate(type: ResourceType, value: Record<string, unknown>, stats: FuzzStats): boolean {
  const v = type.validate(value);
  type.nameOf(value);
  type.references(value);
  if (!v.ok) {
    if (typeof v.error !== 'string' || v.error === '') throw new Error(`validation failed without a message: ${JSON.stringify(v)}`);
    stats.invalid++;
    return false;
  }
  stats.accepted++;
  return true;
}

/** A stand-in for grpc-js's duplex call: records what the stream writes, lets the test push responses. */
class FakeCall extends EventEmitter {
  written = 0;
  write(): boolean { this.written++; return true; }
  cancel(): void {}
  end(): void {}
}

/**
 * Pushes one response's bytes through a real AdsStream into a real AdsClient (the envelope
 * reader, per-resource decoding and validation, ACK/NACK, the client's cache and deletion
 * rules), then publishes what the client holds.
 */
export function feedResponse(client: AdsClient, delta: boolean, subscriptions: Map<string, string[]>, bytes: Uint8Array, mesh: Mesh, stats: FuzzStats): void {
  const call = new FakeCall();
  const fakeGrpc = { makeBidiStreamRequest: () => call } as unknown as ConstructorParameters<typeof AdsStream>[0];
  const stream = new AdsStream(fakeGrpc, delta, { id: 'fuzz' }, client);
  for (const t of RESOURCE_TYPES) stream.subscribe(t.typeUrl, subscriptions.get(t.typeUrl) ?? [], () => client.state.versionsOf(t.typeUrl));
  const before = call.written;
  call.emit('data', Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  // Every response is answered (ACK or NACK) unless it could not even be taken apart, which
  // ends the stream instead.
  if (call.written === before) stats.decodeErrors++;
  stream.close();
  const held: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
  for (const w of client.state.all()) {
    const type = RESOURCE_TYPES.find((t) => t.typeUrl === w.typeUrl);
    if (type && w.value !== undefined) (held[KEY[type.kind]] as Map<string, unknown>).set(w.name, w.value);
  }
  applyAndRoute(mesh, held, stats);
}

export function assertTypedThrowFree(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const e = err as Error;
    throw new Error(`${what}: threw ${e?.name ?? typeof err}: ${e?.message ?? String(err)}\n${e?.stack ?? ''}`);
  }
}
