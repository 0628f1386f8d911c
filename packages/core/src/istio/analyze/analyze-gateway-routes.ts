// IST0101 for Gateway API routes for the mesh (HTTPRoute, GRPCRoute): a parentRef naming a
// ServiceEntry that is not there or a Service no ServiceEntry declares, and a backendRef (or
// RequestMirror backend) whose service is not declared or lacks the port. A missing parent means
// the route applies to nothing; a missing backend, that its share of the requests fails.

import type { Analyzer } from './analysis-context.ts';
import { gatewayRouteBackends } from './analysis-destinations.ts';
import { explainLookup } from './analysis-services.ts';

export const gatewayRoutes: Analyzer = {
  name: 'gateway.RouteReferences',
  description: 'every mesh parentRef and backendRef of an HTTPRoute or GRPCRoute names a declared service and port',
  messages: ['ReferencedResourceNotFound'],
  run(ctx) {
    for (const route of ctx.gatewayRoutes) {
      const ns = route.metadata.namespace;
      (route.spec.parentRefs ?? []).forEach((parent, i) => {
        const kind = parent.kind ?? 'Gateway';
        const group = parent.group ?? 'gateway.networking.k8s.io';
        const parentNs = parent.namespace ?? ns;
        if (kind === 'ServiceEntry' && group === 'networking.istio.io') {
          if (!ctx.serviceEntries.some((se) => se.metadata.namespace === parentNs && se.metadata.name === parent.name)) {
            ctx.report('ReferencedResourceNotFound', route, ['spec', 'parentRefs', i], `Referenced ServiceEntry not found: "${parentNs}/${parent.name}"; this parent routes nothing`);
          }
        } else if (kind === 'Service' && (group === '' || group === 'core')) {
          const host = `${parent.name}.${parentNs}.svc.${ctx.clusterDomain}`;
          const found = ctx.services.lookup(host, ns);
          if (found.kind !== 'found') ctx.report('ReferencedResourceNotFound', route, ['spec', 'parentRefs', i], `Referenced Service not found: "${host}" (${explainLookup(found, ns)}); this parent routes nothing`);
        }
      });
      for (const { ref, host, path } of gatewayRouteBackends(route, ctx.clusterDomain)) {
        if (host === undefined) continue; // an unsupported backend kind: the compiler says so
        const found = ctx.services.lookup(host, ns);
        if (found.kind !== 'found') {
          ctx.report('ReferencedResourceNotFound', route, [...path, 'name'], `Referenced backend not found: "${host}" (${explainLookup(found, ns)}); requests sent to it fail`);
          continue;
        }
        const ports = [...new Set(found.services.flatMap((s) => s.ports.map((p) => p.number)))];
        if (ref.port !== undefined && !ports.includes(ref.port)) {
          ctx.report('ReferencedResourceNotFound', route, [...path, 'port'], `Referenced backend host:port not found: "${host}:${ref.port}" (the service has port${ports.length === 1 ? '' : 's'} ${ports.join(', ') || 'none'}); requests sent to it fail`);
        }
      }
    }
  },
};
