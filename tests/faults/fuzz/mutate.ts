// Mutations for the fuzzers, driven by a seeded PRNG so fast-check's seed reproduces a case:
// structure-aware edits of JSON-mapping values (a leaf swapped for an edge value, a key
// dropped or added, a list element repeated or emptied), byte edits of encoded messages, and
// text edits of YAML.

export type Rnd = () => number;

export function mulberry32(seed: number): Rnd {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rnd: Rnd, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
export const int = (rnd: Rnd, min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));

/** Values that break assumptions: empty, huge, negative, wrong type, odd strings and regexes. */
const EDGE_STRINGS = [
  '', ' ', '*', '**', '*.', '.', '..', '/', '//', '0s', '-1s', '0.0000000001s', '315576000001s', '1e309', 'NaN', '-0',
  '.*', '(a+)+$', '[', '(?P<x>a)', '\\', '^$', '(?i)ABC', 'a{1000000}', '\u0000', '\uFFFF', '\uD800', 'é漢😀', 'x'.repeat(5000),
  'type.googleapis.com/', 'type.googleapis.com/envoy.config.cluster.v3.Cluster', 'outbound|9080|v1|reviews.default.svc.cluster.local',
  'reviews.default.svc.cluster.local:9080', '127.0.0.1', '::1', '300.1.1.1', 'unix:///tmp/x', 'ROUND_ROBIN', 'RING_HASH', 'MAGLEV',
  'CLUSTER_PROVIDED', 'EDS', 'ORIGINAL_DST', 'STRICT_DNS', 'DRAINING', 'UNHEALTHY', 'HUNDRED', 'MILLION', '5xx,reset', 'bogus-token',
];
const EDGE_NUMBERS = [0, -1, 1, 2, 100, 101, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, -(2 ** 31), 2 ** 53, 1.5, -0.5, 1e300];
const EDGE_VALUES: unknown[] = [null, true, false, [], {}, [{}], { '@type': 'type.googleapis.com/google.protobuf.Empty' }];

function edgeValue(rnd: Rnd, like: unknown): unknown {
  const r = rnd();
  // Mostly the same JSON type as what it replaces (so the encoder takes it and the decoder and
  // validator see it); sometimes anything at all (for the paths that skip the encoder).
  if (r < 0.45 && typeof like === 'string') return pick(rnd, EDGE_STRINGS);
  if (r < 0.45 && typeof like === 'number') return pick(rnd, EDGE_NUMBERS);
  if (r < 0.45 && typeof like === 'boolean') return !like;
  if (r < 0.7) return pick(rnd, EDGE_STRINGS);
  if (r < 0.9) return pick(rnd, EDGE_NUMBERS);
  return structuredClone(pick(rnd, EDGE_VALUES));
}

/** Every [container, key] in `root` (objects and arrays, depth first). */
function slots(root: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 40 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); walk(x, depth + 1); });
    else for (const [k, x] of Object.entries(v)) { out.push([v as Record<string, unknown>, k]); walk(x, depth + 1); }
  };
  walk(root, 0);
  return out;
}

const EXTRA_KEYS = ['name', 'cluster', 'weight', 'timeout', 'retryPolicy', 'safeRegex', 'regex', 'prefix', 'path', 'domains', 'routes',
  'lbPolicy', 'type', 'connectTimeout', 'endpoints', 'lbEndpoints', 'portValue', 'address', 'priority', 'loadBalancingWeight',
  'weightedClusters', 'clusters', 'rds', 'routeConfig', 'hashPolicy', 'outlierDetection', 'circuitBreakers', 'thresholds',
  'healthStatus', 'directResponse', 'redirect', 'typedPerFilterConfig', '@type', '__proto__', 'constructor'];

/** A deep copy of `value` with 1–`max` structural edits. */
export function mutateJson<T>(value: T, rnd: Rnd, max = 4): T {
  const root = { v: structuredClone(value) } as Record<string, unknown>;
  for (let n = int(rnd, 1, max); n > 0; n--) {
    const all = slots(root);
    if (all.length === 0) break;
    const [container, key] = pick(rnd, all);
    const cur = (container as Record<string | number, unknown>)[key];
    const op = rnd();
    if (op < 0.5) (container as Record<string | number, unknown>)[key] = edgeValue(rnd, cur);
    else if (op < 0.65 && container !== root) {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else if (op < 0.75 && Array.isArray(cur) && cur.length > 0) cur.push(structuredClone(pick(rnd, cur)));
    else if (op < 0.8 && Array.isArray(cur)) cur.length = 0;
    else if (op < 0.9 && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      // Object.defineProperty so a "__proto__" key is data, as JSON.parse would make it.
      Object.defineProperty(cur, pick(rnd, EXTRA_KEYS), { value: edgeValue(rnd, ''), enumerable: true, writable: true, configurable: true });
    } else if (Array.isArray(container) || typeof container === 'object') {
      // Swap in a copy of another subtree of the same value: plausible shapes in wrong places.
      const [c2, k2] = pick(rnd, all);
      (container as Record<string | number, unknown>)[key] = structuredClone((c2 as Record<string | number, unknown>)[k2]);
    }
  }
  return root['v'] as T;
}

/** `bytes` with 1–4 byte-level edits: flips, cuts, insertions, repeats. */
export function mutateBytes(bytes: Uint8Array, rnd: Rnd): Uint8Array {
  let b = Buffer.from(bytes);
  for (let n = int(rnd, 1, 4); n > 0; n--) {
    const at = b.length ? int(rnd, 0, b.length - 1) : 0;
    const op = rnd();
    if (op < 0.35 && b.length) b[at] = b[at]! ^ (1 << int(rnd, 0, 7));
    else if (op < 0.5 && b.length) b[at] = pick(rnd, [0x00, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x1a]);
    else if (op < 0.65) b = b.subarray(0, at);
    else if (op < 0.85) b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: int(rnd, 1, 8) }, () => int(rnd, 0, 255))), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at + int(rnd, 1, 32)), b.subarray(at)]);
  }
  return new Uint8Array(b);
}

const YAML_BITS = ['\n', ' ', '  ', ':', ': ', '- ', '{', '}', '[', ']', ',', '"', "'", '#', '&a ', '*a', '<<: *a', '!!binary ', '!!set ', '? ',
  '|', '>', '---\n', '...\n', '~', 'null', '0x1F', '1e5', '.inf', 'yes', 'on', '\t', '%YAML 1.1\n', '@', '`', '\u00a0'];

/** `text` with 1–4 text edits that YAML cares about: structure characters, indentation, lines. */
export function mutateText(text: string, rnd: Rnd): string {
  let t = text;
  for (let n = int(rnd, 1, 4); n > 0; n--) {
    const at = int(rnd, 0, t.length);
    const op = rnd();
    if (op < 0.3) t = t.slice(0, at) + pick(rnd, YAML_BITS) + t.slice(at);
    else if (op < 0.45) t = t.slice(0, at) + t.slice(at + int(rnd, 1, 20));
    else if (op < 0.6) {
      // Replace the scalar after a ": " with an edge value.
      const colon = t.indexOf(': ', at);
      if (colon >= 0) {
        const end = t.indexOf('\n', colon);
        t = t.slice(0, colon + 2) + JSON.stringify(pick(rnd, [...EDGE_STRINGS.slice(0, 30), ...EDGE_NUMBERS])) + t.slice(end < 0 ? t.length : end);
      }
    } else {
      const lines = t.split('\n');
      const i = int(rnd, 0, lines.length - 1);
      const r = rnd();
      if (r < 0.3) lines.splice(i, 0, lines[i]!); // repeat a line
      else if (r < 0.55) lines.splice(i, 1); // drop a line
      else if (r < 0.8) lines[i] = ' '.repeat(int(rnd, 0, 3)) + lines[i]; // indentation
      else { const j = int(rnd, 0, lines.length - 1); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; }
      t = lines.join('\n');
    }
  }
  return t;
}
