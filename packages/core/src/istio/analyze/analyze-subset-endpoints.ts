// IST0173: a DestinationRule subset whose labels select none of its service's endpoints — the
// ServiceEntry's own endpoints and the WorkloadEntries it selects (istioctl looks at pods; a
// config folder has these instead). Requests routed to the subset find no host and fail with
// NoHealthyUpstreamError (Envoy's 503 UH). A service that lists no endpoint at all is left alone:
// it has nothing for any subset to select yet.

import { labelsMatch } from '../object-conventions.ts';
import type { Analyzer } from './analysis-context.ts';

export const subsetEndpoints: Analyzer = {
  name: 'destinationrule.SubsetSelectsEndpoints',
  description: "every DestinationRule subset selects at least one of its service's endpoints",
  messages: ['DestinationRuleSubsetNotSelectPods'],
  run(ctx) {
    for (const dr of ctx.destinationRules) {
      const ns = dr.metadata.namespace;
      const host = ctx.fqdn(dr.spec.host, ns);
      const found = ctx.services.lookup(host, ns);
      if (found.kind !== 'found') continue; // destinationrule.Hosts reports it
      const endpoints = found.services.flatMap((s) => s.endpoints);
      if (endpoints.length === 0) continue;
      (dr.spec.subsets ?? []).forEach((subset, i) => {
        if (subset.trafficPolicy?.loadBalancer?.simple === 'PASSTHROUGH') return; // the original destination, no endpoints
        if (endpoints.some((ep) => labelsMatch(subset.labels, ep.labels))) return;
        const labels = Object.entries(subset.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
        ctx.report(
          'DestinationRuleSubsetNotSelectPods',
          dr,
          ['spec', 'subsets', i, subset.labels ? 'labels' : 'name'],
          `The Subset ${subset.name} defined in the DestinationRule does not select any endpoint of ${host} (labels ${labels} match none of its ${endpoints.length}); requests routed to it fail with no healthy upstream (503 UH)`,
        );
      });
    }
  },
};
