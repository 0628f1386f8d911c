// IST0101 for a VirtualService rule that delegates to a VirtualService that is not there, is not
// a delegate (it has hosts), or is not exported to the delegating one's namespace: the rule is
// skipped, so requests it would have matched fall through to the next rules.

import { delegateVisible } from '../compile/routes/compile-virtual-services.ts';
import type { VirtualService } from '../types.ts';
import type { Analyzer } from './analysis-context.ts';

export const delegates: Analyzer = {
  name: 'virtualservice.Delegates',
  description: 'every delegate a VirtualService rule names exists, has no hosts, and is exported to it',
  messages: ['ReferencedResourceNotFound'],
  run(ctx) {
    const byKey = new Map<string, VirtualService>(ctx.virtualServices.map((vs) => [`${vs.metadata.namespace}/${vs.metadata.name}`, vs]));
    for (const vs of ctx.virtualServices) {
      const ns = vs.metadata.namespace;
      (vs.spec.http ?? []).forEach((rule, i) => {
        if (!rule.delegate) return;
        const key = `${rule.delegate.namespace || ns}/${rule.delegate.name ?? ''}`;
        const target = byKey.get(key);
        const path = ['spec', 'http', i, 'delegate'];
        const skipped = 'this rule is skipped and its requests fall through to the next rules';
        if (!target) ctx.report('ReferencedResourceNotFound', vs, path, `Referenced delegate VirtualService not found: "${key}"; ${skipped}`);
        else if ((target.spec.hosts?.length ?? 0) > 0) ctx.report('ReferencedResourceNotFound', vs, path, `Referenced delegate VirtualService not found: "${key}" has hosts, and only a VirtualService without hosts can be a delegate; ${skipped}`);
        else if (!delegateVisible(target, ns)) ctx.report('ReferencedResourceNotFound', vs, path, `Referenced delegate VirtualService not found: "${key}" is not exported to namespace ${ns}; ${skipped}`);
      });
    }
  },
};
