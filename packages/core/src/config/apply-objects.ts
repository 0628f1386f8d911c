// The last stage every CRD source shares (files, the Kubernetes API): the objects in force are
// analyzed across objects (istioctl analyze's findings), compiled for this client under the
// MeshConfig in force, and handed to the mesh — the MeshConfig, security policies, the Telemetry
// policy, and a new snapshot — in one place, so the sources cannot drift apart in what they apply.

import type { Mesh } from '../mesh.ts';
import { analyzeMesh } from '../istio/analyze/analyze-mesh.ts';
import { compileMesh } from '../istio/compile/compile-mesh.ts';
import { compileTelemetryPolicy } from '../istio/compile/compile-telemetry.ts';
import type { MeshConfigObject, MeshObject, Telemetry } from '../istio/types.ts';
import { formatProblem, type ConfigProblem } from '../config-error.ts';

export interface ApplyOptions {
  /** createMesh({ meshConfig }): in force over MeshConfig documents among `objects`. */
  meshConfig?: MeshConfigObject | undefined;
}

/**
 * Applies `objects` to `mesh` as `source`. `loadProblems` (what loading found) are reported
 * with the result; returns the analyzers' and compiler's problems.
 */
export function applyObjects(mesh: Mesh, objects: readonly MeshObject[], source: string, loadProblems: readonly ConfigProblem[], opts: ApplyOptions = {}): ConfigProblem[] {
  // The MeshConfig in force (rootNamespace, trust domain, exportTo defaults, ...) is chosen by
  // the compile, against the client as createMesh named it.
  const compiled = compileMesh(objects, mesh.baseIdentity, { meshConfig: opts.meshConfig });
  // The analyzers' findings (IST0101, ...) are the ones `meshlet validate` prints; the compiler
  // adds what holds only for this client (its namespace, labels, ports).
  const findings = analyzeMesh(objects, { clusterDomain: mesh.baseIdentity.clusterDomain, rootNamespace: compiled.mesh.rootNamespace });
  const problems = [...findings, ...compiled.problems];
  // The MeshConfig first: the root namespace it names decides which policies apply below.
  mesh.setMeshConfig(compiled.mesh);
  mesh.policies.update(objects);
  const id = mesh.identity;
  mesh.telemetry?.setPolicy(compileTelemetryPolicy(objects.filter((o): o is Telemetry => o.kind === 'Telemetry'), { namespace: id.namespace, labels: id.labels, rootNamespace: id.rootNamespace }));
  mesh.applyResources(compiled.resources, source, [...loadProblems, ...problems].map(formatProblem), { outbound: compiled.outbound, scope: compiled.scope });
  return problems;
}
