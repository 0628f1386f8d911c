// What one grpc-js channel to a mesh:/// target shares between its resolver, config selector
// and balancer: the mesh, and the logical host:port the caller named. The plan the config
// selector makes for a call travels to the balancer as the call's `pickInformation` object,
// which grpc-js hands unchanged to every pick of that call without reading it: the plan is the
// call's MeshCallSubchannel itself (subchannel-mesh-call.ts), which the picker returns. (An
// object literal with the plan under a symbol key cost more per call than the whole route
// decision: V8 defines a computed key in a literal at run time.)

import { routeLabel, type CompiledRoute, type Decision, type ForwardDecision, type Mesh, type RetryPolicy } from '@meshlet/core';

/** The logical decision for one call, made once by the config selector (route → weighted cluster). */
export interface CallPlan {
  readonly decision: Decision;
  /** `/<service>/<method>` as the caller invoked it. */
  readonly method: string;
  /** The route's consistent-hash key (hash_policy on a metadata header, ...); RING_HASH and MAGLEV clusters pick by it. */
  readonly hash: bigint | undefined;
  /** Where a forward's attempts go and under which policies, derived once per plan (a kept plan serves many calls). */
  upstream: Upstream | undefined;
}

/** Cluster name for attempts sent to the address the caller named (passthrough, ORIGINAL_DST). */
export const DIRECT_CLUSTER = 'meshlet.direct';

/** Istio's default connect timeout, for calls that leave the mesh (passthrough). */
const DIRECT_CONNECT_TIMEOUT_MS = 10_000;

/** Where attempts go and under which policies: a forward decision, or straight to the target (passthrough). */
export class Upstream {
  readonly route: CompiledRoute | undefined;
  readonly cluster: string;
  readonly decision: ForwardDecision | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;

  constructor(decision: ForwardDecision | undefined) {
    this.route = decision?.route;
    this.cluster = decision ? decision.cluster.name : DIRECT_CLUSTER;
    this.decision = decision;
    this.retry = decision?.action.retry;
    this.timeoutMs = decision ? decision.action.timeoutMs : 0;
    this.connectTimeoutMs = decision ? decision.cluster.connectTimeoutMs : DIRECT_CONNECT_TIMEOUT_MS;
  }

  /** For messages only: built when one is written, not per call. */
  get label(): string {
    return this.route ? routeLabel(this.route) : 'passthrough';
  }
}

export class MeshTarget {
  readonly mesh: Mesh;
  readonly host: string;
  readonly port: number;
  /** `host:port`: the :authority of every call, as the caller addressed the service. */
  readonly authority: string;
  /**
   * Whether a host the mesh does not know goes straight to its address (Istio's ALLOW_ANY, for
   * mesh:///). xds:/// targets fail instead, as gRPC's own xDS clients do for a listener the
   * control plane does not have.
   */
  readonly passthrough: boolean;

  constructor(mesh: Mesh, host: string, port: number, passthrough = true) {
    this.mesh = mesh;
    this.host = host;
    this.port = port;
    this.passthrough = passthrough;
    this.authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

}

export type ParsedTarget = { ok: true; host: string; port: number } | { ok: false; error: string };

/**
 * `mesh:///reviews.default.svc.cluster.local:9080` → host and port. A mesh service is a
 * host:port pair (the listener name), so the port is required; an authority
 * (`mesh://authority/...`) is not supported.
 */
export function parseTarget(scheme: string, authority: string | undefined, path: string): ParsedTarget {
  const shown = `${scheme}://${authority ?? ''}/${path}`;
  if (authority) return { ok: false, error: `${shown}: an authority is not supported; write ${scheme}:///<host>:<port>` };
  let host: string;
  let portText: string;
  if (path.startsWith('[')) {
    const end = path.indexOf(']');
    if (end < 0) return { ok: false, error: `${shown}: unterminated IPv6 address` };
    host = path.slice(1, end);
    portText = path.slice(end + 1).replace(/^:/, '');
  } else {
    const i = path.lastIndexOf(':');
    host = i < 0 ? path : path.slice(0, i);
    portText = i < 0 ? '' : path.slice(i + 1);
  }
  if (!host) return { ok: false, error: `${shown}: no host; write ${scheme}:///<host>:<port>` };
  if (!portText) return { ok: false, error: `${shown}: no port; a mesh service is addressed as ${scheme}:///${host}:<port>` };
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, error: `${shown}: ${portText} is not a port` };
  return { ok: true, host: host.toLowerCase(), port };
}
