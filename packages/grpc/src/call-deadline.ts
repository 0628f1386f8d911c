// The grpc-timeout header (gRPC over HTTP/2: up to 8 digits and a unit H M S m u n). grpc-js
// writes the caller's deadline into it before the call reaches the mesh; the mesh rewrites it
// per attempt so the server sees what is really left (caller's deadline, route timeout).

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Milliseconds in a grpc-timeout value, or undefined when it does not parse. */
export function parseGrpcTimeout(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** A grpc-timeout value for `ms` milliseconds (at least 1 ms: 0 would mean "already expired" to some servers). */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  if (whole < 100_000_000) return `${whole}m`;
  const s = Math.ceil(whole / 1000);
  if (s < 100_000_000) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 3600))}H`;
}
