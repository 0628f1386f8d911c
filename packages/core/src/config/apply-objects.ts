// The last stage every CRD source shares (files, the Kubernetes API): the objects in force are
// analyzed across objects (istioctl analyze's findings), compiled for this client, and handed to
// the mesh — security policies, the Telemetry policy, and a new snapshot — in one place, so the
// sources cannot drift apart in what they apply.

import type { Mesh } from '../mesh.ts';
import { analyzeMesh } from '../istio/analyze/analyze-mesh.ts';
import { compileMesh } from '../istio/compile/compile-mesh.ts';
import { compileTelemetryPolicy } from '../istio/compile/compile-telemetry.ts';
import type { MeshObject, Telemetry } from '../istio/types.ts';
import { formatProblem, type ConfigProblem } from './config-error.ts';

/**
 * Applies `objects` to `mesh` as `source`. `loadProblems` (what loading found) are reported
 * with the result; returns the analyzers' and compiler's problems.
 */
export function applyObjects(mesh: Mesh, objects: readonly MeshObject[], source: string, loadProblems: readonly ConfigProblem[]): ConfigProblem[] {
  const id = mesh.identity;
  // The analyzers' findings (IST0101, ...) are the ones `meshlet validate` prints; the compiler
  // adds what holds only for this client (its namespace, labels, ports).
  const findings = analyzeMesh(objects, { clusterDomain: id.clusterDomain, rootNamespace: id.rootNamespace });
  const compiled = compileMesh(objects, id);
  const problems = [...findings, ...compiled.problems];
  mesh.policies.update(objects);
  mesh.telemetry?.setPolicy(compileTelemetryPolicy(objects.filter((o): o is Telemetry => o.kind === 'Telemetry'), { namespace: id.namespace, labels: id.labels, rootNamespace: id.rootNamespace }));
  mesh.applyResources(compiled.resources, source, [...loadProblems, ...problems].map(formatProblem));
  return problems;
}
