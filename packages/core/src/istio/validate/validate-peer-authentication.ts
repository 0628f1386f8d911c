// PeerAuthentication rules: the CRD's CEL rules and istiod's webhook (istio/istio validation.go
// ValidatePeerAuthentication). Port keys and modes were already checked by the schema.

import type { PeerAuthenticationSpec } from '../types.ts';
import { checkSelectorLabels, type ValidationContext } from './validate-common.ts';

export function validatePeerAuthentication(spec: PeerAuthenticationSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  const portLevel = spec.portLevelMtls;
  const selectorLabels = Object.keys(spec.selector?.matchLabels ?? {}).length;
  if (portLevel !== undefined && selectorLabels === 0) {
    // Port numbers only mean something for a known set of workloads.
    r.error(['spec', 'portLevelMtls'], 'portLevelMtls needs a selector with matchLabels; a mesh- or namespace-wide policy cannot be port-specific');
  }
  for (const port of Object.keys(portLevel ?? {})) {
    const n = Number(port);
    if (!(n >= 1 && n <= 65535)) r.error(['spec', 'portLevelMtls', port], `port ${port} is not in the range 1..65535`);
  }
  if (spec.selector !== undefined) {
    checkSelectorLabels(spec.selector.matchLabels, ['spec', 'selector', 'matchLabels'], r,
      'selector has no labels, so the policy applies to every workload in the namespace');
  }
}
