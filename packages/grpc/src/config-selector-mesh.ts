// The logical step of a mesh:/// call, run by grpc-js once per call (gRFC A31's config
// selector): `/<service>/<method>` and the call's metadata go through core's router, which picks
// the route and draws the weighted cluster. The planned call (subchannel-mesh-call.ts) is the
// call's config: it rides to the balancer as its own pickInformation, and grpc-js itself sees no
// service-config timeout or retry policy (the mesh applies the route's own, see call-mesh.ts).
//
// Most calls of a channel get the same answer for a method: the route matched on the path alone
// (the view saw no metadata read), one weighted cluster, no fault to draw and no hash to take.
// Such a plan holds nothing of its call, so it is kept per method until the snapshot changes and
// every later call of that method skips routing and allocates no plan (the HTTP adapter keeps
// fault-free decisions per route in core's decide() for the same reason).

import type { experimental } from '@grpc/grpc-js';
import type { Decision, MeshSnapshot } from '@meshlet/core';
import type { MeshTarget } from './mesh-target.ts';
import { callConfigOf, MeshCallSubchannel } from './subchannel-mesh-call.ts';
import { metadataRequestView, type MetadataView } from './metadata-view.ts';

/** Methods a channel keeps plans for: a client calls a handful; a bound keeps a caller that invents paths from growing it. */
const MAX_KEPT_PLANS = 256;

export function meshConfigSelector(target: MeshTarget): experimental.ConfigSelector {
  let snapshot: MeshSnapshot | undefined;
  const kept = new Map<string, MeshCallSubchannel>();
  return {
    invoke(method, metadata) {
      const mesh = target.mesh;
      if (mesh.snapshot !== snapshot) {
        snapshot = mesh.snapshot;
        kept.clear();
      }
      const plan = kept.get(method);
      if (plan !== undefined) return callConfigOf(plan);
      const view = metadataRequestView(target.authority, method, metadata);
      const decision = mesh.decide(view, target.host, target.port);
      // Hashed once per call, so every attempt of it asks the ring with the same key. A cookie
      // policy's generated cookie has nowhere to go (gRPC clients keep no cookies): the key
      // still applies to this call.
      const hasher = decision.kind === 'forward' ? decision.action.hash : undefined;
      const hash = hasher?.(view, undefined).hash;
      const planned = new MeshCallSubchannel(target, decision, method, hash);
      if (methodOnly(decision, view) && kept.size < MAX_KEPT_PLANS) kept.set(method, planned);
      return callConfigOf(planned);
    },
    unref() {
      // Holds only plans, which live as long as the snapshot they came from.
    },
  };
}

/** Whether every call of the method gets this decision until the snapshot changes: nothing per call went into it. */
function methodOnly(decision: Decision, view: MetadataView): boolean {
  return decision.kind === 'forward' && decision.action.hash === undefined && decision.route.fault === undefined && decision.action.clusters.length === 1 && !view.readMetadata;
}
