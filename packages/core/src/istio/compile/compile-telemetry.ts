// Telemetry objects → the client-side TelemetryPolicy in force for this workload, as istiod
// composes them (pilot/pkg/model/telemetry.go applicableTelemetries, Tracing, mergeMetrics):
//   - candidates in order: the root namespace's oldest Telemetry without a selector, this
//     namespace's oldest without a selector, then every Telemetry of this namespace whose
//     selector matches the workload's labels (oldest first); later entries override earlier ones;
//   - tracing: each field that is set replaces the inherited one (customTags as a whole map);
//   - metrics: overrides merge per metric: `disabled` when set, tag overrides per tag name;
//     ALL_METRICS disabled turns the mode's metrics off until a later override names any metric;
//   - only entries whose mode includes CLIENT apply: Meshlet's instruments are the client's
//     (its server helpers record no telemetry).
// Providers are not consulted: Meshlet's one provider is the application's OpenTelemetry SDK.

import type { Telemetry, TelemetryCustomTag, TelemetryMetrics, TelemetryTracing, WorkloadMode } from '../types.ts';
import { parseTagExpression } from '../../telemetry/tag-expression.ts';
import {
  CUSTOM_INSTRUMENTS, DEFAULT_TELEMETRY_POLICY, METRIC_INSTRUMENTS,
  type CustomTag, type MetricOverride, type TagOverride, type TelemetryPolicy, type TracingPolicy,
} from '../../telemetry/telemetry-policy.ts';
import { compareByCreation, labelsMatch, objectKey } from '../object-conventions.ts';

export interface TelemetryWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly rootNamespace: string;
}

const appliesToClient = (mode: WorkloadMode | undefined) => mode !== 'SERVER';
/** Has a non-empty selector or a targetRef: not one of the namespace-wide Telemetries. */
export const hasSelector = (t: Telemetry): boolean => Object.keys(t.spec.selector?.matchLabels ?? {}).length > 0 || t.spec.targetRef !== undefined || (t.spec.targetRefs?.length ?? 0) > 0;

/** The Telemetry objects that apply to the workload, lowest precedence first. */
export function applicableTelemetries(objects: readonly Telemetry[], w: TelemetryWorkload): Telemetry[] {
  const sorted = [...objects].sort(compareByCreation);
  const out: Telemetry[] = [];
  const root = sorted.find((t) => t.metadata.namespace === w.rootNamespace && !hasSelector(t));
  if (root) out.push(root);
  if (w.namespace !== w.rootNamespace) {
    const ns = sorted.find((t) => t.metadata.namespace === w.namespace && !hasSelector(t));
    if (ns) out.push(ns);
  }
  // targetRef(s) name services and gateways (waypoints); they never select a workload.
  out.push(...sorted.filter((t) => t.metadata.namespace === w.namespace && hasSelector(t) && t.spec.targetRef === undefined && t.spec.targetRefs === undefined
    && labelsMatch(t.spec.selector?.matchLabels, w.labels as Record<string, string>)));
  return out;
}

export function compileTelemetryPolicy(objects: readonly Telemetry[], w: TelemetryWorkload): TelemetryPolicy {
  const applicable = applicableTelemetries(objects, w);
  if (applicable.length === 0) return DEFAULT_TELEMETRY_POLICY;
  return {
    tracing: mergeTracing(applicable.flatMap((t) => t.spec.tracing ?? [])),
    metrics: mergeMetrics(applicable.flatMap((t) => t.spec.metrics ?? [])),
    from: applicable.map(objectKey),
  };
}

function mergeTracing(entries: readonly TelemetryTracing[]): TracingPolicy {
  let { randomSamplingPercentage, disableSpanReporting, disableContextPropagation } = DEFAULT_TELEMETRY_POLICY.tracing;
  let tags: Record<string, TelemetryCustomTag> | undefined;
  for (const t of entries) {
    if (!appliesToClient(t.match?.mode)) continue;
    if (t.randomSamplingPercentage !== undefined) randomSamplingPercentage = t.randomSamplingPercentage;
    if (t.disableSpanReporting !== undefined) disableSpanReporting = t.disableSpanReporting;
    if (t.disableContextPropagation !== undefined) disableContextPropagation = t.disableContextPropagation;
    // istiod replaces the map whole (a shallow merge, unlike metrics).
    if (t.customTags !== undefined) tags = t.customTags;
  }
  const customTags = Object.entries(tags ?? {}).flatMap(([name, tag]) => {
    const c = customTag(name, tag);
    return c ? [c] : [];
  });
  return { randomSamplingPercentage, disableSpanReporting, disableContextPropagation, customTags };
}

function customTag(name: string, tag: TelemetryCustomTag): CustomTag | undefined {
  if (tag.literal) {
    const v = tag.literal.value;
    return { name, value: () => v };
  }
  if (tag.environment) {
    // Read once: a process's environment is fixed, as the sidecar's is.
    const v = process.env[tag.environment.name] ?? tag.environment.defaultValue;
    return { name, value: () => v };
  }
  if (tag.header) {
    const header = tag.header.name.toLowerCase();
    const dflt = tag.header.defaultValue;
    return {
      name,
      value: (headers) => {
        const v = headers?.[header];
        return v === undefined ? dflt : Array.isArray(v) ? v.join(',') : v;
      },
    };
  }
  return undefined; // formatter: not evaluated (validation warns)
}

interface Building { disabled: boolean | undefined; tags: Map<string, TagOverride> }

function mergeMetrics(entries: readonly TelemetryMetrics[]): ReadonlyMap<string, MetricOverride> {
  const byInstrument = new Map<string, Building>();
  let allDisabled = false;
  for (const m of entries) {
    for (const o of m.overrides ?? []) {
      if (!appliesToClient(o.match?.mode)) continue;
      const metric = o.match?.customMetric ?? o.match?.metric ?? 'ALL_METRICS';
      if (metric === 'ALL_METRICS' && o.disabled === true) {
        allDisabled = true;
        continue;
      }
      allDisabled = false;
      const instruments = metric === 'ALL_METRICS' ? Object.values(METRIC_INSTRUMENTS).flat()
        : o.match?.customMetric !== undefined ? (CUSTOM_INSTRUMENTS.includes(metric) ? [metric] : [])
        : METRIC_INSTRUMENTS[metric] ?? [];
      for (const name of instruments) {
        const b = byInstrument.get(name) ?? { disabled: undefined, tags: new Map() };
        if (o.disabled !== undefined) b.disabled = o.disabled;
        for (const [tag, to] of Object.entries(o.tagOverrides ?? {})) {
          if ((to.operation ?? 'UPSERT') === 'REMOVE') {
            b.tags.set(tag, { name: tag, value: undefined });
            continue;
          }
          const parsed = parseTagExpression(to.value ?? '');
          // An expression Meshlet cannot evaluate leaves the tag as it was (validation warned).
          if (parsed.ok) b.tags.set(tag, { name: tag, value: parsed.value });
        }
        byInstrument.set(name, b);
      }
    }
  }
  const out = new Map<string, MetricOverride>();
  if (allDisabled) {
    for (const name of Object.values(METRIC_INSTRUMENTS).flat()) out.set(name, { disabled: true, tags: [] });
  }
  for (const [name, b] of byInstrument) {
    if (allDisabled && METRIC_INSTRUMENTS_FLAT.has(name)) continue;
    out.set(name, { disabled: b.disabled ?? false, tags: [...b.tags.values()].sort((a, c) => a.name.localeCompare(c.name)) });
  }
  return out;
}

const METRIC_INSTRUMENTS_FLAT = new Set(Object.values(METRIC_INSTRUMENTS).flat());
