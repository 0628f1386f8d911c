// The Telemetry API settings in force for this process's client side, compiled from Telemetry
// objects (istio/compile/compile-telemetry.ts) and read by MeshTelemetry per request. Replaced
// whole when config changes, like the snapshot.
//
// Istio's metric names map onto Meshlet's OpenTelemetry instruments:
//   REQUEST_COUNT    → meshlet.client.requests (Istio's istio_requests_total)
//   REQUEST_DURATION → http.client.request.duration and rpc.client.call.duration
// A customMetric names one of Meshlet's instruments directly (e.g. meshlet.client.retries).
// Meshlet records no size, TCP or gRPC-message metrics, so those selectors have nothing to act on.

import type { Attributes } from './otel-types.ts';
import { UNKNOWN, type TagContext, type TagExpression } from './tag-expression.ts';

export const METRIC_INSTRUMENTS: Readonly<Record<string, readonly string[]>> = {
  REQUEST_COUNT: ['meshlet.client.requests'],
  REQUEST_DURATION: ['http.client.request.duration', 'rpc.client.call.duration'],
};

/** Instruments a customMetric may name. */
export const CUSTOM_INSTRUMENTS: readonly string[] = [
  'meshlet.client.requests', 'http.client.request.duration', 'rpc.client.call.duration', 'meshlet.client.retries',
  'meshlet.client.overflows', 'meshlet.client.faults',
];

/**
 * Istio's standard metric labels that have a Meshlet attribute, so an override written for a
 * sidecar acts on the same dimension here. Other tag names are Meshlet's attribute names.
 */
export const ISTIO_TAG_ALIASES: Readonly<Record<string, string>> = {
  response_code: 'http.response.status_code',
  grpc_response_status: 'rpc.grpc.status_code',
  destination_service: 'server.address',
  destination_cluster: 'meshlet.cluster',
};

export interface TagOverride {
  readonly name: string;
  /** REMOVE when undefined; else UPSERT with the evaluated value. */
  readonly value: TagExpression | undefined;
}

export interface MetricOverride {
  readonly disabled: boolean;
  readonly tags: readonly TagOverride[];
}

export interface CustomTag {
  readonly name: string;
  readonly value: (headers: Readonly<Record<string, string | string[] | undefined>> | undefined) => string | undefined;
}

export interface TracingPolicy {
  /** Percentage of requests without a sampling decision that are traced; undefined leaves it to the SDK's sampler. */
  readonly randomSamplingPercentage: number | undefined;
  readonly disableSpanReporting: boolean;
  readonly disableContextPropagation: boolean;
  readonly customTags: readonly CustomTag[];
}

export interface TelemetryPolicy {
  readonly tracing: TracingPolicy;
  /** By instrument name; an instrument absent here records as usual. */
  readonly metrics: ReadonlyMap<string, MetricOverride>;
  /** The Telemetry objects that decided, 'ns/name', root first. */
  readonly from: readonly string[];
}

export const DEFAULT_TELEMETRY_POLICY: TelemetryPolicy = {
  tracing: { randomSamplingPercentage: undefined, disableSpanReporting: false, disableContextPropagation: false, customTags: [] },
  metrics: new Map(),
  from: [],
};

/** The attributes an instrument records with, after its tag overrides. */
export function applyTagOverrides(attrs: Attributes, override: MetricOverride | undefined, ctx: () => TagContext): Attributes {
  if (!override || override.tags.length === 0) return attrs;
  const out: Attributes = { ...attrs };
  let c: TagContext | undefined;
  for (const t of override.tags) {
    const key = ISTIO_TAG_ALIASES[t.name] ?? t.name;
    if (t.value === undefined) delete out[key];
    else out[key] = t.value((c ??= ctx())) || UNKNOWN;
  }
  return out;
}
