// IST0101 for a VirtualService destination (route, mirror, tcp or tls route) whose host no
// service declares, or whose port the service does not have — istioctl's
// virtualservice.DestinationHostAnalyzer, with visibility judged from the VirtualService's
// namespace as istioctl judges it. Meshlet keeps routing such a rule to a cluster that does not
// exist, so the requests it takes fail (ClusterNotFoundError).

import type { Analyzer } from './analysis-context.ts';
import { virtualServiceDestinations } from './analysis-destinations.ts';
import { explainLookup } from './analysis-services.ts';

export const destinationHosts: Analyzer = {
  name: 'virtualservice.DestinationHosts',
  description: 'every VirtualService destination host is declared by a service visible to it, with the port it names',
  messages: ['ReferencedResourceNotFound'],
  run(ctx) {
    for (const vs of ctx.virtualServices) {
      const ns = vs.metadata.namespace;
      for (const { destination, path, mirror } of virtualServiceDestinations(vs)) {
        const host = ctx.fqdn(destination.host, ns);
        if (host === '*') continue; // the validator rejects it already
        const found = ctx.services.lookup(host, ns);
        const consequence = mirror ? 'nothing is mirrored there' : 'requests routed there fail';
        if (found.kind !== 'found') {
          ctx.report('ReferencedResourceNotFound', vs, [...path, 'host'], `Referenced ${mirror ? 'mirror host' : 'host'} not found: "${host}" (${explainLookup(found, ns)}); ${consequence}`);
          continue;
        }
        const port = destination.port?.number;
        if (port === undefined) continue;
        const ports = [...new Set(found.services.flatMap((s) => s.ports.map((p) => p.number)))];
        if (!ports.includes(port)) {
          ctx.report('ReferencedResourceNotFound', vs, [...path, 'port', 'number'], `Referenced host:port not found: "${host}:${port}" (the service has port${ports.length === 1 ? '' : 's'} ${ports.join(', ') || 'none'}); ${consequence}`);
        }
      }
    }
  },
};
