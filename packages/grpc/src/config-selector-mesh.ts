// The logical step of a mesh:/// call, run by grpc-js once per call (gRFC A31's config
// selector): `/<service>/<method>` and the call's metadata go through core's router, which picks
// the route and draws the weighted cluster. The planned call (subchannel-mesh-call.ts) is the
// call's config: it rides to the balancer as its own pickInformation, and grpc-js itself sees no
// service-config timeout or retry policy (the mesh applies the route's own, see call-mesh.ts).

import type { experimental } from '@grpc/grpc-js';
import type { MeshTarget } from './mesh-target.ts';
import { callConfigOf, MeshCallSubchannel } from './subchannel-mesh-call.ts';
import { metadataRequestView } from './metadata-view.ts';

export function meshConfigSelector(target: MeshTarget): experimental.ConfigSelector {
  return {
    invoke(method, metadata) {
      const view = metadataRequestView(target.authority, method, metadata);
      const decision = target.mesh.decide(view, target.host, target.port);
      // Hashed once per call, so every attempt of it asks the ring with the same key. A cookie
      // policy's generated cookie has nowhere to go (gRPC clients keep no cookies): the key
      // still applies to this call.
      const hash = decision.kind === 'forward' ? decision.action.hash?.(view, undefined).hash : undefined;
      return callConfigOf(new MeshCallSubchannel(target, decision, method, hash));
    },
    unref() {
      // Holds nothing: decisions live as long as their calls.
    },
  };
}
