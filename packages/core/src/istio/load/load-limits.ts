// How much config Meshlet reads, so a huge or hostile file fails fast with an error naming it
// instead of exhausting memory or the stack. Kubernetes is the guide: the API server refuses a
// request over 1.5 MiB (etcd's default request limit), so no object `kubectl get -o yaml` prints
// is larger, and 256 KiB is its limit for all of an object's annotations together. The other
// numbers are far above any real mesh (a 10,000-service mesh is ~10k objects) and far below what
// would hurt: YAML costs ~40× its size in memory while it is parsed, so 8 MiB stays under ~350 MB.
//
// A file over a limit is an error like any other: refused at start-up, and on a live edit the
// file's last good version stays in force (config/last-good-files.ts).

export interface LoadLimits {
  /** Bytes per file, checked with stat() before the file is read. */
  fileBytes: number;
  /** YAML documents per file (`---` separated); reading stops at the first one over. */
  documentsPerFile: number;
  /** Bytes of YAML per object (a document, or one item of a `kind: List`). */
  objectBytes: number;
  /** Objects across every file of the config (List items count one each). */
  totalObjects: number;
  /** Characters in any one string, key or value. */
  stringLength: number;
  /** Nested maps and lists in a document, aliases expanded (a real Istio object needs ~15). */
  nestingDepth: number;
}

export const LOAD_LIMITS: Readonly<LoadLimits> = {
  fileBytes: 8 * 1024 * 1024,
  documentsPerFile: 20_000,
  objectBytes: 1.5 * 1024 * 1024,
  totalObjects: 100_000,
  stringLength: 256 * 1024,
  nestingDepth: 64,
};

/** 1536 → "1.5 KiB", 8388608 → "8 MiB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}
