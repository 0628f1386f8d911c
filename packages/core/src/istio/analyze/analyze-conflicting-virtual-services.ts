// IST0109: two VirtualServices for the mesh that define the same host for the same namespaces —
// istioctl's virtualservice.ConflictingMeshGatewayHostsAnalyzer. A client uses one of them for
// that host (the one in its own namespace, else the oldest) and ignores the other's rules, so the
// file that looks right may not be the one in force.

import { hostsOverlap } from '../compile/common/host-names.ts';
import type { VirtualService } from '../types.ts';
import type { Analyzer } from './analysis-context.ts';

const ALL = '*';

export const conflictingVirtualServices: Analyzer = {
  name: 'virtualservice.ConflictingMeshGatewayHosts',
  description: 'no two VirtualServices bound to the mesh define the same host for the same namespaces',
  messages: ['ConflictingMeshGatewayVirtualServiceHosts'],
  run(ctx) {
    // scope ('*' or a namespace) → host → [VirtualService, index in spec.hosts][]
    const scoped = new Map<string, Map<string, [VirtualService, number][]>>();
    for (const vs of ctx.virtualServices) {
      const gateways = vs.spec.gateways ?? [];
      if (gateways.length > 0 && !gateways.includes('mesh')) continue;
      const exportTo = vs.spec.exportTo ?? [];
      const scopes = exportTo.length === 0 || exportTo.includes(ALL) ? [ALL] : [...new Set(exportTo.map((e) => (e === '.' ? vs.metadata.namespace : e)))];
      (vs.spec.hosts ?? []).forEach((h, i) => {
        const host = ctx.fqdn(h, vs.metadata.namespace);
        for (const scope of scopes) {
          let hosts = scoped.get(scope);
          if (!hosts) scoped.set(scope, (hosts = new Map()));
          const list = hosts.get(host) ?? [];
          list.push([vs, i]);
          hosts.set(host, list);
        }
      });
    }
    const everywhere = scoped.get(ALL) ?? new Map<string, [VirtualService, number][]>();
    // As istioctl: each VirtualService is reported once, for the first conflict found.
    const reported = new Set<VirtualService>();
    for (const [scope, hosts] of scoped) {
      for (const [host, own] of hosts) {
        // A VirtualService exported to one namespace also meets those exported everywhere.
        const list = [...own];
        if (scope !== ALL) for (const [h, wide] of everywhere) if (hostsOverlap(h, host)) for (const w of wide) list.push(w);
        const distinct = [...new Map(list.map(([vs, i]) => [vs, i])).entries()];
        if (distinct.length < 2) continue;
        const names = distinct.map(([vs]) => `${vs.metadata.namespace}/${vs.metadata.name}`).sort().join(', ');
        for (const [vs, i] of distinct) {
          if (reported.has(vs)) continue;
          reported.add(vs);
          ctx.report(
            'ConflictingMeshGatewayVirtualServiceHosts',
            vs,
            ['spec', 'hosts', i],
            `The VirtualServices ${names} associated with mesh gateway define the same host ${host}; a client uses only one of them for it (the one in its own namespace, else the oldest) and ignores the others' rules: merge them into one VirtualService`,
          );
        }
      }
    }
  },
};
