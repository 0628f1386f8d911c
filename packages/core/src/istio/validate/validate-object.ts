// Validation of one whole object, in the order Kubernetes and istiod apply it: object metadata,
// then the spec's structure (the CRD schema), then — only if the structure is sound — istiod's
// webhook rules for the kind. Every finding becomes a ConfigProblem naming file:line (from the
// object's SourceRef, at the exact field), the object and the dotted field path.

import { fieldPath, locate, type ConfigProblem } from '../../config-error.ts';
import type { IstioConfigObject, MeshObject, SourceRef } from '../types.ts';
import { checkLabelKey, checkLabels, type FieldPath, type Report, type ValidationContext } from './validate-common.ts';
import { validateDestinationRule } from './validate-destination-rule.ts';
import { validatePeerAuthentication } from './validate-peer-authentication.ts';
import { authorizationPolicySchema, validateAuthorizationPolicy } from './validate-authorization-policy.ts';
import { requestAuthenticationSchema, validateRequestAuthentication } from './validate-request-authentication.ts';
import { telemetrySchema, validateTelemetry } from './validate-telemetry.ts';
import { checkShape, type Schema } from './validate-schema.ts';
import { grpcRouteSchema, httpRouteSchema, validateGrpcRoute, validateHttpRoute } from './validate-gateway-api.ts';
import { destinationRuleSchema } from './validate-schema-destination-rule.ts';
import { peerAuthenticationSchema } from './validate-schema-peer-authentication.ts';
import { serviceEntrySchema, workloadEntrySchema } from './validate-schema-service-entry.ts';
import { virtualServiceSchema } from './validate-schema-virtual-service.ts';
import { validateServiceEntry } from './validate-service-entry.ts';
import { validateVirtualService } from './validate-virtual-service.ts';
import { validateWorkloadEntry } from './validate-workload-entry.ts';
import { sidecarSchema, validateSidecar } from './validate-sidecar.ts';
import { validateMeshConfig } from './validate-mesh-config.ts';
import { any } from './validate-schema.ts';

interface KindRules {
  schema: Schema;
  /** ServiceEntry and WorkloadEntry CRDs require a spec; the others accept an empty one. */
  specRequired: boolean;
  /** Takes the kind's own spec type; `never` lets one table hold all five validators. */
  validate(spec: never, ctx: ValidationContext): void;
}

const RULES: Readonly<Record<IstioConfigObject['kind'], KindRules>> = {
  VirtualService: { schema: virtualServiceSchema, specRequired: false, validate: validateVirtualService },
  DestinationRule: { schema: destinationRuleSchema, specRequired: false, validate: validateDestinationRule },
  ServiceEntry: { schema: serviceEntrySchema, specRequired: true, validate: validateServiceEntry },
  WorkloadEntry: { schema: workloadEntrySchema(), specRequired: true, validate: validateWorkloadEntry },
  PeerAuthentication: { schema: peerAuthenticationSchema, specRequired: false, validate: validatePeerAuthentication },
  AuthorizationPolicy: { schema: authorizationPolicySchema, specRequired: false, validate: validateAuthorizationPolicy },
  RequestAuthentication: { schema: requestAuthenticationSchema, specRequired: false, validate: validateRequestAuthentication },
  Telemetry: { schema: telemetrySchema, specRequired: false, validate: validateTelemetry },
  HTTPRoute: { schema: httpRouteSchema, specRequired: true, validate: validateHttpRoute },
  GRPCRoute: { schema: grpcRouteSchema, specRequired: true, validate: validateGrpcRoute },
  Sidecar: { schema: sidecarSchema, specRequired: false, validate: validateSidecar },
  // Read leniently, as istiod reads it: the validator checks what Meshlet applies and names the rest.
  MeshConfig: { schema: any(), specRequired: false, validate: validateMeshConfig },
};

/** The structural schema of a kind's spec (tests walk it to prove every level is strict). */
export function specSchema(kind: IstioConfigObject['kind']): Schema {
  return RULES[kind].schema;
}

// Annotations istiod refuses on these kinds: dry-run is for AuthorizationPolicy only, and the
// internal ones are reserved for configuration istiod generates itself.
const FORBIDDEN_ANNOTATIONS: ReadonlyMap<string, string> = new Map([
  ['istio.io/dry-run', 'the istio.io/dry-run annotation is only supported on AuthorizationPolicy; remove it'],
  ['internal.istio.io/webhook-always-reject', 'the internal.istio.io/webhook-always-reject annotation makes istiod reject this object'],
  ['internal.istio.io/parent-namespace', 'the internal.istio.io/parent-namespace annotation is reserved for istiod'],
  ['internal.istio.io/parents', 'the internal.istio.io/parents annotation is reserved for istiod'],
]);

const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL_LOWER = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** Collects problems about one object; `line` comes from its source at the exact field. */
export function createProblemCollector(
  target: { kind: string; namespace: string; name: string; source: SourceRef },
): { report: Report; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const add = (severity: ConfigProblem['severity'], path: FieldPath, message: string): void => {
    problems.push({
      severity,
      ...locate(target.source, path),
      kind: target.kind,
      namespace: target.namespace,
      name: target.name,
      field: fieldPath(path),
      message,
    });
  };
  return {
    problems,
    report: {
      error: (path, message) => add('error', path, message),
      warn: (path, message) => add('warning', path, message),
    },
  };
}

/** Metadata rules every kind shares; `namespace` is '' only for cluster-scoped Kubernetes kinds. */
export function checkMetadata(obj: MeshObject, r: Report): void {
  const { name, namespace, labels, annotations, creationTimestamp } = obj.metadata;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    r.error(['metadata', 'name'], `name "${name}" must be a lowercase DNS-1123 subdomain (a-z, 0-9, '-', '.'; at most 253 characters)`);
  }
  if (namespace !== '' && (namespace.length > 63 || !DNS1123_LABEL_LOWER.test(namespace))) {
    r.error(['metadata', 'namespace'], `namespace "${namespace}" must be a lowercase DNS-1123 label (a-z, 0-9, '-'; at most 63 characters)`);
  }
  checkLabels(labels, ['metadata', 'labels'], r);
  for (const key of Object.keys(annotations ?? {})) {
    const keyErr = checkLabelKey(key);
    if (keyErr) r.error(['metadata', 'annotations', key], keyErr.replace('label key', 'annotation key'));
    const forbidden = FORBIDDEN_ANNOTATIONS.get(key);
    if (forbidden) r.error(['metadata', 'annotations', key], forbidden);
  }
  if (creationTimestamp !== undefined && Number.isNaN(Date.parse(creationTimestamp))) {
    r.error(['metadata', 'creationTimestamp'], `creationTimestamp "${creationTimestamp}" is not an RFC 3339 time`);
  }
}

/**
 * Validates `obj` as istiod would admit it and returns every problem found (errors and
 * warnings). The spec is normalized in place the way the API server stores it: null fields
 * dropped, unknown fields pruned (each with a warning).
 */
export function validateMeshObject(obj: IstioConfigObject): ConfigProblem[] {
  const { report, problems } = createProblemCollector({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, source: obj.source });
  checkMetadata(obj, report);
  const rules = RULES[obj.kind];
  if (obj.spec === undefined || obj.spec === null) {
    if (rules.specRequired) {
      report.error(['spec'], 'spec is required');
      return problems;
    }
    (obj as { spec: unknown }).spec = {};
  }
  const shapeErrors = new Set<string>();
  const shapeReport: Report = {
    error: (p, m) => {
      shapeErrors.add(fieldPath(p));
      report.error(p, m);
    },
    warn: report.warn,
  };
  // As in Kubernetes, istiod's rules only see a structurally sound object; but when only values
  // were out of bounds (not types), running them too reports every mistake in one pass.
  if (checkShape(obj.spec, rules.schema, ['spec'], shapeReport) === 'types') return problems;
  const ctx: ValidationContext = {
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
    labels: obj.metadata.labels ?? {},
    report: {
      // One error per field: the schema's message already covers it.
      error: (p, m) => {
        if (!shapeErrors.has(fieldPath(p))) report.error(p, m);
      },
      warn: report.warn,
    },
  };
  rules.validate(obj.spec as never, ctx);
  return problems;
}
