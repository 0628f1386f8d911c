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
