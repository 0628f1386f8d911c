// IST0111: more than one Sidecar in a namespace without a workload selector — istioctl's
// sidecar.DefaultSelectorAnalyzer. A namespace has one default Sidecar; with several, istiod (and
// compile/common/sidecar-scope.ts) uses the oldest, so the egress scope of the others silently does nothing.

import type { Sidecar } from '../types.ts';
import type { Analyzer } from './analysis-context.ts';

export const sidecarSelectors: Analyzer = {
  name: 'sidecar.DefaultSelector',
  description: 'at most one Sidecar per namespace has no workload selector',
  messages: ['MultipleSidecarsWithoutWorkloadSelectors'],
  run(ctx) {
    const byNamespace = new Map<string, Sidecar[]>();
    for (const s of ctx.sidecars) {
      if (s.spec.workloadSelector !== undefined) continue;
      const list = byNamespace.get(s.metadata.namespace) ?? [];
      list.push(s);
      byNamespace.set(s.metadata.namespace, list);
    }
    for (const [ns, list] of byNamespace) {
      if (list.length < 2) continue;
      const names = list.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort().join(', ');
      for (const s of list) {
        ctx.report('MultipleSidecarsWithoutWorkloadSelectors', s, ['metadata', 'name'], `The Sidecars ${names} in namespace "${ns}" have no workload selector, which can lead to undefined behavior: only the oldest scopes the namespace's workloads; merge them or give each a selector`);
      }
    }
  },
};
