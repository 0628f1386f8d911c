// MSH0002: DestinationRules for one host in one namespace merge as istiod merges them — subsets
// join by name, the oldest rule's top-level trafficPolicy stays — so a later rule's duplicate
// subset or its whole trafficPolicy silently does nothing. (istioctl has no analyzer for this.)
// The merge itself is the compiler's (compile/clusters/destination-rule-index.ts); it records what it
// leaves out, and this reports it.

import { Problems } from '../compile/common/compile-context.ts';
import { DestinationRuleIndex } from '../compile/clusters/destination-rule-index.ts';
import type { Analyzer } from './analysis-context.ts';

export const conflictingDestinationRules: Analyzer = {
  name: 'destinationrule.Conflicts',
  description: 'DestinationRules that merge for one host do not define the same subset or both set a trafficPolicy',
  messages: ['ConflictingDestinationRules'],
  run(ctx) {
    // Merging does not depend on the client; any identity builds the same merged rules.
    const client = { namespace: ctx.rootNamespace, labels: {}, clusterDomain: ctx.clusterDomain, rootNamespace: ctx.rootNamespace };
    const index = new DestinationRuleIndex({ client, problems: new Problems(), mesh: ctx.mesh }, ctx.destinationRules);
    for (const c of index.conflicts) {
      const winner = `${c.winner.metadata.namespace}/${c.winner.metadata.name}`;
      const text = c.what === 'subset'
        ? `duplicate subset ${String(c.rule.spec.subsets?.[c.path[2] as number]?.name)} for host ${c.host}: DestinationRule ${winner} is older and already defines it, so this one is ignored`
        : `DestinationRule ${winner} for host ${c.host} is older and sets a trafficPolicy, so this one's is ignored (its subsets still apply): merge them into one rule`;
      ctx.report('ConflictingDestinationRules', c.rule, c.path, text);
    }
  },
};
