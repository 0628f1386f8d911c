// The VirtualServices that apply to one client, in the order istiod considers them, with short
// host names resolved and delegates merged in — the input the route compiler works from.
//
// istiod (PushContext.initVirtualServices, VirtualServicesForGateway, ResolveVirtualServiceShortnames,
// mergeVirtualServices): a VirtualService applies to sidecars and proxyless clients when its
// `gateways` is empty or names `mesh`; it is visible to the client's namespace by exportTo (absent
// = MeshConfig defaultVirtualServiceExportTo, '*' unless set) and, with a Sidecar in force, when
// its egress hosts select it (./sidecar-scope.ts); candidates come in three groups — those kept private to the client's namespace, those
// exported to it by name, then public ones — each oldest first. Hosts and destinations without a
// dot are short for `<name>.<VirtualService namespace>.svc.<domain>`.

import type { CompileContext } from '../common/compile-context.ts';
import { compareByCreation, objectKey } from '../../object-conventions.ts';
import { mergeDelegateRules } from './compile-delegate.ts';
import { resolveRuleHosts, type ResolvedRule, type RuleOrigin } from './resolved-rule.ts';
import { resolveShortName } from '../common/host-names.ts';
import type { VirtualService } from '../../types.ts';
import { gatewayRuleSource, usesGatewaySemantics } from './compile-gateway-api.ts';

export interface ResolvedVirtualService {
  obj: VirtualService;
  /** FQDNs (or wildcards), lower-cased. */
  hosts: string[];
  rules: ResolvedRule[];
}

export function selectVirtualServices(ctx: CompileContext, all: readonly VirtualService[]): ResolvedVirtualService[] {
  const clientNs = ctx.client.namespace;
  const delegates = new Map<string, VirtualService>();
  const privateList: VirtualService[] = [];
  const exportedList: VirtualService[] = [];
  const publicList: VirtualService[] = [];
  for (const vs of all) {
    if ((vs.spec.hosts?.length ?? 0) === 0) {
      delegates.set(objectKey(vs), vs);
      continue;
    }
    const gateways = vs.spec.gateways ?? [];
    if (gateways.length > 0 && !gateways.includes('mesh')) continue; // bound to gateways only
    const given = vs.spec.exportTo?.length ? vs.spec.exportTo : ctx.mesh.defaultVirtualServiceExportTo;
    const exportTo = new Set(given.map((e) => (e === '.' ? vs.metadata.namespace : e)));
    if (exportTo.size === 0 || exportTo.has('*')) publicList.push(vs);
    else if (exportTo.has('~')) continue;
    else if (exportTo.has(clientNs)) (vs.metadata.namespace === clientNs ? privateList : exportedList).push(vs);
  }
  const ordered = [...privateList.sort(compareByCreation), ...exportedList.sort(compareByCreation), ...publicList.sort(compareByCreation)];
  const scope = ctx.scope;
  const inScope = scope ? ordered.filter((vs) => scope.selects(vs, hostsOf(vs, ctx.client.clusterDomain), usesGatewaySemantics(vs))) : ordered;
  return inScope.map((vs) => resolveRoot(ctx, vs, delegates));
}

/** A VirtualService's hosts as FQDNs (short names are in its own namespace), lower-cased. */
function hostsOf(vs: VirtualService, domain: string): string[] {
  return (vs.spec.hosts ?? []).map((h) => resolveShortName(h.toLowerCase(), vs.metadata.namespace, domain));
}

function resolveRoot(ctx: CompileContext, vs: VirtualService, delegates: Map<string, VirtualService>): ResolvedVirtualService {
  const domain = ctx.client.clusterDomain;
  const ns = vs.metadata.namespace;
  const hosts = hostsOf(vs, domain);
  if ((vs.spec.tcp?.length ?? 0) > 0) ctx.problems.warn(vs, ['spec', 'tcp'], 'tcp routes are not compiled: Meshlet, like istiod for proxyless clients, only applies http routes');
  if ((vs.spec.tls?.length ?? 0) > 0) ctx.problems.warn(vs, ['spec', 'tls'], 'tls routes are not compiled: Meshlet, like istiod for proxyless clients, only applies http routes');
  const rules: ResolvedRule[] = [];
  (vs.spec.http ?? []).forEach((raw, ruleIndex) => {
    const http = resolveRuleHosts(raw, ns, domain);
    // A rule converted from a Gateway API route reports problems at that route's rule.
    const gw = gatewayRuleSource(vs, ruleIndex);
    const origin: RuleOrigin = { vs: gw?.obj ?? vs, path: gw?.path ?? ['spec', 'http', ruleIndex], root: vs, ruleIndex };
    if (!http.delegate) {
      rules.push({ http, origin });
      return;
    }
    const delegateNs = http.delegate.namespace || ns;
    const key = `${delegateNs}/${http.delegate.name ?? ''}`;
    const target = delegates.get(key);
    // A delegate that is missing, has hosts, or is not exported here: the rule is skipped, and
    // the analyzers report it (IST0101, analyze-delegates.ts).
    if (!target || !delegateVisible(target, ns)) return;
    for (const r of mergeDelegateRules(ctx, http, origin, target, domain)) rules.push(r);
  });
  return { obj: vs, hosts, rules };
}

export function delegateVisible(delegate: VirtualService, rootNamespace: string): boolean {
  const exportTo = delegate.spec.exportTo ?? [];
  if (exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? delegate.metadata.namespace : e) === rootNamespace);
}
