// DestinationRule rules from istiod's webhook (istio/istio pkg/config/validation/validation.go,
// ValidateDestinationRule): the host, the traffic policies, subsets, exportTo and the workload
// selector. Runs after the schema check.

import type { DestinationRuleSpec } from '../types.ts';
import { checkExportTo, checkLabels, checkSelectorLabels, checkWildcardDomain, type ValidationContext } from './validate-common.ts';
import { checkSubsetName } from './validate-http-route.ts';
import { validateTrafficPolicy, type TrafficPolicyInput } from './validate-traffic-policy.ts';

export function validateDestinationRule(spec: DestinationRuleSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  const hostErr = checkWildcardDomain(spec.host);
  if (hostErr) r.error(['spec', 'host'], hostErr);
  validateTrafficPolicy(spec.trafficPolicy as TrafficPolicyInput | undefined, ctx.namespace, ['spec', 'trafficPolicy'], r);

  const names = new Set<string>();
  (spec.subsets ?? []).forEach((subset, i) => {
    const sp = ['spec', 'subsets', i];
    if (names.has(subset.name)) r.error([...sp, 'name'], `duplicate subset name "${subset.name}"`);
    names.add(subset.name);
    const nameErr = checkSubsetName(subset.name);
    if (nameErr) r.error([...sp, 'name'], nameErr);
    checkLabels(subset.labels, [...sp, 'labels'], r);
    validateTrafficPolicy(subset.trafficPolicy as TrafficPolicyInput | undefined, ctx.namespace, [...sp, 'trafficPolicy'], r);
  });

  const selector = spec.workloadSelector;
  checkExportTo(spec.exportTo, { namespace: ctx.namespace, isServiceEntry: false, drWithSelector: selector !== undefined }, ['spec', 'exportTo'], r);
  if (selector) {
    checkSelectorLabels(selector.matchLabels, ['spec', 'workloadSelector', 'matchLabels'], r, 'workloadSelector has no labels, so it selects every workload in the namespace');
  }
}
