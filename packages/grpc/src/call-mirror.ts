// Envoy's request mirroring for gRPC: a fire-and-forget copy of the call to the mirror cluster,
// with the authority suffixed "-shadow" (reviews:9080 → reviews-shadow:9080). The copy gets
// every message the caller sends and its half-close; its answer is read and dropped, and its
// failures never reach the caller. It runs as an Attempt (same connection handling, TLS and
// in-flight counting as a real one) whose owner discards everything.

import type { Metadata } from '@grpc/grpc-js';
import type { EndpointState, Mesh } from '@meshlet/core';
import { Attempt, type AttemptOwner, type SubchannelCall } from './call-attempt.ts';
import type { MeshLoadBalancer } from './load-balancer-mesh.ts';

export function shadowAuthority(authority: string): string {
  const i = authority.lastIndexOf(':');
  if (i > 0 && !authority.endsWith(']')) return `${authority.slice(0, i)}-shadow${authority.slice(i)}`;
  return `${authority}-shadow`;
}

type MessageContext = Parameters<SubchannelCall['sendMessageWithContext']>[0];
const NO_CONTEXT: MessageContext = {};

class MirrorCall implements AttemptOwner {
  readonly #attempt: Attempt;
  #pending: Buffer[] = [];
  #halfClosed = false;
  #open = false;
  // AttemptRequest: what its one attempt reads.
  readonly authority: string;
  readonly path: string;
  readonly callNumber: number;
  readonly perTryTimeoutMs = 0;
  readonly connectTimeoutMs: number;
  readonly waitForReady = false;

  constructor(lb: MeshLoadBalancer, cluster: Parameters<MeshLoadBalancer['connection']>[0], endpoint: EndpointState, metadata: Metadata, authority: string, path: string, callNumber: number) {
    this.authority = authority;
    this.path = path;
    this.callNumber = callNumber;
    this.connectTimeoutMs = cluster?.connectTimeoutMs ?? 10_000;
    this.#attempt = new Attempt(this, lb.connection(cluster, endpoint), endpoint, 1, undefined, false, undefined);
    this.#attempt.start(metadata);
  }

  write(message: Buffer): void {
    const call = this.#attempt.call;
    if (this.#open && call) call.sendMessageWithContext(NO_CONTEXT, message);
    else if (!this.#attempt.finished) this.#pending.push(message);
  }

  halfClose(): void {
    this.#halfClosed = true;
    if (this.#open) this.#attempt.call?.halfClose();
  }

  cancel(): void {
    this.#attempt.cancel(1, 'mirrored call cancelled with the original');
    this.#pending = [];
  }

  // ---- AttemptOwner: send what was buffered, drain and drop the answer ----

  attemptOpened(attempt: Attempt): void {
    this.#open = true;
    const call = attempt.call!;
    for (const m of this.#pending) call.sendMessageWithContext(NO_CONTEXT, m);
    this.#pending = [];
    if (this.#halfClosed) call.halfClose();
    call.startRead();
  }

  attemptHeaders(): void {}

  attemptMessage(attempt: Attempt): void {
    attempt.call?.startRead();
  }

  attemptEnded(): void {
    this.#pending = [];
  }
}

export interface Mirrors {
  write(message: Buffer): void;
  halfClose(): void;
  cancel(): void;
}

/** Starts the mirrors the route asks for (each drawn against its percentage); undefined when none. */
export function startMirrors(
  mesh: Mesh,
  lb: MeshLoadBalancer,
  mirrors: readonly { cluster: string; perMillion: number; keepHost: boolean }[],
  metadata: Metadata,
  authority: string,
  path: string,
  callNumber: number,
  random: () => number = Math.random,
): Mirrors | undefined {
  if (mirrors.length === 0) return undefined;
  const calls: MirrorCall[] = [];
  for (const m of mirrors) {
    if (random() * 1_000_000 >= m.perMillion) continue;
    const cluster = mesh.snapshot.clusters.get(m.cluster);
    const endpoint = cluster?.loadBalancer.pick();
    if (!cluster || !endpoint) continue;
    try {
      calls.push(new MirrorCall(lb, cluster.originalDst ? undefined : cluster, endpoint, metadata.clone(), m.keepHost ? authority : shadowAuthority(authority), path, callNumber));
    } catch {
      // A mirror never affects the real call (e.g. its cluster's certificates are missing).
    }
  }
  if (calls.length === 0) return undefined;
  return {
    write: (message) => { for (const c of calls) c.write(message); },
    halfClose: () => { for (const c of calls) c.halfClose(); },
    cancel: () => { for (const c of calls) c.cancel(); },
  };
}
