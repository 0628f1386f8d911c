// Prints every field where istiod's xDS resources differ from the embedded compiler's for the
// same CRDs: the input to docs/istiod-differences.md.
//
//   node --conditions=source packages/core/test/interop/istiod-diff.ts <config dir> <listener>...
//   node --conditions=source packages/core/test/interop/istiod-diff.ts --sidecar <config dir>
//
// Builds and starts the istiod server of the interop test, fetches the listeners (and what they
// reach) with Meshlet's ADS client, compiles the same folder, and diffs resource by resource.
// With --sidecar both sides are the Envoy sidecar's form: istiod's sidecar generator against
// `meshlet xds` serving the same folder to a node without GENERATOR, every resource.

import { createMesh, silentLogger, TYPE_URL, XdsServer, type ConfigDump } from '../../src/index.ts';
import { decodeAny, encodeAny } from '../../src/xds/codec/index.ts';
import { tempDir, writeBootstrap } from '../xds-helpers.ts';
import { buildGo, startGoServer } from './go-build.ts';

type Json = unknown;

function diff(a: Json, b: Json, path: string, out: string[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) diff(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diff(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  const show = (v: Json): string => (v === undefined ? '(absent)' : JSON.stringify(v));
  out.push(`  ${path}: istiod ${show(a)} | meshlet ${show(b)}`);
}

const TYPES = { listeners: TYPE_URL.Listener, routeConfigs: TYPE_URL.RouteConfiguration, clusters: TYPE_URL.Cluster, endpoints: TYPE_URL.ClusterLoadAssignment };

// Through the wire and back, so both sides are in the same JSON mapping (default values such
// as lbPolicy ROUND_ROBIN, the enum's zero, are left out on both).
function normalize(kind: keyof typeof TYPES, r: Json): Json {
  const { typeUrl, value } = encodeAny({ '@type': TYPES[kind], ...(r as object) });
  const d = decodeAny(typeUrl, value);
  if (!d.ok) throw d.error;
  const { '@type': _t, ...rest } = d.value as Record<string, Json>;
  return rest;
}

function byName(kind: keyof typeof TYPES, list: unknown[], key: string): Map<string, Json> {
  return new Map(list.map((r) => [(r as Record<string, string>)[key]!, normalize(kind, r)]));
}

const args = process.argv.slice(2);
const sidecar = args[0] === '--sidecar';
const [dir, ...listeners] = sidecar ? args.slice(1) : args;
if (!dir || (!sidecar && listeners.length === 0)) {
  process.stderr.write('usage: istiod-diff.ts <config dir> <fqdn:port>...  |  istiod-diff.ts --sidecar <config dir>\n');
  process.exit(2);
}
const istiod = await startGoServer(await buildGo('istiod'), ['-config', dir]);
const ours = sidecar ? await XdsServer.start({ config: [dir], listen: '127.0.0.1:0', logger: silentLogger, watch: false }) : undefined;
try {
  const viaIstiod = sidecar
    ? await createMesh({ bootstrap: writeBootstrap(tempDir('diff'), istiod.address), xds: { generator: 'sidecar' }, logger: silentLogger })
    : await createMesh({ bootstrap: writeBootstrap(tempDir('diff'), istiod.address), listeners, logger: silentLogger });
  const embedded = ours
    ? await createMesh({ bootstrap: writeBootstrap(tempDir('diff'), ours.address), xds: { generator: 'sidecar' }, logger: silentLogger })
    : await createMesh({ config: dir, watch: false, logger: silentLogger });
  const a = viaIstiod.configDump();
  const b = embedded.configDump();
  for (const [kind, key] of [['listeners', 'name'], ['routeConfigs', 'name'], ['clusters', 'name'], ['endpoints', 'clusterName']] as const) {
    const ia = byName(kind, a[kind as keyof ConfigDump] as unknown[], key);
    const ib = byName(kind, b[kind as keyof ConfigDump] as unknown[], key);
    for (const name of [...new Set([...ia.keys(), ...ib.keys()])].sort()) {
      // The embedded compiler builds every service; compare only what the listeners reach.
      if (!ia.has(name) && !sidecar) continue;
      const out: string[] = [];
      diff(ia.get(name), ib.get(name), '', out);
      if (out.length) process.stdout.write(`${kind} ${name}\n${out.join('\n')}\n`);
    }
  }
  for (const [who, m] of [['istiod', viaIstiod], ['meshlet', embedded]] as const) {
    const d = m.configDump();
    if (d.problems.length) process.stdout.write(`problems (${who}):\n  ${d.problems.join('\n  ')}\n`);
    if (d.notes?.length) process.stdout.write(`notes (${who}):\n  ${d.notes.join('\n  ')}\n`);
  }
  await viaIstiod.close();
  await embedded.close();
} finally {
  ours?.close();
  await istiod.stop();
}
