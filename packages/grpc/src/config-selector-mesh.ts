// The logical step of a mesh:/// call, run by grpc-js once per call (gRFC A31's config
// selector): `/<service>/<method>` and the call's metadata go through core's router, which picks
// the route and draws the weighted cluster. The decision rides to the balancer in the call's
// pickInformation; grpc-js itself gets a plain config (no service-config timeout or retry
// policy: the mesh applies the route's own, see call-mesh.ts).

import { status as Status, type experimental } from '@grpc/grpc-js';
import type { MeshTarget } from './mesh-target.ts';
import { MeshCallSubchannel, pickInformationFor } from './subchannel-mesh-call.ts';
import { metadataRequestView } from './metadata-view.ts';

// Shared by every call: grpc-js only reads them.
const METHOD_CONFIG = { name: [] };
const NO_FILTERS: never[] = [];

export function meshConfigSelector(target: MeshTarget): experimental.ConfigSelector {
  return {
    invoke(method, metadata) {
      const view = metadataRequestView(target.authority, method, metadata);
      const decision = target.mesh.decide(view, target.host, target.port);
      // Hashed once per call, so every attempt of it asks the ring with the same key. A cookie
      // policy's generated cookie has nowhere to go (gRPC clients keep no cookies): the key
      // still applies to this call.
      const hash = decision.kind === 'forward' ? decision.action.hash?.(view, undefined).hash : undefined;
      return { methodConfig: METHOD_CONFIG, pickInformation: pickInformationFor(new MeshCallSubchannel(target, decision, method, hash)), status: Status.OK, dynamicFilterFactories: NO_FILTERS };
    },
    unref() {
      // Holds nothing: decisions live as long as their calls.
    },
  };
}
