// sidecar.DefaultSelector (IST0111): two namespace-wide Sidecars in one namespace.

import { describe, expect, it } from 'vitest';
import { analyzeYaml, lineOf } from './analyze-helpers.ts';

const sidecar = (name: string, body: string, ns = 'default'): string =>
  `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${body}\n---\n`;
const EGRESS = '  egress: [{ hosts: ["./*"] }]';

describe('sidecar.DefaultSelector (IST0111)', () => {
  it('two Sidecars without a selector in one namespace are both reported', () => {
    const yaml = sidecar('a', EGRESS) + sidecar('b', EGRESS);
    const text = 'The Sidecars default/a, default/b in namespace "default" have no workload selector, which can lead to undefined behavior: only the oldest scopes the namespace\'s workloads; merge them or give each a selector [IST0111]';
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'name: a')}: Sidecar default/a: metadata.name: ${text}`,
      `mesh.yaml:${lineOf(yaml, 'name: b')}: Sidecar default/b: metadata.name: ${text}`,
    ]);
  });

  it('one per namespace, and others with selectors, are fine', () => {
    const yaml = sidecar('a', EGRESS) + sidecar('b', EGRESS, 'other') + sidecar('c', `  workloadSelector: { labels: { app: web } }\n${EGRESS}`);
    expect(analyzeYaml(yaml)).toEqual([]);
  });
});
