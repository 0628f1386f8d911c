// MSH0001: a VirtualService host that no service declares. Meshlet, like istiod for a sidecar or
// a proxyless client, keeps routes per declared service host, so the rules of such a
// VirtualService route nothing and the requests go out as if it did not exist. (istioctl has no
// analyzer for this: on a gateway such a host is legal.) A host hidden from some namespaces by
// exportTo is reported per client by the compiler.

import { hostsOverlap, isWildcardHost } from '../compile/common/host-names.ts';
import type { Analyzer } from './analysis-context.ts';
import { explainLookup } from './analysis-services.ts';

export const virtualServiceHosts: Analyzer = {
  name: 'virtualservice.Hosts',
  description: 'every host of a VirtualService bound to the mesh is declared by some service',
  messages: ['VirtualServiceHostNotFound'],
  run(ctx) {
    for (const vs of ctx.virtualServices) {
      const gateways = vs.spec.gateways ?? [];
      if (gateways.length > 0 && !gateways.includes('mesh')) continue;
      const ns = vs.metadata.namespace;
      (vs.spec.hosts ?? []).forEach((h, i) => {
        const host = ctx.fqdn(h, ns);
        if (host === '*') return;
        if (isWildcardHost(host)) {
          if ([...ctx.services.all()].some(([declared]) => hostsOverlap(declared, host))) return;
          ctx.report('VirtualServiceHostNotFound', vs, ['spec', 'hosts', i], `host ${host} covers no host any ServiceEntry declares, so these rules route nothing`);
          return;
        }
        const found = ctx.services.lookup(host, ns);
        if (found.kind === 'found' || found.kind === 'hidden') return;
        ctx.report('VirtualServiceHostNotFound', vs, ['spec', 'hosts', i], `host ${host} has no service (${explainLookup(found, ns)}), so these rules route nothing`);
      });
    }
  },
};
