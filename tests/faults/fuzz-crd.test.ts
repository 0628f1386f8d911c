// Fuzzing the CRD loader with fast-check (issue 10): YAML text through parseConfigText (the
// loader and istiod-equivalent validation), then what it accepts through the compiler, the
// codec (every compiled resource must encode: the compiler's output is what a server sends)
// and snapshot building and routing. Inputs are generated and mutated: the seed config and
// the Istio fixture corpus (tests/fixtures/istio) with text edits YAML cares about (indentation, flow and
// block characters, anchors, tags, scalars swapped for edge values, lines repeated, dropped
// and swapped), the same objects with structural edits written back as JSON, and documents
// built from random fragments. No input may throw or hang; problems must be typed (severity,
// file:line, message) — see fuzz/pipeline.ts for the per-input time limit.

import { afterAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfigText } from '../../packages/core/src/istio/load/load-yaml.ts';
import { compileMesh } from '../../packages/core/src/istio/compile/compile-mesh.ts';
import { encodeMessage } from '../../packages/core/src/xds/codec/index.ts';
import type { XdsResources } from '../../packages/core/src/index.ts';
import { int, mulberry32, mutateJson, mutateText, pick, type Rnd } from './fuzz/mutate.ts';
import { applyAndRoute, assertTypedThrowFree, newStats, timed } from './fuzz/pipeline.ts';
import { newMesh, seedTexts } from './fuzz/seeds.ts';
import { record } from './helpers/report.ts';

const RUNS = { text: 16_000, structure: 14_000, fragments: 6_000 };
const mesh = newMesh();
const stats = newStats();
let objectsAccepted = 0;
let problemsReported = 0;
afterAll(async () => {
  await mesh.close();
  record({
    id: 'fuzz-crd',
    scenario: 'fuzz: Istio CRD loader (then compiler, codec, snapshot)',
    checks: 'no throw, no hang (> 2 s per input); every problem typed with file:line; compiled resources encode and build snapshots that route',
    sent: stats.inputs,
    failures: 0,
    p99Ms: undefined,
    notes: `${RUNS.text} text-edited, ${RUNS.structure} structure-edited, ${RUNS.fragments} fragment documents; ${objectsAccepted} objects accepted, ${problemsReported} problems reported, slowest input ${stats.slowestMs.toFixed(1)} ms`,
  });
});

const MESSAGE: Record<keyof XdsResources, string> = {
  listeners: 'envoy.config.listener.v3.Listener',
  routeConfigs: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

/** One YAML text through loader → compiler → codec → snapshot → routing. */
function check(text: string, file: string): void {
  const loaded = parseConfigText(text, file);
  for (const p of loaded.problems) {
    if (p.severity !== 'error' && p.severity !== 'warning') throw new Error(`problem with severity ${String(p.severity)}`);
    if (!Number.isInteger(p.line) || p.line < 1) throw new Error(`problem without a line: ${JSON.stringify(p)}`);
    if (typeof p.message !== 'string' || p.message === '' || p.file !== file) throw new Error(`problem without a message or file: ${JSON.stringify(p)}`);
  }
  problemsReported += loaded.problems.length;
  objectsAccepted += loaded.objects.length;
  const compiled = compileMesh(loaded.objects, mesh.identity);
  for (const p of compiled.problems) {
    if (typeof p.message !== 'string' || p.message === '') throw new Error(`compile problem without a message: ${JSON.stringify(p)}`);
  }
  for (const kind of Object.keys(MESSAGE) as (keyof XdsResources)[]) {
    for (const value of (compiled.resources[kind] as Map<string, object>).values()) encodeMessage(MESSAGE[kind], value);
  }
  applyAndRoute(mesh, compiled.resources, stats);
}

const seeds = seedTexts();
const texts = [...seeds.loading, ...seeds.rejected];
/** Every seed document as a plain object (what structural edits start from). */
const docs = texts.flatMap(([file, text]) => parseConfigText(text, file).objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: (o as { spec?: unknown }).spec })));
const seedArb = fc.noShrink(fc.integer());

it('the seeds themselves load and compile', () => {
  // The seed config, the fixture corpus's CRD sets and each of its validation documents.
  expect(seeds.loading.length).toBeGreaterThan(50);
  expect(seeds.rejected.length).toBeGreaterThan(80);
  for (const [file, text] of seeds.loading) {
    const loaded = parseConfigText(text, file);
    expect(loaded.problems.filter((p) => p.severity === 'error'), file).toEqual([]);
    expect(loaded.objects.length, file).toBeGreaterThan(0);
  }
  for (const [file, text] of seeds.rejected) expect(parseConfigText(text, file).problems.some((p) => p.severity === 'error'), file).toBe(true);
  expect(docs.length).toBeGreaterThan(100);
  for (const [file, text] of texts) check(text, file);
});

it(`${RUNS.text} seed configs with YAML text edits`, () => {
  fc.assert(fc.property(seedArb, (seed) => {
    const rnd = mulberry32(seed);
    // Three in four start from a config that loads, so mutants reach the compiler as often as
    // they fail validation; the rest from a document Istio rejects.
    const [, text] = pick(rnd, rnd() < 0.75 ? seeds.loading : seeds.rejected);
    const mutated = mutateText(text, rnd);
    assertTypedThrowFree(`text seed ${seed}`, () => timed(stats, 'CRD text', () => check(mutated, 'fuzz.yaml')));
  }), { numRuns: RUNS.text });
});

it(`${RUNS.structure} seed objects with structural edits`, () => {
  fc.assert(fc.property(seedArb, (seed) => {
    const rnd = mulberry32(seed);
    // One to three documents, each edited, in one stream (so duplicates and cross-references
    // between them are exercised too).
    const stream = Array.from({ length: int(rnd, 1, 3) }, () => JSON.stringify(mutateJson(pick(rnd, docs), rnd, 6))).join('\n---\n');
    assertTypedThrowFree(`structure seed ${seed}`, () => timed(stats, 'CRD structure', () => check(stream, 'fuzz.yaml')));
  }), { numRuns: RUNS.structure });
});

const FRAGMENTS = [
  'hosts: [a, "*", 2001:db8::]', 'http:', '- route:', '  - destination: {host: x}', 'weight: !!binary aGk=', '<<: *a', 'x: &a {k: v}',
  'subsets: !!set {a}', 'ports: !!omap [{n: 1}]', 'timeout: !!timestamp 2001-12-14', '? complex key', ': value', '- - nested',
  'portLevelMtls: {80: {mode: STRICT}}', 'mtls: {mode: STRICT}', 'host: reviews', '"quoted": |', '  block', 'tag: !unknown x', '---', '...',
  'items: [1, {a: b}]', 'kind: List', 'address: unix://@x', 'null:', '~: ~', 'resolution: DNS', 'endpoints: [{address: 1.2.3.4}]',
  'match: [{uri: {regex: "(a+)+$"}}]', 'retries: {attempts: -1, perTryTimeout: 0s}', 'fault: {abort: {httpStatus: 999}}',
  'trafficPolicy: {loadBalancer: {consistentHash: {ringHash: {minimumRingSize: 99999999999}}}}', 'selector: {matchLabels: {}}',
];

function fragmentDoc(rnd: Rnd): string {
  const kind = pick(rnd, ['VirtualService', 'DestinationRule', 'ServiceEntry', 'WorkloadEntry', 'PeerAuthentication', 'AuthorizationPolicy', 'List', 'HTTPRoute']);
  const group = kind === 'PeerAuthentication' || kind === 'AuthorizationPolicy' ? 'security.istio.io/v1' : kind === 'HTTPRoute' ? 'gateway.networking.k8s.io/v1' : 'networking.istio.io/v1';
  const body = Array.from({ length: int(rnd, 0, 12) }, () => `${'  '.repeat(int(rnd, 0, 3))}${pick(rnd, FRAGMENTS)}`).join('\n');
  return `apiVersion: ${group}\nkind: ${kind}\nmetadata: {name: f, namespace: ${pick(rnd, ['default', 'istio-system', 'x'])}}\nspec:\n${body}\n`;
}

it(`${RUNS.fragments} documents built from odd YAML fragments`, () => {
  fc.assert(fc.property(seedArb, (seed) => {
    const rnd = mulberry32(seed);
    const text = fragmentDoc(rnd);
    assertTypedThrowFree(`fragment seed ${seed}`, () => timed(stats, 'CRD fragments', () => check(text, 'fuzz.yaml')));
  }), { numRuns: RUNS.fragments });
});
