// The destinations a VirtualService or a Gateway API route sends to, each with its field path,
// so the analyzers that check references walk them one way.

import { backendHost } from '../compile/routes/compile-gateway-api.ts';
import type { GatewayRoute, GwBackendObjectReference } from '../gateway-api-types.ts';
import type { Destination, VirtualService } from '../types.ts';
import type { Path } from './analysis-context.ts';

export interface DestinationRef {
  destination: Destination;
  /** Path of the Destination object. */
  path: Path;
  mirror: boolean;
}

/** Route destinations of every http, tcp and tls rule, then http mirrors (as istioctl walks them). */
export function virtualServiceDestinations(vs: VirtualService): DestinationRef[] {
  const out: DestinationRef[] = [];
  for (const section of ['http', 'tcp', 'tls'] as const) {
    // tcp and tls rules are typed loosely (Meshlet does not compile them); the schema checked
    // that their routes have this shape.
    const rules = (vs.spec[section] ?? []) as readonly { route?: readonly { destination: Destination }[] }[];
    rules.forEach((rule, i) => {
      (rule.route ?? []).forEach((r, j) => out.push({ destination: r.destination, path: ['spec', section, i, 'route', j, 'destination'], mirror: false }));
    });
  }
  (vs.spec.http ?? []).forEach((rule, i) => {
    if (rule.mirror) out.push({ destination: rule.mirror, path: ['spec', 'http', i, 'mirror'], mirror: true });
    (rule.mirrors ?? []).forEach((m, j) => out.push({ destination: m.destination, path: ['spec', 'http', i, 'mirrors', j, 'destination'], mirror: true }));
  });
  return out;
}

export interface BackendRef {
  ref: GwBackendObjectReference;
  /** The host it names; undefined for a kind Meshlet cannot route to (the compiler reports those). */
  host: string | undefined;
  path: Path;
}

/** backendRefs of every rule, and the backends of RequestMirror filters. */
export function gatewayRouteBackends(route: GatewayRoute, clusterDomain: string): BackendRef[] {
  const out: BackendRef[] = [];
  const add = (ref: GwBackendObjectReference, path: Path): void => {
    out.push({ ref, host: backendHost(ref, route.metadata.namespace, clusterDomain), path });
  };
  (route.spec.rules ?? []).forEach((rule, i) => {
    (rule.backendRefs ?? []).forEach((b, j) => {
      add(b, ['spec', 'rules', i, 'backendRefs', j]);
      (b.filters ?? []).forEach((f, k) => {
        if (f.requestMirror) add(f.requestMirror.backendRef, ['spec', 'rules', i, 'backendRefs', j, 'filters', k, 'requestMirror', 'backendRef']);
      });
    });
    (rule.filters ?? []).forEach((f, k) => {
      if (f.requestMirror) add(f.requestMirror.backendRef, ['spec', 'rules', i, 'filters', k, 'requestMirror', 'backendRef']);
    });
  });
  return out;
}
