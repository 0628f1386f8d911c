// Sidecar validation, case by case, from istiod's webhook (ValidateSidecar and the helpers it
// calls), with istiod's messages, reported as file:line: Kind ns/name: field: message.

import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { runCases, type Case } from './validate-case-helper.ts';

const cases: Case[] = [
  { name: 'namespace default scoped to its own namespace and istio-system', valid: true, spec: `egress:\n- hosts: ["./*", "istio-system/*"]` },
  { name: 'egress listener with a port, then the catch-all', valid: true, spec: `egress:\n- port: {number: 9080, protocol: HTTP, name: http}\n  hosts: ["prod/*"]\n- hosts: ["*/*"]` },
  { name: 'exclusions, wildcards and ~/*', valid: true, spec: `egress:\n- hosts: ["*/*", "~prod-us2/*", "~prod-apis/foo.example.com", "~/bar.example.com", "./*.example.com"]` },
  { name: 'ingress to a loopback endpoint, with a connection pool', valid: true, spec: `ingress:\n- port: {number: 9080, protocol: HTTP, name: http}\n  defaultEndpoint: 127.0.0.1:8080\n  connectionPool: {http: {http2MaxRequests: 10}}\ninboundConnectionPool: {tcp: {maxConnections: 5}}` },
  { name: 'ingress to a unix socket', valid: true, spec: `ingress:\n- port: {number: 9080, protocol: HTTP, name: http}\n  defaultEndpoint: unix:///var/run/app.sock` },
  { name: 'outbound policy alone', valid: true, spec: `outboundTrafficPolicy: {mode: REGISTRY_ONLY}` },
  { name: 'egress proxy with ALLOW_ANY', valid: true, spec: `outboundTrafficPolicy:\n  mode: ALLOW_ANY\n  egressProxy: {host: egress.istio-system.svc.cluster.local, port: {number: 80}}` },
  { name: 'empty configuration', error: ['spec', 'sidecar: empty configuration provided'], spec: `{}` },
  { name: 'selector without labels warns', warn: ['spec.workloadSelector', 'will be applied to all services in namespace'], spec: `workloadSelector: {}\negress:\n- hosts: ["./*"]` },
  { name: 'wildcard in a selector', error: ['spec.workloadSelector.labels.app', 'wildcard is not supported in selector'], spec: `workloadSelector: {labels: {app: "*"}}\negress:\n- hosts: ["./*"]` },
  { name: 'host without a namespace', error: ['spec.egress[0].hosts[0]', 'host must be of form namespace/dnsName'], spec: `egress:\n- hosts: ["reviews.default.svc.cluster.local"]` },
  { name: 'short host name', error: ['spec.egress[0].hosts[0]', 'short names (non FQDN) are not allowed'], spec: `egress:\n- hosts: ["default/reviews"]` },
  { name: 'partial wildcard', error: ['spec.egress[0].hosts[0]', 'partial wildcard'], spec: `egress:\n- hosts: ["default/*foo.example.com"]` },
  { name: 'bad namespace', error: ['spec.egress[0].hosts[0]', 'invalid namespace value "Not_A_NS" in sidecar'], spec: `egress:\n- hosts: ["Not_A_NS/*"]` },
  { name: 'empty namespace', error: ['spec.egress[0].hosts[0]', 'cannot be empty'], spec: `egress:\n- hosts: ["/foo.example.com"]` },
  { name: 'no hosts', error: ['spec.egress[0].hosts', 'must contain at least one host'], spec: `egress:\n- hosts: []` },
  { name: 'catch-all not last', error: ['spec.egress[0]', 'should be the last listener'], spec: `egress:\n- hosts: ["./*"]\n- port: {number: 80, protocol: HTTP}\n  hosts: ["./*"]` },
  { name: 'two catch-alls (istiod names the first)', error: ['spec.egress[0]', 'should be the last listener'], spec: `egress:\n- hosts: ["./*"]\n- hosts: ["*/*"]` },
  { name: 'duplicate egress ports', error: ['spec.egress[1].port.number', 'must be unique'], spec: `egress:\n- port: {number: 80, protocol: HTTP}\n  hosts: ["./*"]\n- port: {number: 80, protocol: HTTP}\n  hosts: ["*/*"]` },
  { name: 'unknown protocol', error: ['spec.egress[0].port.protocol', 'unrecognized protocol "SMTP"'], spec: `egress:\n- port: {number: 25, protocol: SMTP}\n  hosts: ["./*"]` },
  { name: 'port 0 without a unix bind', error: ['spec.egress[0].bind', 'unix domain socket bind address'], spec: `egress:\n- port: {number: 0, protocol: HTTP}\n  hosts: ["./*"]` },
  { name: 'bind that is not an IP', error: ['spec.egress[0].bind', 'not a valid IP'], spec: `egress:\n- port: {number: 80, protocol: HTTP}\n  bind: localhost\n  hosts: ["./*"]` },
  { name: 'targetPort', error: ['spec.egress[0].port.targetPort', 'targetPort has no impact on Sidecars'], spec: `egress:\n- port: {number: 80, protocol: HTTP, targetPort: 8080}\n  hosts: ["./*"]` },
  { name: 'duplicated host warns', warn: ['spec.egress[0].hosts[1]', 'duplicated egress host: ./a.example.com'], spec: `egress:\n- hosts: ["./*", "./a.example.com"]` },
  { name: '*/* with others warns', warn: ['spec.egress[0].hosts', '`*/*` host select all resources'], spec: `egress:\n- hosts: ["*/*", "prod/*"]` },
  { name: 'ingress without a port', error: ['spec.ingress[0].port', 'required'], spec: `ingress:\n- defaultEndpoint: 127.0.0.1:8080` },
  { name: 'ingress ports must be unique', error: ['spec.ingress[1].port.number', 'must be unique'], spec: `ingress:\n- port: {number: 80, protocol: HTTP}\n- port: {number: 80, protocol: HTTP}` },
  { name: 'defaultEndpoint on another host', error: ['spec.ingress[0].defaultEndpoint', 'defaultEndpoint must be of form 127.0.0.1:<port>'], spec: `ingress:\n- port: {number: 80, protocol: HTTP}\n  defaultEndpoint: 10.0.0.1:8080` },
  { name: 'defaultEndpoint without a numeric port', error: ['spec.ingress[0].defaultEndpoint', 'is not a number'], spec: `ingress:\n- port: {number: 80, protocol: HTTP}\n  defaultEndpoint: "127.0.0.1:http"` },
  { name: 'ingress TLS on an HTTP port', error: ['spec.ingress[0].tls', 'server cannot have TLS settings for non HTTPS/TLS ports'], spec: `ingress:\n- port: {number: 80, protocol: HTTP}\n  tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k}` },
  { name: 'ingress ISTIO_MUTUAL', error: ['spec.ingress[0].tls.mode', 'cannot set mode to ISTIO_MUTUAL in sidecar ingress tls'], spec: `ingress:\n- port: {number: 443, protocol: HTTPS}\n  tls: {mode: ISTIO_MUTUAL}` },
  { name: 'empty connection pool', error: ['spec.inboundConnectionPool', 'connectionPool is empty'], spec: `inboundConnectionPool: {}` },
  { name: 'negative pool limit', error: ['spec.ingress[0].connectionPool.http.http2MaxRequests', 'cannot be negative'], spec: `ingress:\n- port: {number: 80, protocol: HTTP}\n  connectionPool: {http: {http2MaxRequests: -1}}` },
  { name: 'HTTP pool on a TCP port warns', warn: ['spec.ingress[0].connectionPool.http', 'only TCP settings will apply'], spec: `ingress:\n- port: {number: 5432, protocol: TCP}\n  connectionPool: {http: {http2MaxRequests: 10}}` },
  { name: 'egress proxy with REGISTRY_ONLY', error: ['spec.outboundTrafficPolicy.egressProxy', 'egress_proxy must be set only with ALLOW_ANY'], spec: `outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n  egressProxy: {host: egress.example.com, port: {number: 80}}` },
  { name: 'egress proxy with no mode (REGISTRY_ONLY)', error: ['spec.outboundTrafficPolicy.egressProxy', 'egress_proxy must be set only with ALLOW_ANY'], spec: `outboundTrafficPolicy:\n  egressProxy: {host: egress.example.com, port: {number: 80}}` },
  { name: 'egress proxy without a port', error: ['spec.outboundTrafficPolicy.egressProxy.port', 'egress_proxy port must be non-nil'], spec: `outboundTrafficPolicy:\n  mode: ALLOW_ANY\n  egressProxy: {host: egress.example.com}` },
  { name: 'ALLOW_ANY_DYNAMIC_DNS is MeshConfig only', error: ['spec.outboundTrafficPolicy.mode', 'only supported in MeshConfig'], spec: `outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}` },
  { name: 'no mode means REGISTRY_ONLY', warn: ['spec.outboundTrafficPolicy.mode', 'means REGISTRY_ONLY'], spec: `outboundTrafficPolicy: {}` },
  { name: 'unknown mode', error: ['spec.outboundTrafficPolicy.mode', 'unsupported value'], spec: `outboundTrafficPolicy: {mode: BLOCK}` },
];

describe('Sidecar validation', () => {
  runCases('Sidecar', cases);

  it('names file, line, object and field, as every kind does', () => {
    const text = 'apiVersion: networking.istio.io/v1beta1\nkind: Sidecar\nmetadata: { name: default, namespace: shop }\nspec:\n  egress:\n  - hosts:\n    - ./*\n    - reviews\n';
    expect(parseConfigText(text, 'sidecar.yaml').problems.map(formatProblem)).toEqual([
      'sidecar.yaml:8: Sidecar shop/default: spec.egress[0].hosts[1]: host must be of form namespace/dnsName',
    ]);
    // v1alpha3 is served too.
    expect(parseConfigText(text.replace('v1beta1', 'v1alpha3').replace('    - reviews\n', ''), 's.yaml').objects).toHaveLength(1);
  });
});
