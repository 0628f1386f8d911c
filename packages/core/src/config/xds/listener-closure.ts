// Consistency in go-control-plane's sense (Snapshot.Consistent), per listener: the resources
// one listener reaches through the chain LDS → RDS → CDS → EDS, taken only when every one of
// them is settled — a value, word that it does not exist, or only a NACKed version (whose
// last good value, if any, is what is used). A resource still pending makes the whole closure
// pending, so a snapshot never holds a route to a cluster that has not arrived yet.

import type { Listener, XdsResources } from '../../xds/resources.ts';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, inlineRouteClusters, LISTENER, ROUTE_CONFIGURATION } from './resource-types.ts';
import type { ResourceWatchState } from './resource-watch-state.ts';

/**
 * The resources `listener` reaches, or undefined while any of them is still pending.
 * `complete(typeUrl)`: the type is subscribed as wildcard and answered, so a name the state does
 * not hold does not exist (the sidecar profile's CDS); otherwise such a name is still pending.
 * Yields after each cluster: a sidecar's listener reaches every cluster of the mesh.
 */
export function* listenerClosure(st: ResourceWatchState, listener: string, complete: (typeUrl: string) => boolean = () => false): Generator<void, XdsResources | undefined> {
  const out: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };
  const lw = st.get(LISTENER.typeUrl, listener);
  if (!lw?.settled) return undefined;
  const l = lw.value as Listener | undefined;
  if (!l) return out;
  out.listeners.set(listener, l);
  const clusters = new Set(inlineRouteClusters(l));
  for (const r of lw.references) {
    const rw = st.get(ROUTE_CONFIGURATION.typeUrl, r);
    if (!rw?.settled) return undefined;
    if (rw.value === undefined) continue;
    out.routeConfigs.set(r, rw.value as never);
    for (const c of rw.references) clusters.add(c);
  }
  for (const c of clusters) {
    const cw = st.get(CLUSTER.typeUrl, c);
    if (!cw && complete(CLUSTER.typeUrl)) continue;
    if (!cw?.settled) return undefined;
    if (cw.value === undefined) continue;
    out.clusters.set(c, cw.value as never);
    for (const e of cw.references) {
      const ew = st.get(CLUSTER_LOAD_ASSIGNMENT.typeUrl, e);
      if (!ew?.settled) return undefined;
      if (ew.value !== undefined) out.endpoints.set(e, ew.value as never);
    }
    yield;
  }
  return out;
}
