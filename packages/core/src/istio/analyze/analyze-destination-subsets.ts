// IST0101 for a destination subset no DestinationRule defines for its host — istioctl's
// virtualservice.DestinationRuleAnalyzer. A DestinationRule for a wildcard host covering the
// destination counts too (it applies to that host). Which rule a client actually gets also
// depends on its namespace; the compiler reports that case per client.

import { hostCovers, isWildcardHost } from '../compile/common/host-names.ts';
import type { Analyzer } from './analysis-context.ts';
import { virtualServiceDestinations } from './analysis-destinations.ts';

export const destinationSubsets: Analyzer = {
  name: 'virtualservice.DestinationSubsets',
  description: 'every subset a VirtualService destination names is defined by a DestinationRule for that host',
  messages: ['ReferencedResourceNotFound'],
  run(ctx) {
    const subsets = new Map<string, Set<string>>();
    for (const dr of ctx.destinationRules) {
      const host = ctx.fqdn(dr.spec.host, dr.metadata.namespace);
      let names = subsets.get(host);
      if (!names) subsets.set(host, (names = new Set()));
      for (const s of dr.spec.subsets ?? []) names.add(s.name);
    }
    const wildcards = [...subsets].filter(([h]) => isWildcardHost(h));
    const defines = (host: string, subset: string): boolean => {
      if (subsets.get(host)?.has(subset)) return true;
      return wildcards.some(([h, names]) => hostCovers(h, host) && names.has(subset));
    };
    for (const vs of ctx.virtualServices) {
      for (const { destination, path, mirror } of virtualServiceDestinations(vs)) {
        if (!destination.subset) continue;
        const host = ctx.fqdn(destination.host, vs.metadata.namespace);
        if (defines(host, destination.subset)) continue;
        const why = subsets.has(host) ? `the DestinationRule for ${host} has no subset ${destination.subset}` : `no DestinationRule is for ${host}`;
        ctx.report(
          'ReferencedResourceNotFound',
          vs,
          [...path, 'subset'],
          `Referenced ${mirror ? 'mirror' : 'host'}+subset in destinationrule not found: "${host}+${destination.subset}" (${why}); ${mirror ? 'nothing is mirrored there' : 'requests routed there fail'}`,
        );
      }
    }
  },
};
