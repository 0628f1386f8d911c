// What the mesh picker hands grpc-js for one call. It is made by the config selector, as the
// call's plan (its route decision), and is at once the call's grpc-js CallConfig (which carries
// it to the picker as pickInformation) and, once the picker binds it to the channel's balancer,
// the PickResult and the picked subchannel: one object per call for all four. The CallConfig and
// PickResult fields are constants on the prototype, so they cost the call nothing (grpc-js reads
// the config in ResolvingCall and RetryingCall, the pick result in LoadBalancingCall, after the
// credentials promise: neither can be a literal shared between calls). grpc-js's LoadBalancingCall takes a picked
// subchannel, attaches call credentials and the deadline, and starts the call with
// `getRealSubchannel().createCall(...)`. This object stands in for that subchannel and starts a
// MeshCall instead, which runs the call's attempts over real subchannels (one per endpoint).
// A plan that depends on nothing but its method serves every call of it (config-selector-mesh.ts):
// nothing here may hold one call's state.
//
// This is the one place Meshlet relies on a grpc-js internal seam (Subchannel.createCall and the
// SubchannelCall it returns), not on the experimental API; @grpc/grpc-js is pinned to ~1.14 for
// it, and test/grpc-seam.test.ts fails loudly if the seam moves.

import { CallCredentials, connectivityState as ConnectivityState, experimental, status as Status, type Channel, type Metadata } from '@grpc/grpc-js';
import { MeshCall, type SubchannelCallListener } from './call-mesh.ts';
import type { MeshLoadBalancer } from './load-balancer-mesh.ts';
import type { CallPlan, MeshTarget, Upstream } from './mesh-target.ts';
import type { Decision } from '@meshlet/core';

type RealSubchannel = ReturnType<experimental.SubchannelInterface['getRealSubchannel']>;
type ChannelzRef = ReturnType<experimental.SubchannelInterface['getChannelzRef']>;

type CallConfig = ReturnType<experimental.ConfigSelector['invoke']>;

// grpc-js prints this only in traces (GRPC_TRACE=load_balancing_call).
const CHANNELZ_REF = { kind: 'subchannel', id: -1, name: 'meshlet mesh call' } as unknown as ChannelzRef;

export class MeshCallSubchannel implements experimental.SubchannelInterface, CallPlan {
  // Plain fields: every call makes one and reads them (request-lifecycle.ts in @meshlet/http says why).
  readonly decision: Decision;
  readonly method: string;
  readonly hash: bigint | undefined;
  private readonly target: MeshTarget;
  upstream: Upstream | undefined = undefined;
  /** The channel's balancer, set by its picker before grpc-js sees this object. */
  lb: MeshLoadBalancer | undefined = undefined;

  constructor(target: MeshTarget, decision: Decision, method: string, hash: bigint | undefined) {
    this.target = target;
    this.decision = decision;
    this.method = method;
    this.hash = hash;
  }

  /** Called by grpc-js's LoadBalancingCall with the call's final metadata (credentials, grpc-timeout). */
  createCall(metadata: Metadata, host: string, method: string, listener: SubchannelCallListener, callNumber?: number): MeshCall {
    const call = new MeshCall(this.lb!, this.target, this, metadata, host, method, listener, callNumber ?? 0);
    call.start();
    return call;
  }

  // The mesh is always ready to take a call; each attempt waits for its own connection.
  getConnectivityState(): ConnectivityState {
    return ConnectivityState.READY;
  }

  // The channel credentials' call credentials (e.g. a token composed onto them), as the real
  // subchannel the call will most likely use would give them. Answers the mesh gives itself send
  // nothing, so they need none.
  getCallCredentials(): CallCredentials {
    const d = this.decision;
    const lb = this.lb!;
    if (d.kind === 'forward' && !d.cluster.originalDst) return lb.callCredentials(d.cluster) ?? CallCredentials.createEmpty();
    if (d.kind === 'passthrough' || d.kind === 'forward' || this.target.mesh.mode === 'observe') return lb.connection(undefined, lb.directEndpoint).subchannel.getCallCredentials();
    return CallCredentials.createEmpty();
  }

  getRealSubchannel(): RealSubchannel {
    return this as unknown as RealSubchannel;
  }

  realSubchannelEquals(other: experimental.SubchannelInterface): boolean {
    return other === this;
  }

  getAddress(): string {
    return `mesh:///${this.target.authority}`;
  }

  getChannelzRef(): ChannelzRef {
    return CHANNELZ_REF;
  }

  isHealthy(): boolean {
    return true;
  }

  getChannel(): Channel {
    throw new Error('meshlet: a mesh call has no single-subchannel channel');
  }

  // Nothing to watch or keep alive: the object lives for one call.
  addConnectivityStateListener(): void {}
  removeConnectivityStateListener(): void {}
  startConnecting(): void {}
  throttleKeepalive(): void {}
  ref(): void {}
  unref(): void {}
  addHealthStateWatcher(): void {}
  removeHealthStateWatcher(): void {}
  addDataWatcher(): void {}
}

// The CallConfig and PickResult fields every mesh call answers alike. grpc-js reads `status` in
// both roles: as the config's status it must be OK; a COMPLETE pick's status is read only by
// grpc-js's trace (`status?.code`), where OK reads as no status, as null would.
Object.defineProperties(MeshCallSubchannel.prototype, {
  // No service-config timeout or retry policy: the mesh applies the route's own (call-mesh.ts).
  methodConfig: { value: Object.freeze({ name: [] }) },
  dynamicFilterFactories: { value: Object.freeze([]) },
  status: { value: Status.OK },
  pickResultType: { value: experimental.PickResultType.COMPLETE },
  onCallStarted: { value: null },
  onCallEnded: { value: null },
  pickInformation: { get(this: MeshCallSubchannel) { return this; } },
  subchannel: { get(this: MeshCallSubchannel) { return this; } },
});

/** The call's grpc-js CallConfig: the planned call itself, carried to the picker as pickInformation. */
export function callConfigOf(call: MeshCallSubchannel): CallConfig {
  return call as unknown as CallConfig;
}

/** The COMPLETE pick of a planned call: the call itself, as PickResult and subchannel. */
export function pickResultOf(call: MeshCallSubchannel): experimental.PickResult {
  return call as unknown as experimental.PickResult;
}

/** The call the config selector planned, for the pick being made. */
export function plannedCall(pickInformation: object): MeshCallSubchannel | undefined {
  return pickInformation instanceof MeshCallSubchannel ? pickInformation : undefined;
}
