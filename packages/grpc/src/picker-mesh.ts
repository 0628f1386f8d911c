// The picker of a mesh:/// channel. grpc-js asks it once per call; it answers with a
// MeshCallSubchannel the config selector made for that call, bound to this channel's balancer. The call then
// runs as a MeshCall (call-mesh.ts), which picks the endpoint of each attempt itself: retries
// must go to a different endpoint of the same cluster, with per-try timeouts and Envoy's back-off,
// which grpc-js's own retry layer (above the picker) cannot express.

import { experimental, Metadata, status as Status } from '@grpc/grpc-js';
import type { MeshLoadBalancer } from './load-balancer-mesh.ts';
import { pickResultOf, plannedCall } from './subchannel-mesh-call.ts';

export class MeshPicker implements experimental.Picker {
  readonly #lb: MeshLoadBalancer;

  constructor(lb: MeshLoadBalancer) {
    this.#lb = lb;
  }

  pick(args: experimental.PickArgs): experimental.PickResult {
    const call = plannedCall(args.extraPickInfo);
    if (!call) {
      // Only reachable if something other than our config selector fed this channel.
      return {
        pickResultType: experimental.PickResultType.DROP,
        subchannel: null,
        status: { code: Status.INTERNAL, details: 'meshlet: the call reached the mesh balancer without a route decision from the mesh config selector', metadata: new Metadata() },
        onCallStarted: null,
        onCallEnded: null,
      };
    }
    call.lb = this.#lb;
    return pickResultOf(call);
  }
}
