// The Istio YAML most resilience tests share: a ServiceEntry `web` with the given endpoints, a
// DestinationRule with the given trafficPolicy, and a VirtualService with the given http rules.
// Writes it to a fresh folder and returns the folder, for createMesh({ config }).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../core/test/temp-dir.ts';

export const WEB_FQDN = 'web.default.svc.cluster.local';

/** One endpoint line for writeWebMesh, on 127.0.0.1 at `port`; `extra` adds fields (`, locality: x`). */
export function webEndpoint(port: number, extra = ''): string {
  return `    - { address: 127.0.0.1, ports: { http: ${port} }${extra} }`;
}

export function writeWebMesh(endpoints: string[], trafficPolicy: string, httpRules: string): string {
  const dir = tempDir('web');
  writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [${WEB_FQDN}]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints:
${endpoints.join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: default }
spec:
  host: web
  trafficPolicy:
${trafficPolicy}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web]
  http:
${httpRules}
`);
  return dir;
}
