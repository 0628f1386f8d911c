// One HTTP rule as the route compiler takes it: the rule, with its destination hosts resolved,
// and where it came from (root VirtualService, delegate, or Gateway API route), so problems and
// route metadata can name the object that wrote it. Shared by compile-virtual-services.ts and
// compile-delegate.ts, which merges a delegate's rules into its root's.

import type { Path } from '../common/compile-context.ts';
import { resolveShortName } from '../common/host-names.ts';
import type { Destination, HTTPRoute, VirtualService } from '../../types.ts';
import type { GatewayRoute } from '../../gateway-api-types.ts';

/** Where a compiled rule came from: the root VirtualService rule, and the delegate's if any. */
export interface RuleOrigin {
  /** The object the rule's fields were written in (the delegate for a delegated rule; the HTTPRoute or GRPCRoute for a converted one). */
  vs: VirtualService | GatewayRoute;
  /** Path of the rule inside `vs`, e.g. ['spec','http',2]. */
  path: Path;
  /** The VirtualService that owns the host (the root). */
  root: VirtualService;
  /** Index of the rule in the root's `http` list. */
  ruleIndex: number;
  delegate?: { vs: VirtualService; ruleIndex: number };
}

export interface ResolvedRule {
  http: HTTPRoute;
  origin: RuleOrigin;
}

/** A copy of `rule` with every destination host resolved relative to `namespace`. */
export function resolveRuleHosts(rule: HTTPRoute, namespace: string, domain: string): HTTPRoute {
  const out = structuredClone(rule);
  const fix = (d: Destination): void => {
    d.host = resolveShortName(d.host.toLowerCase(), namespace, domain);
  };
  for (const r of out.route ?? []) fix(r.destination);
  if (out.mirror) fix(out.mirror);
  for (const m of out.mirrors ?? []) fix(m.destination);
  return out;
}
