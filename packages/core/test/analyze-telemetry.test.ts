// telemetry.DefaultSelector (IST0160): two namespace-wide Telemetries in one namespace.

import { describe, expect, it } from 'vitest';
import { analyzeYaml, lineOf } from './analyze-helpers.ts';

const telemetry = (name: string, body: string, ns = 'default'): string =>
  `apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${body}\n---\n`;
const SAMPLING = '  tracing: [{ randomSamplingPercentage: 10 }]';

describe('telemetry.DefaultSelector (IST0160)', () => {
  it('two Telemetries without a selector in one namespace are both reported', () => {
    const yaml = telemetry('a', SAMPLING) + telemetry('b', `  selector: { matchLabels: {} }\n${SAMPLING}`);
    const text = 'The Telemetries default/a, default/b in namespace "default" have no workload selector, which can lead to undefined behavior: only the oldest applies to the namespace\'s workloads; merge them or give each a selector [IST0160]';
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'name: a')}: Telemetry default/a: metadata.name: ${text}`,
      `mesh.yaml:${lineOf(yaml, 'name: b')}: Telemetry default/b: metadata.name: ${text}`,
    ]);
  });

  it('one per namespace, or others with selectors or targetRefs, is fine', () => {
    const yaml = telemetry('a', SAMPLING) + telemetry('b', SAMPLING, 'other')
      + telemetry('c', `  selector: { matchLabels: { app: web } }\n${SAMPLING}`)
      + telemetry('d', `  targetRefs: [{ kind: Service, group: "", name: web }]\n${SAMPLING}`);
    expect(analyzeYaml(yaml)).toEqual([]);
  });
});
