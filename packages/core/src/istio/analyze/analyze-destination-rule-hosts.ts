// IST0174: a DestinationRule whose host matches no service, so its policies and subsets apply to
// nothing — istioctl's check in destinationrule.SubsetSelectPodAnalyzer.

import { hostCovers, isWildcardHost } from '../compile/common/host-names.ts';
import type { Analyzer } from './analysis-context.ts';
import { explainLookup } from './analysis-services.ts';

export const destinationRuleHosts: Analyzer = {
  name: 'destinationrule.Hosts',
  description: 'the host of every DestinationRule is declared by some service',
  messages: ['UnknownDestinationRuleHost'],
  run(ctx) {
    for (const dr of ctx.destinationRules) {
      const ns = dr.metadata.namespace;
      const host = ctx.fqdn(dr.spec.host, ns);
      if (isWildcardHost(host)) {
        if ([...ctx.services.all()].some(([declared]) => hostCovers(host, declared))) continue;
        ctx.report('UnknownDestinationRuleHost', dr, ['spec', 'host'], `The host ${host} defined in the DestinationRule does not match any services in the mesh (it covers no host a ServiceEntry declares); this rule applies to nothing`);
        continue;
      }
      const found = ctx.services.lookup(host, ns);
      if (found.kind === 'found' || found.kind === 'hidden') continue;
      ctx.report('UnknownDestinationRuleHost', dr, ['spec', 'host'], `The host ${host} defined in the DestinationRule does not match any services in the mesh (${explainLookup(found, ns)}); this rule applies to nothing`);
    }
  },
};
