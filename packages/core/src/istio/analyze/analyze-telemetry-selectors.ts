// IST0160: more than one Telemetry in a namespace without a workload selector — istioctl's
// telemetry.DefaultSelectorAnalyzer. Only the oldest applies to the namespace's workloads
// (compile/compile-telemetry.ts), so the settings of the others silently do nothing.

import { hasSelector } from '../compile/compile-telemetry.ts';
import type { Telemetry } from '../types.ts';
import type { Analyzer } from './analysis-context.ts';

export const telemetrySelectors: Analyzer = {
  name: 'telemetry.DefaultSelector',
  description: 'at most one Telemetry per namespace has no workload selector',
  messages: ['MultipleTelemetriesWithoutWorkloadSelectors'],
  run(ctx) {
    const byNamespace = new Map<string, Telemetry[]>();
    for (const t of ctx.telemetries) {
      // As the compiler counts them: an empty selector selects the whole namespace; a targetRef
      // binds the Telemetry to what it names instead.
      if (hasSelector(t)) continue;
      const list = byNamespace.get(t.metadata.namespace) ?? [];
      list.push(t);
      byNamespace.set(t.metadata.namespace, list);
    }
    for (const [ns, list] of byNamespace) {
      if (list.length < 2) continue;
      const names = list.map((t) => `${t.metadata.namespace}/${t.metadata.name}`).sort().join(', ');
      for (const t of list) {
        ctx.report('MultipleTelemetriesWithoutWorkloadSelectors', t, ['metadata', 'name'], `The Telemetries ${names} in namespace "${ns}" have no workload selector, which can lead to undefined behavior: only the oldest applies to the namespace's workloads; merge them or give each a selector`);
      }
    }
  },
};
