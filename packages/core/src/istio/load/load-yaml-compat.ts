// Where YAML 1.2 (the `yaml` package) and Kubernetes' YAML reader (go-yaml, libyaml's scanner)
// disagree on plain text that Istio users actually write, read it the Kubernetes way, so a file
// `kubectl apply` accepts means the same thing here.
//
// The one case handled: inside a flow sequence, go-yaml ends a plain scalar at ':' only when a
// space or line end follows. So `addresses: [2001:db8::]` is the string "2001:db8::" to
// Kubernetes, while YAML 1.2 reads the final ':' before ']' as a key/value separator and yields
// the map {"2001:db8:": null}.

import { isMap, isScalar, isSeq, Scalar, visit, type Document } from 'yaml';

const FLOW_END = new Set([',', ']', '}']);

export function applyKubernetesScalarRules(doc: Document, text: string): void {
  visit(doc, {
    Seq(_key, seq) {
      if (!isSeq(seq) || !seq.flow) return;
      seq.items = seq.items.map((item) => {
        if (!isMap(item) || item.items.length !== 1) return item;
        const pair = item.items[0];
        const key = pair?.key;
        const value = pair?.value;
        if (!isScalar(key) || key.type !== 'PLAIN' || !key.range || !item.range) return item;
        // Only an implicit pair (no braces) whose value is missing entirely.
        if (item.range[0] !== key.range[0]) return item;
        if (value !== null && !(isScalar(value) && value.value === null && value.source === '')) return item;
        const colon = key.range[1];
        if (text[colon] !== ':' || !FLOW_END.has(text[colon + 1] ?? '')) return item;
        const scalar = new Scalar(`${String(key.source ?? key.value)}:`);
        scalar.range = [key.range[0], colon + 1, colon + 1];
        return scalar;
      });
    },
  });
}

/**
 * Kubernetes stores objects as JSON, so YAML-only values are reduced to JSON ones: !!set to a
 * list, !!omap to an object, !!binary to base64 text, !!timestamp to RFC 3339 text. Validators
 * and the compiler then only ever see JSON types.
 */
export function toJsonValue(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Set) return [...v].map(toJsonValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonValue(x)]));
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return String(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  }
  return String(v);
}
