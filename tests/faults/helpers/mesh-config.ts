// Istio YAML for the scenarios: one service on 127.0.0.1 endpoints, with an optional
// DestinationRule traffic policy and VirtualService rules, written to a temp folder that
// createMesh({ config }) reads (and watches, where a scenario edits it).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshAgent } from '../../../packages/http/src/index.ts';
import { tempDir } from '../../../packages/core/test/temp-dir.ts';

export interface ServiceSpec {
  /** Short name in namespace default: `web` → web.default.svc.cluster.local. */
  name: string;
  port?: number;
  endpoints: readonly number[];
  /** YAML under `trafficPolicy:`, indented by four spaces. */
  trafficPolicy?: string;
  /** YAML under `http:`, indented by four spaces; no VirtualService when absent (Istio's defaults apply). */
  http?: string;
  /** Per-endpoint labels, e.g. version, for subsets. */
  labels?: readonly Record<string, string>[];
  /** YAML under `subsets:`, indented by four spaces. */
  subsets?: string;
}

export function serviceYaml(s: ServiceSpec): string {
  const port = s.port ?? 80;
  const eps = s.endpoints.map((p, i) => {
    const labels = s.labels?.[i];
    return `    - { address: 127.0.0.1, ports: { http: ${p} }${labels ? `, labels: ${JSON.stringify(labels)}` : ''} }`;
  });
  let out = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${s.name}, namespace: default }
spec:
  hosts: [${s.name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: ${port}, name: http, protocol: HTTP }]
  endpoints:
${eps.join('\n')}
`;
  if (s.trafficPolicy !== undefined || s.subsets !== undefined) {
    out += `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${s.name}, namespace: default }
spec:
  host: ${s.name}
${s.trafficPolicy !== undefined ? `  trafficPolicy:\n${s.trafficPolicy}\n` : ''}${s.subsets !== undefined ? `  subsets:\n${s.subsets}\n` : ''}`;
  }
  if (s.http !== undefined) {
    out += `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${s.name}, namespace: default }
spec:
  hosts: [${s.name}]
  http:
${s.http}
`;
  }
  return out;
}

export function configDir(prefix: string, files: Record<string, string>): string {
  const dir = tempDir(`faults-${prefix}`);
  writeConfig(dir, files);
  return dir;
}

export function writeConfig(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/**
 * GET http://<host>:<port><path> through the agent. Resolves with the body when the status is
 * 200; anything else throws, so the load generator counts it as a failure.
 */
export async function get(agent: MeshAgent, host: string, signal: AbortSignal, port = 80, path = '/'): Promise<string> {
  const res = await agent.request({ origin: `http://${host}:${port}`, path, method: 'GET', signal });
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${body.slice(0, 100)}`);
  return body;
}
