// Bounds on one xDS response, so a control plane (or whatever answers on its address) cannot
// make the client decode and apply an unbounded message. Defaults sit far above what a real
// mesh sends — our 10k-service, 100k-endpoint benchmark mesh answers with ~12,000 resources
// per type — and a response beyond either bound is NACKed with a message naming the limit,
// before any resource in it is decoded; the last good config stays in force.
//
// The byte bound is checked on the received message; the transport refuses messages over
// twice the bound (grpc-js's max_receive_message_length, which stops reading at the length
// prefix), so memory stays bounded too: such a stream ends with RESOURCE_EXHAUSTED and
// reconnects with back-off, still on the last good config.

export interface ResponseLimits {
  /** Largest response, in bytes, that is decoded and applied (default 128 MiB). */
  readonly maxResponseBytes: number;
  /** Most resources one response may carry (default 100,000). */
  readonly maxResourcesPerResponse: number;
}

export const DEFAULT_RESPONSE_LIMITS: ResponseLimits = { maxResponseBytes: 128 * 1024 * 1024, maxResourcesPerResponse: 100_000 };

/** Limits from options, defaults filled in; throws naming the option when one is not a positive integer. */
export function responseLimits(opts: Partial<ResponseLimits> = {}): ResponseLimits {
  const out = { ...DEFAULT_RESPONSE_LIMITS };
  for (const k of ['maxResponseBytes', 'maxResourcesPerResponse'] as const) {
    const v = opts[k];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v <= 0) throw new TypeError(`createMesh: xds.${k} must be a positive integer, got ${String(v)}`);
    out[k] = v;
  }
  return out;
}

/** The transport's own limit: twice the decode bound, within what grpc-js takes (int32). */
export function transportLimit(limits: ResponseLimits): number {
  return Math.min(2 * limits.maxResponseBytes, 0x7fffffff);
}

/** The NACK message for a response over a limit, or undefined when it is within both. */
export function limitExceeded(limits: ResponseLimits, bytes: number, resources: number): string | undefined {
  if (bytes > limits.maxResponseBytes) return `response of ${bytes} bytes is over the limit of ${limits.maxResponseBytes} bytes (createMesh xds.maxResponseBytes); nothing in it was applied`;
  if (resources > limits.maxResourcesPerResponse) return `response carries ${resources} resources, over the limit of ${limits.maxResourcesPerResponse} (createMesh xds.maxResourcesPerResponse); nothing in it was applied`;
  return undefined;
}
