// The four xDS resource types a client mesh subscribes to, each with what the ADS client needs
// to know about it: its type URL, how to name a decoded resource, how to validate it before
// ACKing (the same translate functions the snapshot builder uses, so anything ACKed is
// something the data path can use), and which resources of the next type it references.
// The chain LDS → RDS → CDS → EDS is walked through `references`.

import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, HttpConnectionManager } from '../../xds/resources.ts';
import { TYPE_URL } from '../../xds/resources.ts';
import { translateListener } from '../../snapshot/translate-listener.ts';
import { filterChainManagers, translateSidecarListener } from '../../snapshot/translate-sidecar-listener.ts';
import { translateServerListener } from '../../security/server-listener.ts';
import { translateRouteConfiguration, translateRouteConfigurationSteps } from '../../snapshot/translate-route-config.ts';
import { translateCluster, translateLoadAssignment } from '../../snapshot/translate-cluster.ts';
import type { Result } from '../../xds/translate-result.ts';
import { fail, ok } from '../../xds/translate-result.ts';

export type ResourceKind = 'Listener' | 'RouteConfiguration' | 'Cluster' | 'ClusterLoadAssignment';

export interface ResourceType {
  readonly kind: ResourceKind;
  readonly typeUrl: string;
  /** LDS, RDS, CDS, EDS. */
  readonly short: string;
  /** SotW responses of this type hold every subscribed resource: one left out was deleted. */
  readonly sotwComplete: boolean;
  nameOf(value: unknown): string;
  validate(value: unknown): Result<void>;
  /**
   * validate in steps, for a type one resource of which can be too much work for one turn of
   * the event loop (a sidecar's route table per port holds every service's virtual host).
   */
  validateSteps?(value: unknown): Generator<void, Result<void>>;
  /** Names of the next type in the chain this resource needs. */
  references(value: unknown): string[];
}

function routeClusters(rc: RouteConfiguration | undefined): string[] {
  const out = new Set<string>();
  for (const vh of rc?.virtualHosts ?? []) {
    for (const r of vh.routes ?? []) {
      const a = r.route;
      if (!a) continue;
      if (a.cluster) out.add(a.cluster);
      for (const c of a.weightedClusters?.clusters ?? []) if (c.name && (c.weight ?? 0) > 0) out.add(c.name);
      for (const m of a.requestMirrorPolicies ?? []) if (m.cluster) out.add(m.cluster);
    }
  }
  return [...out];
}

function hcmOf(l: Listener): HttpConnectionManager | undefined {
  return l.apiListener?.apiListener as unknown as HttpConnectionManager | undefined;
}

export const LISTENER: ResourceType = {
  kind: 'Listener',
  typeUrl: TYPE_URL.Listener,
  short: 'LDS',
  sotwComplete: true,
  nameOf: (v) => (v as Listener).name ?? '',
  validate(v) {
    // A listener without an apiListener is a server's own inbound listener (gRFC A36).
    if (isServerListener(v as Listener)) {
      const s = translateServerListener(v as Listener);
      return s.ok ? ok(undefined) : s;
    }
    const r = translateListener(v as Listener);
    if (!r.ok) return r;
    if (r.value.inlineRouteConfig) {
      const rc = translateRouteConfiguration(r.value.inlineRouteConfig);
      if (!rc.ok) return fail(`Listener ${r.value.name}: apiListener.apiListener.routeConfig: ${rc.error}`);
    }
    return ok(undefined);
  },
  references(v) {
    const name = hcmOf(v as Listener)?.rds?.routeConfigName;
    return name ? [name] : [];
  },
};

/**
 * Listeners in the form istiod's sidecar generator sends an Envoy sidecar (filter chains, RDS
 * per port): the sidecar profile's LDS. Validated by the same translation the snapshot uses.
 */
export const SIDECAR_LISTENER: ResourceType = {
  ...LISTENER,
  validate(v) {
    const r = translateSidecarListener(v as Listener);
    if (!r.ok) return r;
    if (r.value.inlineRouteConfig) {
      const rc = translateRouteConfiguration(r.value.inlineRouteConfig);
      if (!rc.ok) return fail(`Listener ${r.value.name}: routeConfig: ${rc.error}`);
    }
    return ok(undefined);
  },
  references(v) {
    const out = new Set<string>();
    for (const hcm of filterChainManagers(v as Listener)) if (hcm.rds?.routeConfigName) out.add(hcm.rds.routeConfigName);
    return [...out];
  },
};

export const ROUTE_CONFIGURATION: ResourceType = {
  kind: 'RouteConfiguration',
  typeUrl: TYPE_URL.RouteConfiguration,
  short: 'RDS',
  sotwComplete: false,
  nameOf: (v) => (v as RouteConfiguration).name ?? '',
  validate(v) {
    const r = translateRouteConfiguration(v as RouteConfiguration);
    return r.ok ? ok(undefined) : r;
  },
  *validateSteps(v) {
    // The translation is remembered (translate-route-config.ts): the snapshot build reuses it.
    const r = yield* translateRouteConfigurationSteps(v as RouteConfiguration);
    return r.ok ? ok(undefined) : r;
  },
  references: (v) => routeClusters(v as RouteConfiguration),
};

export const CLUSTER: ResourceType = {
  kind: 'Cluster',
  typeUrl: TYPE_URL.Cluster,
  short: 'CDS',
  sotwComplete: true,
  nameOf: (v) => (v as Cluster).name ?? '',
  validate(v) {
    const c = v as Cluster;
    const r = translateCluster(c);
    if (!r.ok) return r;
    if (r.value.endpointSource === 'inline' && c.loadAssignment) {
      const eps = translateLoadAssignment(c.loadAssignment);
      if (!eps.ok) return fail(`Cluster ${c.name}: loadAssignment: ${eps.error}`);
    }
    return ok(undefined);
  },
  references(v) {
    const r = translateCluster(v as Cluster);
    return r.ok && r.value.endpointSource === 'eds' ? [r.value.edsName] : [];
  },
};

export const CLUSTER_LOAD_ASSIGNMENT: ResourceType = {
  kind: 'ClusterLoadAssignment',
  typeUrl: TYPE_URL.ClusterLoadAssignment,
  short: 'EDS',
  sotwComplete: false,
  nameOf: (v) => (v as ClusterLoadAssignment).clusterName ?? '',
  validate(v) {
    const r = translateLoadAssignment(v as ClusterLoadAssignment);
    return r.ok ? ok(undefined) : r;
  },
  references: () => [],
};

/** A server's inbound listener (it has filter chains and no apiListener), not a client's. */
export function isServerListener(l: Listener): boolean {
  return !l.apiListener && (l.filterChains?.length ?? 0) > 0;
}

/** In chain order. */
export const RESOURCE_TYPES: readonly ResourceType[] = [LISTENER, ROUTE_CONFIGURATION, CLUSTER, CLUSTER_LOAD_ASSIGNMENT];
/** The sidecar profile's: its listeners are Envoy's, the rest the same. */
export const SIDECAR_RESOURCE_TYPES: readonly ResourceType[] = [SIDECAR_LISTENER, ROUTE_CONFIGURATION, CLUSTER, CLUSTER_LOAD_ASSIGNMENT];

const BY_URL = new Map(RESOURCE_TYPES.map((t) => [t.typeUrl, t]));

export function resourceTypeOf(typeUrl: string): ResourceType | undefined {
  return BY_URL.get(typeUrl);
}

/** Clusters an inline route configuration (inside a Listener, or one of its filter chains) sends to. */
export function inlineRouteClusters(l: Listener): string[] {
  if (l.apiListener) return routeClusters(hcmOf(l)?.routeConfig);
  return filterChainManagers(l).flatMap((hcm) => routeClusters(hcm.routeConfig));
}
