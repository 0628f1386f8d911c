// ServiceEntry validation, case by case, from istiod's webhook rules and the CRD's CEL rules.

import { describe } from 'vitest';
import { runCases, type Case } from './validate-case-helper.ts';

const cases: Case[] = [
  // ---- accepted ----
  { name: 'external API resolved by DNS', valid: true, spec: `hosts: [api.example.com]\nlocation: MESH_EXTERNAL\nresolution: DNS\nports:\n- {number: 443, name: https, protocol: TLS}` },
  {
    name: 'static endpoints',
    valid: true,
    spec: `
      hosts: [db.internal]
      addresses: [10.1.0.10]
      resolution: STATIC
      ports:
      - {number: 5432, name: tcp-pg, protocol: TCP}
      endpoints:
      - address: 10.1.2.3
        ports: {tcp-pg: 15432}
        labels: {version: v1}
      - address: "2001:db8::10"`,
  },
  { name: 'CIDR addresses with resolution NONE', valid: true, spec: `hosts: [wikipedia.org]\naddresses: [91.198.174.192/27, "2001:db8::/32"]\nresolution: NONE\nports:\n- {number: 443, name: tcp, protocol: TCP}` },
  { name: 'DNS endpoints given by name', valid: true, spec: `hosts: [svc.example.com]\nresolution: DNS\nports:\n- {number: 80, name: http, protocol: HTTP}\nendpoints:\n- address: us.svc.example.com\n- address: eu.svc.example.com` },
  { name: 'DNS_ROUND_ROBIN with one endpoint', valid: true, spec: `hosts: [svc.example.com]\nresolution: DNS_ROUND_ROBIN\nports:\n- {number: 80, name: http, protocol: HTTP}\nendpoints:\n- address: lb.example.com` },
  { name: 'mesh-internal service selecting workloads', valid: true, spec: `hosts: [vm.internal]\nlocation: MESH_INTERNAL\nresolution: STATIC\nworkloadSelector: {labels: {app: vm}}\nports:\n- {number: 8080, name: http, protocol: HTTP, targetPort: 9090}` },
  { name: 'wildcard host with resolution NONE', valid: true, spec: `hosts: ["*.example.com"]\nresolution: NONE\nports:\n- {number: 443, name: tls, protocol: TLS}` },
  { name: 'exportTo "~" (no one) is allowed for ServiceEntry', valid: true, spec: `hosts: [a.example.com]\nresolution: DNS\nexportTo: ["~"]\nports:\n- {number: 80, name: http, protocol: HTTP}` },
  { name: 'protocol names are case-insensitive', valid: true, spec: `hosts: [a.example.com]\nresolution: DNS\nports:\n- {number: 80, name: http, protocol: http}\n- {number: 81, name: grpc, protocol: gRPC}` },
  { name: 'several HTTP hosts resolved by DNS', valid: true, spec: `hosts: [a.example.com, b.example.com]\nresolution: DNS\nports:\n- {number: 80, name: http, protocol: HTTP}\n- {number: 443, name: https, protocol: HTTPS}` },
  { name: 'unix socket endpoint with one port', valid: true, spec: `hosts: [local.sock]\nresolution: STATIC\nports:\n- {number: 80, name: http, protocol: HTTP}\nendpoints:\n- address: unix:///var/run/app.sock` },
  { name: 'DYNAMIC_DNS with a wildcard host', valid: true, spec: `hosts: ["*.example.com"]\nresolution: DYNAMIC_DNS\nports:\n- {number: 443, name: tls, protocol: TLS}` },
  { name: 'a TCP port without addresses under NONE is a warning', warn: ['spec.ports[0]', 'needs addresses'], spec: `hosts: [a.example.com]\nports:\n- {number: 9000, name: tcp}` },
  { name: 'partial wildcard is a warning', warn: ['spec.hosts[0]', 'partial wildcard'], spec: `hosts: ["*x.example.com"]\nresolution: NONE\nports:\n- {number: 80, name: http, protocol: HTTP}` },
  { name: 'workloadSelector with resolution NONE is a warning', warn: ['spec.workloadSelector', 'no effect'], spec: `hosts: [a.example.com]\nworkloadSelector: {labels: {app: a}}\nports:\n- {number: 80, name: http, protocol: HTTP}` },

  // ---- hosts and addresses ----
  { name: 'empty hosts', error: ['spec.hosts', 'at least 1 item'], spec: `hosts: []` },
  { name: 'host "*"', error: ['spec.hosts[0]', 'bare wildcard'], spec: `hosts: ["*"]` },
  { name: 'host with a wildcard inside', error: ['spec.hosts[0]', 'not a DNS-1123 label'], spec: `hosts: ["foo.*.com"]` },
  { name: 'CIDR prefix too long', error: ['spec.addresses[0]', 'not a valid CIDR block'], spec: `hosts: [a.example.com]\naddresses: [1.2.3.4/33]` },
  { name: 'address that is not an IP', error: ['spec.addresses[0]', 'not a valid IP address'], spec: `hosts: [a.example.com]\naddresses: [not-an-ip]` },
  { name: 'IPv4 with a leading zero', error: ['spec.addresses[0]', 'not a valid IP address'], spec: `hosts: [a.example.com]\naddresses: [10.01.0.1]` },
  { name: 'CIDR with DNS resolution', error: ['spec.addresses', 'only allowed with resolution NONE or STATIC'], spec: `hosts: [a.example.com]\naddresses: [10.0.0.0/8]\nresolution: DNS` },

  // ---- ports ----
  { name: 'duplicate port name', error: ['spec.ports[1].name', 'used twice'], spec: `hosts: [a.example.com]\nports:\n- {number: 80, name: http, protocol: HTTP}\n- {number: 81, name: http, protocol: HTTP}` },
  { name: 'duplicate port number', error: ['spec.ports[1].number', 'listed twice'], spec: `hosts: [a.example.com]\nports:\n- {number: 80, name: a, protocol: HTTP}\n- {number: 80, name: b, protocol: HTTP}` },
  { name: 'port 0', error: ['spec.ports[0].number', '1..65535'], spec: `hosts: [a.example.com]\nports:\n- {number: 0, name: http, protocol: HTTP}` },
  { name: 'target port above 65535', error: ['spec.ports[0].targetPort', '1..65535'], spec: `hosts: [a.example.com]\nports:\n- {number: 80, name: http, protocol: HTTP, targetPort: 70000}` },
  { name: 'port name with an underscore', error: ['spec.ports[0].name', 'not a DNS-1123 label'], spec: `hosts: [a.example.com]\nports:\n- {number: 80, name: http_web, protocol: HTTP}` },
  { name: 'port without a name', error: ['spec.ports[0].name', 'name is required'], spec: `hosts: [a.example.com]\nports:\n- {number: 80, protocol: HTTP}` },
  { name: 'unknown protocol', error: ['spec.ports[0].protocol', 'unknown protocol "QUIC"'], spec: `hosts: [a.example.com]\nports:\n- {number: 80, name: q, protocol: QUIC}` },

  // ---- resolution and endpoints ----
  { name: 'endpoints and workloadSelector', error: ['spec.endpoints', 'only one of workloadSelector and endpoints'], spec: `hosts: [a.example.com]\nresolution: STATIC\nworkloadSelector: {labels: {app: a}}\nendpoints:\n- address: 1.2.3.4` },
  { name: 'resolution NONE with endpoints', error: ['spec.endpoints', 'resolution NONE cannot have endpoints'], spec: `hosts: [a.example.com]\nresolution: NONE\nendpoints:\n- address: 1.2.3.4` },
  { name: 'STATIC endpoint given by name', error: ['spec.endpoints[0].address', 'must be an IP address'], spec: `hosts: [a.example.com]\nresolution: STATIC\nendpoints:\n- address: a.example.com` },
  { name: 'endpoint port not declared by the service', error: ['spec.endpoints[0].ports.grpc', 'not one of the ServiceEntry'], spec: `hosts: [a.example.com]\nresolution: STATIC\nports:\n- {number: 80, name: http, protocol: HTTP}\nendpoints:\n- address: 1.2.3.4\n  ports: {grpc: 9000}` },
  { name: 'endpoint port out of range', error: ['spec.endpoints[0].ports.http', '1..65535'], spec: `hosts: [a.example.com]\nresolution: STATIC\nports:\n- {number: 80, name: http, protocol: HTTP}\nendpoints:\n- address: 1.2.3.4\n  ports: {http: 0}` },
  { name: 'endpoint without address or network', error: ['spec.endpoints[0].address', 'address is required'], spec: `hosts: [a.example.com]\nresolution: STATIC\nendpoints:\n- labels: {app: a}` },
  { name: 'endpoint with a bad label', error: ['spec.endpoints[0].labels.app', 'label value'], spec: `hosts: [a.example.com]\nresolution: STATIC\nendpoints:\n- address: 1.2.3.4\n  labels: {app: "a b"}` },
  { name: 'unix endpoint with two service ports', error: ['spec.endpoints[0].address', 'exactly one port'], spec: `hosts: [a.example.com]\nresolution: STATIC\nports:\n- {number: 80, name: http, protocol: HTTP}\n- {number: 81, name: http2, protocol: HTTP2}\nendpoints:\n- address: unix:///tmp/a.sock` },
  { name: 'DNS without endpoints needs plain host names', error: ['spec.hosts[0]', 'DNS name without wildcards'], spec: `hosts: ["*.example.com"]\nresolution: DNS\nports:\n- {number: 80, name: http, protocol: HTTP}` },
  { name: 'DNS endpoint with a bad name', error: ['spec.endpoints[0].address', 'neither an IP address nor a DNS name'], spec: `hosts: [a.example.com]\nresolution: DNS\nendpoints:\n- address: "bad_host!"` },
  { name: 'DNS endpoint with a unix socket', error: ['spec.endpoints[0].address', 'neither an IP address nor a DNS name'], spec: `hosts: [a.example.com]\nresolution: DNS\nendpoints:\n- address: unix:///tmp/a.sock` },
  { name: 'DNS_ROUND_ROBIN with two endpoints', error: ['spec.endpoints', 'at most one endpoint'], spec: `hosts: [a.example.com]\nresolution: DNS_ROUND_ROBIN\nendpoints:\n- address: a1.example.com\n- address: a2.example.com` },
  { name: 'several hosts with a TCP port', error: ['spec.ports[0].protocol', 'several hosts'], spec: `hosts: [a.example.com, b.example.com]\nresolution: DNS\nports:\n- {number: 9000, name: tcp, protocol: TCP}` },
  { name: 'several hosts with an unset protocol', error: ['spec.ports[0].protocol', 'several hosts'], spec: `hosts: [a.example.com, b.example.com]\nresolution: DNS\nports:\n- {number: 9000, name: p}` },
  { name: 'DYNAMIC_DNS with a plain host', error: ['spec.hosts[0]', 'needs wildcard hosts'], spec: `hosts: [a.example.com]\nresolution: DYNAMIC_DNS\nports:\n- {number: 443, name: tls, protocol: TLS}` },
  { name: 'DYNAMIC_DNS with a TCP port', error: ['spec.ports[0].protocol', 'only HTTP, TLS, GRPC and HTTP2'], spec: `hosts: ["*.example.com"]\nresolution: DYNAMIC_DNS\nports:\n- {number: 9000, name: tcp, protocol: TCP}` },
  { name: 'DYNAMIC_DNS with addresses', error: ['spec.addresses', 'cannot have addresses'], spec: `hosts: ["*.example.com"]\nresolution: DYNAMIC_DNS\naddresses: [10.0.0.1]\nports:\n- {number: 443, name: tls, protocol: TLS}` },
  { name: 'unknown resolution', error: ['spec.resolution', 'unsupported value "LOGICAL_DNS"'], spec: `hosts: [a.example.com]\nresolution: LOGICAL_DNS` },
  { name: 'unknown location', error: ['spec.location', 'unsupported value "OUTSIDE"'], spec: `hosts: [a.example.com]\nlocation: OUTSIDE` },
  { name: 'exportTo "~" with someone', error: ['spec.exportTo', '"~" (no one) cannot be combined'], spec: `hosts: [a.example.com]\nexportTo: ["~", ns2]` },
  { name: 'selector with a wildcard value', error: ['spec.workloadSelector.labels.app', 'wildcards'], spec: `hosts: [a.example.com]\nresolution: STATIC\nworkloadSelector: {labels: {app: "*"}}` },
];

describe('ServiceEntry validation', () => {
  runCases('ServiceEntry', cases);
});
