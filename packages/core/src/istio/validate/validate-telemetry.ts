// Telemetry (telemetry.istio.io): the CRD structure and CEL rules, istiod's webhook
// (pkg/config/validation ValidateTelemetry), and warnings for what Meshlet cannot honour: it has
// no access logs, records no TCP, size or gRPC-message metrics, and evaluates only simple
// tagOverrides expressions (istio/compile/compile-telemetry.ts says which).

import type { TelemetrySpec } from '../types.ts';
import { checkSelectorLabels, type FieldPath, type ValidationContext } from './validate-common.ts';
import { arr, bool, dur, map, num, obj, str, policyTargetRef, type Schema } from './validate-schema.ts';
import { parseTagExpression } from '../../telemetry/tag-expression.ts';
import { CUSTOM_INSTRUMENTS, METRIC_INSTRUMENTS } from '../../telemetry/telemetry-policy.ts';

export const TELEMETRY_KIND = { group: 'telemetry.istio.io', versions: ['v1', 'v1alpha1'] } as const;

const MODES = ['CLIENT_AND_SERVER', 'CLIENT', 'SERVER'] as const;
const METRICS = [
  'ALL_METRICS', 'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'TCP_OPENED_CONNECTIONS',
  'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES',
] as const;
const providers = () => arr(obj({ name: str() }, { required: ['name'] }));
const valueWithDefault = () => obj({ name: str(), defaultValue: str() }, { required: ['name'] });

export const telemetrySchema: Schema = obj({
  selector: obj({ matchLabels: map(str({ maxLength: 63 }), { maxProperties: 4096 }) }),
  targetRef: policyTargetRef(),
  targetRefs: arr(policyTargetRef(), { maxItems: 16 }),
  tracing: arr(obj({
    match: obj({ mode: str({ enum: MODES }) }),
    providers: providers(),
    randomSamplingPercentage: num({ min: 0, max: 100 }),
    disableSpanReporting: bool(),
    customTags: map(obj({
      literal: obj({ value: str() }, { required: ['value'] }),
      environment: valueWithDefault(),
      header: valueWithDefault(),
      formatter: obj({ value: str() }, { required: ['value'] }),
    }, { oneOf: [['literal', 'environment', 'header', 'formatter']] })),
    useRequestIdForTraceSampling: bool(),
    enableIstioTags: bool(),
    disableContextPropagation: bool(),
  })),
  metrics: arr(obj({
    providers: providers(),
    overrides: arr(obj({
      match: obj({ metric: str({ enum: METRICS }), customMetric: str(), mode: str({ enum: MODES }) }, { oneOf: [['metric', 'customMetric']] }),
      disabled: bool(),
      tagOverrides: map(obj({ operation: str({ enum: ['UPSERT', 'REMOVE'] }), value: str() })),
    })),
    reportingInterval: dur('min1ms'),
  })),
  accessLogging: arr(obj({
    match: obj({ mode: str({ enum: MODES }) }),
    providers: providers(),
    disabled: bool(),
    filter: obj({ expression: str() }),
  })),
});

export function validateTelemetry(spec: TelemetrySpec, ctx: ValidationContext): void {
  const r = ctx.report;
  if (spec.selector !== undefined && (spec.targetRef !== undefined || spec.targetRefs !== undefined)) {
    r.error(['spec', 'selector'], 'only one of targetRefs or selector can be set');
  }
  if (spec.selector !== undefined) {
    checkSelectorLabels(spec.selector.matchLabels, ['spec', 'selector', 'matchLabels'], r, 'selector has no labels, so the policy applies to every workload in the namespace');
  }
  if ((spec.tracing?.length ?? 0) > 1) r.warn(['spec', 'tracing'], 'multiple tracing is not currently supported');
  (spec.tracing ?? []).forEach((t, i) => {
    const at: FieldPath = ['spec', 'tracing', i];
    if ((t.providers?.length ?? 0) > 1) r.warn([...at, 'providers'], 'multiple providers is not currently supported');
    t.providers?.forEach((p, j) => { if (!p.name) r.error([...at, 'providers', j, 'name'], 'providers.name may not be empty'); });
    for (const [name, tag] of Object.entries(t.customTags ?? {})) {
      const p: FieldPath = [...at, 'customTags', name];
      if (name === '') r.error(p, 'tag name may not be empty');
      if (tag.literal && !tag.literal.value) r.error([...p, 'literal', 'value'], 'literal tag value may not be empty');
      if (tag.header && !tag.header.name) r.error([...p, 'header', 'name'], 'header tag name may not be empty');
      if (tag.environment && !tag.environment.name) r.error([...p, 'environment', 'name'], 'environment tag name may not be empty');
      if (tag.formatter) r.warn([...p, 'formatter'], 'formatter tags are not evaluated by Meshlet; the tag is left out');
      if (!tag.literal && !tag.header && !tag.environment && !tag.formatter) r.error(p, `tag '${name}' may not have a nil value`);
    }
  });
  (spec.metrics ?? []).forEach((m, i) => {
    const at: FieldPath = ['spec', 'metrics', i];
    m.providers?.forEach((p, j) => { if (!p.name) r.error([...at, 'providers', j, 'name'], 'providers.name may not be empty'); });
    (m.overrides ?? []).forEach((o, j) => {
      const op: FieldPath = [...at, 'overrides', j];
      const custom = o.match?.customMetric;
      if (custom === '') r.error([...op, 'match', 'customMetric'], 'customMetric may not be empty');
      else if (custom !== undefined && !CUSTOM_INSTRUMENTS.includes(custom)) {
        r.warn([...op, 'match', 'customMetric'], `Meshlet has no instrument "${custom}" (it has ${CUSTOM_INSTRUMENTS.join(', ')}); this override has nothing to act on`);
      }
      const metric = o.match?.metric;
      if (metric && metric !== 'ALL_METRICS' && !(metric in METRIC_INSTRUMENTS)) {
        r.warn([...op, 'match', 'metric'], `Meshlet records no ${metric} metric; this override has nothing to act on`);
      }
      for (const [tag, to] of Object.entries(o.tagOverrides ?? {})) {
        const tp: FieldPath = [...op, 'tagOverrides', tag];
        if (tag === '') r.warn(tp, 'tagOverrides.name may not be empty');
        const operation = to.operation ?? 'UPSERT';
        if (operation === 'UPSERT' && !to.value) r.error([...tp, 'value'], 'tagOverrides.value must be set when operation is UPSERT');
        if (operation === 'REMOVE' && to.value) r.error([...tp, 'value'], 'tagOverrides.value may only be set when operation is UPSERT');
        if (operation === 'UPSERT' && to.value) {
          const parsed = parseTagExpression(to.value);
          if (!parsed.ok) r.warn([...tp, 'value'], `Meshlet cannot evaluate this expression (${parsed.reason}); the tag is left unchanged`);
        }
      }
    });
  });
  if (spec.accessLogging?.length) r.warn(['spec', 'accessLogging'], 'access logging is not produced by Meshlet (use the logger option); ignored');
}
