// Fuzzing the Kubernetes path with fast-check: bookinfo's objects (Service, EndpointSlice, Pods,
// Node) with random structural edits — a value swapped for an edge value, a key dropped, a list
// item repeated — through the loader, the registry, the compiler and the codec. No input may
// throw; every problem is typed with file:line; every compiled resource encodes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { compileMesh } from '../src/istio/compile/compile-mesh.ts';
import { encodeMessage } from '../src/xds/codec/index.ts';
import { client } from './compile-helpers.ts';

const PLATFORM = join(import.meta.dirname, '../../../tests/fixtures/bookinfo/platform');
const items = (file: string) => (parse(readFileSync(join(PLATFORM, file), 'utf8')) as { items: Record<string, unknown>[] }).items;
const byKind = (list: Record<string, unknown>[], kind: string) => list.filter((o) => o['kind'] === kind);

/** The object without the bulk kubectl adds (managedFields, container specs, statuses), so each run stays small. */
function trim(o: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(o) as { metadata: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, unknown> };
  delete out.metadata['managedFields'];
  delete out.metadata['annotations'];
  if (o['kind'] === 'Pod' && out.spec && out.status) {
    out.spec = { serviceAccountName: out.spec['serviceAccountName'], nodeName: out.spec['nodeName'], containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 9080 }] }] };
    out.status = { phase: out.status['phase'], podIP: out.status['podIP'], conditions: (out.status['conditions'] as unknown[]).slice(2, 3) };
  }
  if (o['kind'] === 'Node') out.status = {};
  return out;
}

// A small cluster: reviews' Service, its slice, its pods, the nodes, and a rule that uses subsets.
const SEEDS: unknown[] = [
  ...byKind(items('bookinfo.yaml'), 'Service').filter((s) => (s['metadata'] as { name: string }).name === 'reviews'),
  ...byKind(items('endpointslices.yaml'), 'EndpointSlice').filter((s) => (s['metadata'] as { name: string }).name.startsWith('reviews')),
  ...byKind(items('pods.yaml'), 'Pod').filter((p) => (p['metadata'] as { name: string }).name.startsWith('reviews')),
  ...items('cluster.yaml'),
].map(trim).concat([
  { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews' }, spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v3', labels: { version: 'v3' } }] } },
]);

const EDGE: unknown[] = [
  '', ' ', 'None', 'ExternalName', 'reviews.default.svc.cluster.local', '10.0.0.1', '::1', '300.1.1.1', 'x', 'http-x', 'grpc-web', 'kubernetes.io/h2c',
  'Pod', 'Service', 'True', 'False', 'Succeeded', 'Ready', 'FQDN', 'IPv6', 'web', 'a'.repeat(300), '\u0000',
  0, -1, 1, 9080, 65535, 65536, 2 ** 31, 1.5, null, true, false, [], {}, [{}],
];

type Slot = [Record<string, unknown> | unknown[], string | number];

function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 30 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); walk(x, depth + 1); });
    else for (const [k, x] of Object.entries(v)) { out.push([v as Record<string, unknown>, k]); walk(x, depth + 1); }
  };
  walk(root, 0);
  return out;
}

function mutate(docs: unknown[], picks: number[]): void {
  for (let i = 0; i + 2 < picks.length; i += 3) {
    const all = slots(docs);
    if (all.length === 0) return;
    const [container, key] = all[(picks[i] as number) % all.length] as Slot;
    const op = (picks[i + 1] as number) % 4;
    const value = structuredClone(EDGE[(picks[i + 2] as number) % EDGE.length]);
    if (op === 0 && !Array.isArray(container)) delete container[key as string];
    else if (op === 1 && Array.isArray(container)) container.push(structuredClone(container[key as number]));
    else (container as Record<string | number, unknown>)[key] = value;
  }
}

// 200 runs in the default suite; KUBE_FUZZ_RUNS / KUBE_FUZZ_SEED for a longer search.
const RUNS = Number(process.env['KUBE_FUZZ_RUNS'] ?? 200);
const SEED = Number(process.env['KUBE_FUZZ_SEED'] ?? 20260302);

const MESSAGE = {
  listeners: 'envoy.config.listener.v3.Listener',
  routeConfigs: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

describe('the Kubernetes path under random edits', () => {
  it('never throws, types every problem, and compiles to resources that encode', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 3, maxLength: 12 }), (picks) => {
        const docs = structuredClone(SEEDS);
        mutate(docs, picks);
        // JSON is YAML: one document per object, as a cluster dump split into documents.
        const text = docs.map((d) => JSON.stringify(d)).join('\n---\n');
        const loaded = parseConfigText(text, 'dump.yaml');
        for (const p of loaded.problems) {
          expect(['error', 'warning']).toContain(p.severity);
          expect(Number.isInteger(p.line) && p.line >= 1).toBe(true);
          expect(p.message).not.toBe('');
        }
        accepted += loaded.objects.length;
        const compiled = compileMesh(loaded.objects, client());
        for (const kind of Object.keys(MESSAGE) as (keyof typeof MESSAGE)[]) {
          for (const value of compiled.resources[kind].values()) encodeMessage(MESSAGE[kind], value);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The edits leave most objects valid: the registry saw real input, not only rejections.
    expect(accepted).toBeGreaterThan(RUNS * 5);
  }, 120_000);
});
