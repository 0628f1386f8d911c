// Analyzer tests load real YAML, so every finding's file:line is the one a user would see.

import { formatProblem } from '../src/config-error.ts';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';

/** The findings over the documents of `yaml` (which must load without errors), formatted. */
export function analyzeYaml(yaml: string, file = 'mesh.yaml'): string[] {
  const { objects, problems } = parseConfigText(yaml, file);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(`the test config does not load:\n${errors.map(formatProblem).join('\n')}`);
  return analyzeMesh(objects).map(formatProblem);
}

/** The 1-based line of the `nth` (0-based) line of `yaml` containing `needle`. */
export function lineOf(yaml: string, needle: string, nth = 0): number {
  let seen = 0;
  const lines = yaml.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && seen++ === nth) return i + 1;
  }
  throw new Error(`"${needle}" (#${nth}) not in the YAML`);
}

export const serviceEntry = (name: string, body: string, ns = 'default'): string =>
  `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${body}\n---\n`;
export const virtualService = (name: string, body: string, ns = 'default'): string =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${body}\n---\n`;
export const destinationRule = (name: string, body: string, ns = 'default'): string =>
  `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${body}\n---\n`;
export const peerAuthentication = (name: string, body: string, ns = 'default'): string =>
  `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${body}\n---\n`;

/** reviews in default: port 9080, endpoints v1 and v2 (Istio workloads, with a service account). */
export const REVIEWS = serviceEntry('reviews', `  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
  - { address: 10.0.0.1, labels: { version: v1 }, serviceAccount: reviews }
  - { address: 10.0.0.2, labels: { version: v2 }, serviceAccount: reviews }`);
