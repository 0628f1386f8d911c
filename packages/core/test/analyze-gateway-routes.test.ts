// gateway.RouteReferences (IST0101): HTTPRoute / GRPCRoute parents and backends that name
// nothing the config declares.

import { describe, expect, it } from 'vitest';
import { analyzeYaml, lineOf, serviceEntry } from './analyze-helpers.ts';

const route = (name: string, spec: string, kind = 'HTTPRoute'): string =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: ${kind}\nmetadata: { name: ${name}, namespace: default }\nspec:\n${spec}\n---\n`;
const SVC = serviceEntry('svc', '  hosts: [svc.default.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{ number: 80, name: http, protocol: HTTP }]\n  endpoints: [{ address: 10.0.0.1 }]');

describe('gateway.RouteReferences (IST0101)', () => {
  it('parents: a missing ServiceEntry and an undeclared Service', () => {
    const yaml = SVC + route('r', '  parentRefs:\n  - { group: networking.istio.io, kind: ServiceEntry, name: gone }\n  - { group: "", kind: Service, name: nobody }\n  rules:\n  - backendRefs: [{ name: svc, port: 80 }]');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'name: gone')}: HTTPRoute default/r: spec.parentRefs[0]: Referenced ServiceEntry not found: "default/gone"; this parent routes nothing [IST0101]`,
      `mesh.yaml:${lineOf(yaml, 'name: nobody')}: HTTPRoute default/r: spec.parentRefs[1]: Referenced Service not found: "nobody.default.svc.cluster.local" (no Service or ServiceEntry declares it); this parent routes nothing [IST0101]`,
    ]);
  });

  it('backends: an undeclared service, a missing port, a mirror to nowhere (GRPCRoute too)', () => {
    const yaml = SVC + route('r', `  parentRefs: [{ group: "", kind: Service, name: svc }]
  rules:
  - filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: shadow, port: 80 } } }]
    backendRefs:
    - { name: nowhere, port: 80 }
    - { name: svc, port: 8080 }`) + route('g', '  parentRefs: [{ group: "", kind: Service, name: svc }]\n  rules:\n  - backendRefs: [{ name: grpc-gone, port: 80 }]', 'GRPCRoute');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'name: nowhere')}: HTTPRoute default/r: spec.rules[0].backendRefs[0].name: Referenced backend not found: "nowhere.default.svc.cluster.local" (no Service or ServiceEntry declares it); requests sent to it fail [IST0101]`,
      `mesh.yaml:${lineOf(yaml, 'port: 8080')}: HTTPRoute default/r: spec.rules[0].backendRefs[1].port: Referenced backend host:port not found: "svc.default.svc.cluster.local:8080" (the service has port 80); requests sent to it fail [IST0101]`,
      `mesh.yaml:${lineOf(yaml, 'name: shadow')}: HTTPRoute default/r: spec.rules[0].filters[0].requestMirror.backendRef.name: Referenced backend not found: "shadow.default.svc.cluster.local" (no Service or ServiceEntry declares it); requests sent to it fail [IST0101]`,
      `mesh.yaml:${lineOf(yaml, 'name: grpc-gone')}: GRPCRoute default/g: spec.rules[0].backendRefs[0].name: Referenced backend not found: "grpc-gone.default.svc.cluster.local" (no Service or ServiceEntry declares it); requests sent to it fail [IST0101]`,
    ]);
  });

  it('a route whose references all resolve has no findings', () => {
    expect(analyzeYaml(SVC + route('r', '  parentRefs: [{ group: "", kind: Service, name: svc }]\n  rules:\n  - backendRefs: [{ name: svc, port: 80 }]'))).toEqual([]);
  });
});
