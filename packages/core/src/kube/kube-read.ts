// One Kubernetes object, as JSON (a YAML document from a file, or an object from the API server),
// into a typed KubeObject: its structure checked (./kube-schemas.ts), then the API server's rules
// for the fields Meshlet reads (./kube-validate.ts). Problems name file:line and the exact field;
// an object with an error is not returned, so the caller keeps the last good version.

import type { ConfigProblem } from '../config-error.ts';
import type { ObjectMeta, SourceRef } from '../istio/object-meta.ts';
import { checkShape } from '../istio/validate/validate-schema.ts';
import { checkMetadata, createProblemCollector } from '../istio/validate/validate-object.ts';
import { KUBE_SCHEMAS, kubeMetadataSchema } from './kube-schemas.ts';
import type { KubeKind, KubeMeta, KubeObject } from './kube-types.ts';
import { validateKubeObject } from './kube-validate.ts';

const ENVELOPE = new Set(['apiVersion', 'kind', 'metadata']);

export interface KubeReadInput {
  apiVersion: string;
  kind: KubeKind;
  /** Name, namespace ('' for cluster-scoped kinds), labels, annotations and creation time, already read. */
  metadata: ObjectMeta;
  source: SourceRef;
}

export function readKubeObject(data: Readonly<Record<string, unknown>>, input: KubeReadInput): { object?: KubeObject; problems: ConfigProblem[] } {
  const { report, problems } = createProblemCollector({ kind: input.kind, namespace: input.metadata.namespace, name: input.metadata.name, source: input.source });
  const rawMeta = { ...(data['metadata'] as Record<string, unknown>) };
  if (checkShape(rawMeta, kubeMetadataSchema, ['metadata'], report) === 'types') return { problems };
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) if (!ENVELOPE.has(k)) body[k] = v;
  // A Pod or Service written without a spec is read as an empty one, as the API server defaults it.
  if ((input.kind === 'Service' || input.kind === 'Pod') && (body['spec'] === undefined || body['spec'] === null)) body['spec'] = {};
  if (checkShape(body, KUBE_SCHEMAS[input.kind], [], report) === 'types') return { problems };

  const metadata: KubeMeta = { ...input.metadata };
  if (typeof rawMeta['uid'] === 'string') metadata.uid = rawMeta['uid'];
  if (typeof rawMeta['generateName'] === 'string') metadata.generateName = rawMeta['generateName'];
  if (typeof rawMeta['deletionTimestamp'] === 'string') metadata.deletionTimestamp = rawMeta['deletionTimestamp'];
  if (Array.isArray(rawMeta['ownerReferences'])) metadata.ownerReferences = rawMeta['ownerReferences'] as KubeMeta['ownerReferences'];
  const object = { ...body, apiVersion: input.apiVersion, kind: input.kind, metadata, source: input.source } as KubeObject;
  checkMetadata(object, report);
  validateKubeObject(object, report);
  return problems.some((p) => p.severity === 'error') ? { problems } : { object, problems };
}
