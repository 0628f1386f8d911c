// Which API resources the live source watches: exactly the kinds the loader reads (Istio's in
// istio/load/load-kinds.ts, the Kubernetes registry's in kube/kube-kinds.ts), found through API discovery so the version is one the server
// serves and the plural and scope are the server's own. An Istio or Gateway API kind whose CRD
// is not installed is noted once and skipped; a core kind that is missing is an error.

import { HANDLED_KINDS } from '../../istio/load/load-kinds.ts';
import { KUBE_KINDS } from '../../kube/kube-kinds.ts';
import { KubeApiError, type KubeConnection } from './kube-connection.ts';
import type { MissingResource } from '../../config-dump.ts';

export interface WatchedResource {
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

// Endpoints are read from files (kubectl dumps) but not watched: EndpointSlices carry the
// same endpoints, and Istio itself reads only the slices.
const NOT_WATCHED = new Set(['Endpoints']);

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

interface ApiGroup {
  versions?: { version: string }[];
  preferredVersion?: { version: string };
}

/** The API path of a resource, cluster-wide or in one namespace. */
export function resourcePath(r: WatchedResource, namespace?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return namespace === undefined || !r.namespaced ? `${base}/${r.plural}` : `${base}/namespaces/${namespace}/${r.plural}`;
}

/** `apiVersion` as objects of this resource carry it. */
export function apiVersionOf(r: WatchedResource): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** `plural.group`, the way RBAC rules and kubectl name a resource. */
export function resourceName(r: { plural: string; group: string }): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

/** Discovers every kind the loader reads. Errors other than "not served" (e.g. 401) are thrown. */
export async function discoverResources(conn: KubeConnection): Promise<{ resources: WatchedResource[]; missing: MissingResource[] }> {
  const wanted = [...Object.entries(HANDLED_KINDS), ...Object.entries(KUBE_KINDS)].filter(([kind]) => !NOT_WATCHED.has(kind));
  const byGroup = new Map<string, { kind: string; versions: readonly string[] }[]>();
  for (const [kind, { group, versions }] of wanted) {
    const list = byGroup.get(group) ?? [];
    list.push({ kind, versions });
    byGroup.set(group, list);
  }
  const resources: WatchedResource[] = [];
  const missing: MissingResource[] = [];
  for (const [group, kinds] of byGroup) {
    const served = await servedVersions(conn, group);
    for (const { kind, versions } of kinds) {
      // Our versions are listed newest first; take the newest the server serves.
      const version = versions.find((v) => served.includes(v));
      if (version === undefined) {
        const reason = served.length === 0 ? `API group ${group || 'core'} is not served (CRD not installed)` : `the server serves ${group}/${served.join(', ')}, none of ${versions.join(', ')}`;
        missing.push({ kind, group, reason });
        continue;
      }
      const found = (await resourceList(conn, group, version)).find((r) => r.kind === kind && !r.name.includes('/'));
      if (!found) {
        missing.push({ kind, group, reason: `${group}/${version} has no ${kind} (CRD not installed)` });
        continue;
      }
      resources.push({ kind, group, version, plural: found.name, namespaced: found.namespaced });
    }
  }
  return { resources, missing };
}

async function servedVersions(conn: KubeConnection, group: string): Promise<string[]> {
  if (group === '') return ['v1'];
  try {
    const g = (await conn.getJson(`/apis/${group}`)) as ApiGroup;
    return (g.versions ?? []).map((v) => v.version);
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return [];
    throw err;
  }
}

async function resourceList(conn: KubeConnection, group: string, version: string): Promise<{ name: string; kind: string; namespaced: boolean }[]> {
  try {
    const list = (await conn.getJson(group === '' ? `/api/${version}` : `/apis/${group}/${version}`)) as ApiResourceList;
    return list.resources ?? [];
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return [];
    throw err;
  }
}
