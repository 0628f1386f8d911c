// What the live source keeps of an object it receives: the fields the loader reads, and no more.
// A watch holds every object of its collection for as long as it runs, and in a large cluster
// pods and nodes are most of that memory: an injected pod's spec (volumes, env, probes, the
// sidecar's arguments) and status (container statuses) run to kilobytes, a node's status lists
// every image it has pulled. The Kubernetes registry reads few of them (docs/kubernetes.md,
// kube/kube-schemas.ts); a test checks the registry sees the same cluster with and without
// trimming.

import type { KubeObject } from './kube-connection.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Trims `obj` in place (it is the informer's own copy). */
export function trimObject(obj: KubeObject): void {
  // Nothing reads managedFields or kubectl's copy of the last applied object.
  delete obj.metadata.managedFields;
  const annotations = obj.metadata['annotations'] as Record<string, string> | undefined;
  if (annotations) delete annotations[LAST_APPLIED];
  switch (obj.kind) {
    case 'Pod':
      trimPod(obj);
      break;
    case 'Node':
    case 'Namespace':
      // Only their labels are read.
      delete obj['spec'];
      delete obj['status'];
      break;
    default:
      break;
  }
}

type Fields = Record<string, unknown>;

function pick(from: unknown, keys: readonly string[]): Fields | undefined {
  if (typeof from !== 'object' || from === null || Array.isArray(from)) return undefined;
  const out: Fields = {};
  for (const k of keys) if ((from as Fields)[k] !== undefined) out[k] = (from as Fields)[k];
  return out;
}

const POD_SPEC = ['serviceAccountName', 'serviceAccount', 'nodeName', 'hostname', 'subdomain'];
const POD_STATUS = ['phase', 'podIP', 'podIPs', 'conditions'];

function trimPod(pod: KubeObject): void {
  const spec = pick(pod['spec'], POD_SPEC);
  if (spec) {
    const containers = (key: string, keep: readonly string[]): void => {
      const list = (pod['spec'] as Fields)[key];
      if (Array.isArray(list)) spec[key] = list.map((c) => pick(c, keep) ?? c);
    };
    // Container ports resolve a Service's named targetPort; restartPolicy marks sidecar init containers.
    containers('containers', ['name', 'ports']);
    containers('initContainers', ['name', 'ports', 'restartPolicy']);
    pod['spec'] = spec;
  }
  const status = pick(pod['status'], POD_STATUS);
  if (status) {
    // Only the Ready condition is read; the others (PodScheduled, Initialized, ...) go.
    if (Array.isArray(status['conditions'])) status['conditions'] = (status['conditions'] as Fields[]).filter((c) => c?.['type'] === 'Ready');
    pod['status'] = status;
  }
}
