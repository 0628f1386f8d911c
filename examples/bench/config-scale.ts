// Config scale, run in its own process (with --expose-gc, so memory is measured after a full
// collection): a mesh of N services holding 100k endpoints in all, compiled from Istio objects
// to xDS the way `meshlet xds` and the embedded mode do, then
//   - a full snapshot applied (Mesh#applyResources): time and retained heap
//   - one endpoint changed (one ClusterLoadAssignment replaced, as an EDS push delivers it):
//     time to apply, which must not grow with N when the source says what changed (the
//     endpoints map made by OverlayMap.replacing); beside it the same change handed over as a
//     copied endpoints map, and as a set whose every map is copied (the build walks them)
//   - route matching: decide() against a 1,000-route table, for the first, middle and last route:
//     prefix routes; regex routes on RE2 with a literal start (the route index skips the rest);
//     regex routes with no literal start (keyed by a literal inside each); and, as the
//     "before" row of the same run, the regex table matched the way Meshlet did before RE2 — a
//     scan of anchored JavaScript RegExps (the index could not narrow regex routes then)
// Every 10th service also has a VirtualService (header match, 90/10 split over two subsets)
// and a DestinationRule, so routes and subset clusters are part of the snapshot.

import { pathToFileURL } from 'node:url';
import { Mesh, resolveIdentity, requestView, silentLogger } from '@meshlet/core';
import type { ClusterLoadAssignment, XdsResources } from '@meshlet/core';
import { compileMesh } from '../../packages/core/src/istio/compile/compile-mesh.ts';
import type { MeshObject, SourceRef } from '../../packages/core/src/istio/types.ts';
import { OverlayMap } from '../../packages/core/src/snapshot/overlay-map.ts';

const source: SourceRef = { file: 'generated.yaml', line: 1, lineOf: () => 1 };
const gc = (globalThis as { gc?: (opts?: { type: 'minor' | 'major' }) => void }).gc ?? (() => {});
/** A scavenge only: empties the young generation (V8's gc() options, with --expose-gc). */
const minorGc = () => gc({ type: 'minor' });
/** Changes of each kind run, untimed, before the timed ones. */
const WARMUP = 3;

function meta(name: string, namespace: string) {
  return { name, namespace };
}

function ip(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export function generateMesh(services: number, endpoints: number): MeshObject[] {
  const per = Math.max(1, Math.floor(endpoints / services));
  const out: MeshObject[] = [];
  let next = 1;
  for (let s = 0; s < services; s++) {
    const ns = `ns-${s % 50}`;
    const host = `svc-${s}.${ns}.svc.cluster.local`;
    out.push({
      apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(`svc-${s}`, ns), source,
      spec: {
        hosts: [host], location: 'MESH_INTERNAL', resolution: 'STATIC',
        ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
        endpoints: Array.from({ length: per }, (_, i) => ({ address: ip(next++), labels: { version: i % 2 === 0 ? 'v1' : 'v2' } })),
      },
    } as MeshObject);
    if (s % 10 === 0) {
      out.push({
        apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(`svc-${s}`, ns), source,
        spec: { host, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
      } as MeshObject);
      out.push({
        apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(`svc-${s}`, ns), source,
        spec: {
          hosts: [host],
          http: [
            { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host, subset: 'v2' } }] },
            { route: [{ destination: { host, subset: 'v1' }, weight: 90 }, { destination: { host, subset: 'v2' }, weight: 10 }], retries: { attempts: 2 } },
          ],
        },
      } as MeshObject);
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

export interface ScaleResult {
  services: number;
  endpoints: number;
  clusters: number;
  compileMs: number;
  applyMs: number;
  heapMiB: number;
  /**
   * One assignment replaced, the endpoints map made from the last one by OverlayMap.replacing:
   * the source hands over what changed (the build learns it from the map's lineage).
   */
  endpointChangeMs: { p50: number; p90: number; max: number; samples: number };
  /** Only the endpoints map is new, a plain copy with one assignment replaced: the build walks that map to find it. */
  endpointChangeCopiedMs: { p50: number; p90: number; max: number; samples: number };
  /** Every map of the resource set is new but holds the same objects except one assignment (how the xDS source hands sets over today). */
  endpointChangeFullSetMs: { p50: number; p90: number; max: number; samples: number };
}

async function measureScale(services: number, endpoints: number, changes: number): Promise<ScaleResult> {
  const identity = resolveIdentity({ namespace: 'default' });
  const objects = generateMesh(services, endpoints);
  let t = performance.now();
  const { resources } = compileMesh(objects, identity);
  const compileMs = performance.now() - t;
  const mesh = new Mesh(identity, silentLogger);
  gc(); gc();
  const heap0 = process.memoryUsage().heapUsed;
  t = performance.now();
  mesh.applyResources(resources, 'bench');
  const applyMs = performance.now() - t;
  gc(); gc();
  const heapMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;

  // One endpoint change, as EDS delivers it: a new ClusterLoadAssignment for one cluster, the
  // other resources the very same objects. Each sample changes a different cluster.
  // Each change runs in a turn of its own, as an EDS push does, after a scavenge: the young
  // generation holds none of the loop's garbage, so no collection of it lands in the timed
  // build. Not a full collection: a forced mark-compact of the ~200 MB heap right before each
  // sample left the concurrent sweep of the whole old generation running beside it (on 2
  // shared cores, taken from the sample), a state a process never sees before an EDS push.
  // The first WARMUP changes of each kind are not timed: they measure V8 compiling the path
  // (the first change in a process took up to 150 ms here), not a change.
  const edsNames = [...resources.endpoints.keys()];
  let current: XdsResources = resources;
  const times: number[][] = [[], [], []];
  for (let i = 0; i < 3 * (WARMUP + changes); i++) {
    const variant = i % 3; // 0: change set (overlay), 1: endpoints map copied, 2: every map copied
    const name = edsNames[(i * 7919) % edsNames.length]!;
    const cla = current.endpoints.get(name)!;
    const changed: ClusterLoadAssignment = structuredClone(cla);
    const lb = changed.endpoints?.[0]?.lbEndpoints?.[0];
    const addr = lb?.endpoint?.address?.socketAddress;
    if (addr) addr.address = ip(0xf00000 + i);
    let endpointsMap: Map<string, ClusterLoadAssignment>;
    // The build only reads the set's maps; XdsResources types them as Map for its producers.
    if (variant === 0) endpointsMap = OverlayMap.replacing(current.endpoints, new Map([[name, changed]])) as Map<string, ClusterLoadAssignment>;
    else endpointsMap = new Map(current.endpoints).set(name, changed);
    current = variant === 2
      ? { listeners: new Map(current.listeners), routeConfigs: new Map(current.routeConfigs), clusters: new Map(current.clusters), endpoints: endpointsMap }
      : { ...current, endpoints: endpointsMap };
    await new Promise<void>((resolve) => setImmediate(resolve));
    minorGc(); // the garbage this loop made is not the build's cost
    t = performance.now();
    mesh.applyResources(current, 'bench');
    const ms = performance.now() - t;
    if (i >= 3 * WARMUP) times[variant]!.push(ms);
  }
  const clusters = mesh.snapshot.clusters.size;
  void mesh.close();
  const stats = (xs: number[]) => ({ p50: median(xs), p90: pct(xs, 0.9), max: Math.max(...xs), samples: xs.length });
  return {
    services, endpoints, clusters, compileMs, applyMs, heapMiB,
    endpointChangeMs: stats(times[0]!), endpointChangeCopiedMs: stats(times[1]!), endpointChangeFullSetMs: stats(times[2]!),
  };
}

export type RouteTableKind = 'prefix' | 'regex' | 'regex-unindexed' | 'regex-js';

export interface RouteMatchResult {
  routes: number;
  kind: RouteTableKind;
  /** CPU ns per decide() call (request view included) for the route at each position. */
  nsPerDecide: { first: number; middle: number; last: number };
}

function uriMatch(kind: RouteTableKind, i: number): Record<string, string> {
  switch (kind) {
    case 'prefix': return { prefix: `/api/v1/r${i}/` };
    case 'regex': case 'regex-js': return { regex: `/api/v1/r${i}/[a-z]+/[0-9]+` };
    case 'regex-unindexed': return { regex: `.*/r${i}/[a-z]+/[0-9]+` };
  }
}

/** One route table set up for measuring: run(i, n) decides n requests for route i, ns each. */
function routeTable(routes: number, kind: RouteTableKind): { run: (i: number, n: number) => number; close: () => void } {
  const identity = resolveIdentity({ namespace: 'default' });
  const host = 'big.default.svc.cluster.local';
  const http = Array.from({ length: routes }, (_, i) => ({
    match: [i % 4 === 3
      ? { uri: uriMatch(kind, i), headers: { 'x-tenant': { exact: `t${i}` } } }
      : { uri: uriMatch(kind, i) }],
    route: [{ destination: { host } }],
  }));
  const objects: MeshObject[] = [
    { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta('big', 'default'), source, spec: { hosts: [host], location: 'MESH_INTERNAL', resolution: 'STATIC', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], endpoints: [{ address: '10.0.0.1' }] } } as MeshObject,
    { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta('big', 'default'), source, spec: { hosts: [host], http } } as MeshObject,
  ];
  const mesh = new Mesh(identity, silentLogger);
  mesh.applyResources(compileMesh(objects, identity).resources, 'bench');
  // The "before" row: the same table as anchored JavaScript RegExps, scanned in order, as the
  // router did before regexes moved to RE2 (request view built the same way).
  const legacy = http.map((r) => ({ re: new RegExp(`^(?:${r.match[0]!.uri['regex']})$`, 'u'), tenant: r.match[0]!.headers?.['x-tenant'].exact }));
  const legacyDecide = (path: string, headers: Record<string, string>): boolean => {
    const req = requestView('GET', 'http', 'big:8080', path, headers);
    for (const r of legacy) if (r.re.test(req.path) && (r.tenant === undefined || req.header('x-tenant') === r.tenant)) return true;
    return false;
  };
  const run = (i: number, n: number) => {
    const path = `/api/v1/r${i}/items/42?x=1`;
    const headers = { 'x-tenant': `t${i}`, 'user-agent': 'bench' };
    let hits = 0;
    // CPU time of this thread, not wall time: on a shared machine a loop of a few milliseconds
    // is often descheduled, which wall time counts as routing cost (3× swings run to run).
    const t0 = process.cpuUsage();
    for (let k = 0; k < n; k++) {
      if (kind === 'regex-js') {
        if (legacyDecide(path, headers)) hits++;
        continue;
      }
      const d = mesh.decide(requestView('GET', 'http', 'big:8080', path, headers), 'big', 8080);
      if (d.kind === 'forward') hits++;
    }
    if (hits !== n) throw new Error(`route ${i}: ${n - hits} requests did not route`);
    const used = process.cpuUsage(t0);
    return ((used.user + used.system) * 1e3) / n;
  };
  return { run, close: () => void mesh.close() };
}

/**
 * Every table, measured in rounds that take each table and position in turn, so a machine
 * that slows down or speeds up meanwhile moves every row alike (one table after the other,
 * the prefix and regex rows once differed by 3× run to run here). Median of the rounds.
 */
function measureRouteMatch(routes: number, iterations: (kind: RouteTableKind) => number, kinds: readonly RouteTableKind[], rounds = 5): RouteMatchResult[] {
  const tables = kinds.map((kind) => ({ kind, table: routeTable(routes, kind), samples: { first: [] as number[], middle: [] as number[], last: [] as number[] } }));
  const positions = { first: 0, middle: Math.floor(routes / 2), last: routes - 1 };
  // Warm-up at every position of every table before any is measured, so the first one
  // measured does not pay for the JIT's tiers (it did: "first" read slowest in every table).
  for (const t of tables) for (const i of Object.values(positions)) t.table.run(i, Math.min(iterations(t.kind), 2000));
  for (let r = 0; r < rounds; r++) {
    for (const t of tables) {
      for (const [name, i] of Object.entries(positions) as [keyof typeof positions, number][]) t.samples[name].push(t.table.run(i, iterations(t.kind)));
    }
  }
  for (const t of tables) t.table.close();
  return tables.map((t) => ({ routes, kind: t.kind, nsPerDecide: { first: median(t.samples.first), middle: median(t.samples.middle), last: median(t.samples.last) } }));
}

export interface ConfigScaleReport {
  scale: ScaleResult[];
  routeMatch: RouteMatchResult[];
}

async function main(): Promise<void> {
  const quick = process.argv[2] === 'quick';
  // `routes`: only the route-matching tables (node --conditions=source examples/bench/config-scale.ts routes).
  if (process.argv[2] === 'routes') {
    for (const r of measureRouteMatch(1_000, (k) => (k === 'regex-js' ? 200 : 5_000), ['prefix', 'regex', 'regex-unindexed', 'regex-js'])) console.log(JSON.stringify(r));
    return;
  }
  // `scale [changes] [services]`: only the endpoint-change rows (… config-scale.ts scale 30 10000).
  if (process.argv[2] === 'scale') {
    const n = Number(process.argv[3] ?? 30);
    for (const services of process.argv[4] ? [Number(process.argv[4])] : [1_000, 10_000]) console.log(JSON.stringify(await measureScale(services, 100_000, n)));
    return;
  }
  const scale = [await measureScale(1_000, 100_000, quick ? 10 : 30), await measureScale(10_000, 100_000, quick ? 10 : 30)];
  const kinds: RouteTableKind[] = ['prefix', 'regex', 'regex-unindexed', 'regex-js'];
  // The slow table (every route's RegExp runs) gets fewer iterations.
  const routeMatch = measureRouteMatch(1_000, (k) => (k === 'regex-js' ? 200 : 5_000) / (quick ? 5 : 1), kinds, quick ? 3 : 5);
  process.send!({ scale, routeMatch } satisfies ConfigScaleReport);
}

// Only when run as itself (forked by config-scale-runner.ts, or `... config-scale.ts routes`), not
// when another bench imports generateMesh.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && (process.send || process.argv[2] === 'routes' || process.argv[2] === 'scale')) await main();
