// DestinationRule validation, case by case, from istiod's webhook rules and the CRD schema.

import { describe } from 'vitest';
import { runCases, type Case } from './validate-case-helper.ts';

const cases: Case[] = [
  // ---- accepted ----
  { name: 'host only', valid: true, spec: `host: reviews` },
  { name: 'wildcard host', valid: true, spec: `host: "*.example.com"` },
  { name: 'host "*"', valid: true, spec: `host: "*"` },
  { name: 'simple load balancer', valid: true, spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}` },
  { name: 'consistent hash on a header', valid: true, spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpHeaderName: x-user}}` },
  { name: 'maglev with a prime table size', valid: true, spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}}` },
  { name: 'ring hash', valid: true, spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpCookie: {name: session, ttl: 0s}, ringHash: {minimumRingSize: 1024}}}` },
  {
    name: 'connection pool and outlier detection',
    valid: true,
    spec: `
      host: reviews
      trafficPolicy:
        connectionPool:
          tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s}, idleTimeout: 0s}
          http: {http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 10, maxRetries: 3, idleTimeout: 1h, h2UpgradePolicy: UPGRADE}
        outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 100, minHealthPercent: 50}`,
  },
  {
    name: 'locality distribute adding up to 100',
    valid: true,
    spec: `
      host: reviews
      trafficPolicy:
        loadBalancer:
          localityLbSetting:
            distribute:
            - from: us-west/zone1/*
              to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}`,
  },
  {
    name: 'locality failover with outlier detection',
    valid: true,
    spec: `
      host: reviews
      trafficPolicy:
        outlierDetection: {consecutive5xxErrors: 1}
        loadBalancer:
          localityLbSetting: {enabled: true, failover: [{from: us-east, to: eu-west}]}`,
  },
  {
    name: 'subsets with their own policies',
    valid: true,
    spec: `
      host: reviews
      subsets:
      - name: v1
        labels: {version: v1}
      - name: v2
        labels: {version: v2}
        trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}`,
  },
  { name: 'ISTIO_MUTUAL tls', valid: true, spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: ISTIO_MUTUAL}` },
  { name: 'MUTUAL tls with files', valid: true, spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem}` },
  { name: 'SIMPLE tls with a credential', valid: true, spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: my-secret, sni: reviews.example.com}` },
  { name: 'port-level settings', valid: true, spec: `host: reviews\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 9080}\n    loadBalancer: {simple: RANDOM}` },
  { name: 'warmup', valid: true, spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 300s, minimumPercent: 10, aggression: 1.5}}` },
  { name: 'workload selector exported to its own namespace', valid: true, spec: `host: reviews\nworkloadSelector: {matchLabels: {app: reviews}}\nexportTo: ["."]` },
  { name: 'deprecated minimumRingSize is a warning', warn: ['spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize', 'deprecated'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpHeaderName: x, minimumRingSize: 1024}}` },
  { name: 'deprecated consecutiveErrors is a warning', warn: ['spec.trafficPolicy.outlierDetection.consecutiveErrors', 'deprecated'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutiveErrors: 5}` },
  { name: 'failover without outlier detection is a warning', warn: ['spec.trafficPolicy.loadBalancer.localityLbSetting', 'outlierDetection'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {localityLbSetting: {failover: [{from: a, to: b}]}}` },
  { name: 'empty workload selector is a warning', warn: ['spec.workloadSelector.matchLabels', 'every workload'], spec: `host: reviews\nworkloadSelector: {}` },

  // ---- host ----
  { name: 'missing host', error: ['spec.host', 'host is required'], spec: `subsets: [{name: v1}]` },
  { name: 'empty host', error: ['spec.host', 'must not be empty'], spec: `host: ""` },
  { name: 'host with an empty label', error: ['spec.host', 'not a DNS-1123 label'], spec: `host: foo..com` },
  { name: 'host with a wildcard inside', error: ['spec.host', 'not a DNS-1123 label'], spec: `host: "a.*.com"` },

  // ---- traffic policy ----
  { name: 'empty traffic policy', error: ['spec.trafficPolicy', 'empty'], spec: `host: reviews\ntrafficPolicy: {}` },
  { name: 'simple and consistentHash', error: ['spec.trafficPolicy.loadBalancer.consistentHash', 'only one of'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}` },
  { name: 'unknown simple policy', error: ['spec.trafficPolicy.loadBalancer.simple', 'unsupported value "ROUNDROBIN"'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUNDROBIN}` },
  { name: 'maglev table size not prime', error: ['spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize', 'not a prime'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65536}}}` },
  { name: 'maglev without table size', error: ['spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize', 'needs a tableSize'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {useSourceIp: true, maglev: {}}}` },
  { name: 'maglev table too large', error: ['spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize', 'less than 5000011'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 5000011}}}` },
  { name: 'ringHash and maglev', error: ['spec.trafficPolicy.loadBalancer.consistentHash.maglev', 'only one of'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {}, maglev: {tableSize: 7}}}` },
  { name: 'minimumRingSize with ringHash', error: ['spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize', 'cannot be combined'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 8, ringHash: {minimumRingSize: 8}}}` },
  { name: 'cookie without a name', error: ['spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name', 'name is required'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpCookie: {ttl: 1s}}}` },
  { name: 'cookie with an empty name', error: ['spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name', 'needs a name'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpCookie: {name: ""}}}` },
  { name: 'two hash keys', error: ['spec.trafficPolicy.loadBalancer.consistentHash.useSourceIp', 'only one of'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpHeaderName: x, useSourceIp: true}}` },
  { name: 'duplicate cookie attributes', error: ['spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes[1].name', 'duplicate'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {consistentHash: {httpCookie: {name: s, attributes: [{name: SameSite, value: Lax}, {name: SameSite}]}}}` },
  { name: 'locality weights not adding up to 100', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to', 'add up to 90'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {localityLbSetting: {distribute: [{from: "a/*", to: {"a/*": 50, "b/*": 40}}]}}` },
  { name: 'locality weight 0', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to.b/*', '1..100'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {localityLbSetting: {distribute: [{from: "a/*", to: {"a/*": 100, "b/*": 0}}]}}` },
  { name: 'distribute and failover', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting', 'cannot both be set'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 1}\n  loadBalancer: {localityLbSetting: {distribute: [{from: "a/*", to: {"a/*": 100}}], failover: [{from: a, to: b}]}}` },
  { name: 'failover to the same region', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]', 'different regions'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 1}\n  loadBalancer: {localityLbSetting: {failover: [{from: us-east, to: us-east}]}}` },
  { name: 'failover naming a zone', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]', 'regions only'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 1}\n  loadBalancer: {localityLbSetting: {failover: [{from: us-east/z1, to: us-west}]}}` },
  { name: 'failover with a wildcard', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]', 'cannot contain "*"'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 1}\n  loadBalancer: {localityLbSetting: {failover: [{from: "*", to: us-west}]}}` },
  { name: 'failover with a topology priority label', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[0]', 'topology label'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 1}\n  loadBalancer: {localityLbSetting: {failover: [{from: a, to: b}], failoverPriority: [topology.kubernetes.io/region]}}` },
  { name: 'wildcard in the middle of a locality', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.distribute', 'only at its end'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {localityLbSetting: {distribute: [{from: "a/*/c", to: {"a/*": 100}}]}}` },
  { name: 'overlapping distribute targets', error: ['spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to', 'overlaps'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {localityLbSetting: {distribute: [{from: "a", to: {"a": 50, "a/z1": 50}}]}}` },
  { name: 'locality and zone-aware settings together', error: ['spec.trafficPolicy.loadBalancer.zoneAwareLbSetting', 'cannot both be set'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {localityLbSetting: {enabled: true}, zoneAwareLbSetting: {enabled: true}}` },
  { name: 'maxEjectionPercent above 100', error: ['spec.trafficPolicy.outlierDetection.maxEjectionPercent', '0..100'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {maxEjectionPercent: 150}` },
  { name: 'negative minHealthPercent', error: ['spec.trafficPolicy.outlierDetection.minHealthPercent', '0..100'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {minHealthPercent: -1}` },
  { name: 'local-origin failures without the split', error: ['spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures', 'splitExternalLocalOriginErrors'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutiveLocalOriginFailures: 3}` },
  { name: 'outlier interval 0s', error: ['spec.trafficPolicy.outlierDetection.interval', 'at least 1ms'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {interval: 0s}` },
  { name: 'baseEjectionTime without unit', error: ['spec.trafficPolicy.outlierDetection.baseEjectionTime', 'missing unit'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {baseEjectionTime: "30"}` },
  { name: 'negative consecutive5xxErrors', error: ['spec.trafficPolicy.outlierDetection.consecutive5xxErrors', 'out of range'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: -1}` },
  { name: 'outlier error code out of range', error: ['spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[0]', 'out of range'], spec: `host: reviews\ntrafficPolicy:\n  outlierDetection: {outlierDetectionHttpErrorCodes: [700]}` },
  { name: 'empty connection pool', error: ['spec.trafficPolicy.connectionPool', 'empty'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {}` },
  { name: 'negative pending requests', error: ['spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests', 'negative'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {http: {http1MaxPendingRequests: -1}}` },
  { name: 'negative max connections', error: ['spec.trafficPolicy.connectionPool.tcp.maxConnections', 'negative'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {tcp: {maxConnections: -5}}` },
  { name: 'max connections beyond int32', error: ['spec.trafficPolicy.connectionPool.tcp.maxConnections', 'out of range'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {tcp: {maxConnections: 3000000000}}` },
  { name: 'max connections as a string', error: ['spec.trafficPolicy.connectionPool.tcp.maxConnections', 'expected an integer'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {tcp: {maxConnections: "100"}}` },
  { name: 'connect timeout 0s', error: ['spec.trafficPolicy.connectionPool.tcp.connectTimeout', 'at least 1ms'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {tcp: {connectTimeout: 0s}}` },
  { name: 'http idle timeout 0s', error: ['spec.trafficPolicy.connectionPool.http.idleTimeout', 'at least 1ms'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {http: {idleTimeout: 0s}}` },
  { name: 'UPGRADE with useClientProtocol', error: ['spec.trafficPolicy.connectionPool.http.useClientProtocol', 'UPGRADE'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}}` },
  { name: 'HTTP/2 keepalive without timeout', error: ['spec.trafficPolicy.connectionPool.http.http2KeepAlive.timeout', 'needs a timeout'], spec: `host: reviews\ntrafficPolicy:\n  connectionPool: {http: {http2KeepAlive: {interval: 10s}}}` },
  { name: 'warmup aggression 0', error: ['spec.trafficPolicy.loadBalancer.warmup.aggression', 'greater than 0'], spec: `host: reviews\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 10s, aggression: 0}}` },
  { name: 'retry budget above 100 percent', error: ['spec.trafficPolicy.retryBudget.percent', 'at most 100'], spec: `host: reviews\ntrafficPolicy:\n  retryBudget: {percent: 150}` },

  // ---- TLS ----
  { name: 'MUTUAL without client certificate', error: ['spec.trafficPolicy.tls.clientCertificate', 'needs a clientCertificate'], spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, privateKey: /k.pem}` },
  { name: 'MUTUAL without private key', error: ['spec.trafficPolicy.tls.privateKey', 'needs a privateKey'], spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, clientCertificate: /c.pem}` },
  { name: 'credentialName with certificate files', error: ['spec.trafficPolicy.tls.credentialName', 'cannot be set'], spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: s, caCertificates: /ca.pem}` },
  { name: 'insecureSkipVerify with a CA', error: ['spec.trafficPolicy.tls.insecureSkipVerify', 'cannot be combined'], spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, insecureSkipVerify: true, caCertificates: /ca.pem}` },
  { name: 'unknown tls mode', error: ['spec.trafficPolicy.tls.mode', 'unsupported value "STRICT"'], spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: STRICT}` },
  { name: 'configmap credential from another namespace', error: ['spec.trafficPolicy.tls.credentialName', 'namespace "ns1"'], spec: `host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: "configmap://other/ca"}` },

  // ---- port-level, tunnel ----
  { name: 'port-level policy without a port', error: ['spec.trafficPolicy.portLevelSettings[0].port', 'needs a port'], spec: `host: reviews\ntrafficPolicy:\n  portLevelSettings:\n  - loadBalancer: {simple: RANDOM}` },
  { name: 'port-level policy with only a port', error: ['spec.trafficPolicy.portLevelSettings[0]', 'at least one of'], spec: `host: reviews\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 80}` },
  { name: 'port-level retryBudget is not a field', error: ['spec.trafficPolicy.portLevelSettings[0].retryBudget', 'unknown field "retryBudget"'], spec: `host: reviews\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 80}\n    tls: {mode: DISABLE}\n    retryBudget: {percent: 5}` },
  { name: 'tunnel and proxyProtocol', error: ['spec.trafficPolicy.tunnel', 'cannot be set together'], spec: `host: reviews\ntrafficPolicy:\n  tunnel: {targetHost: proxy.example.com, targetPort: 3128}\n  proxyProtocol: {version: V2}` },
  { name: 'tunnel protocol GET', error: ['spec.trafficPolicy.tunnel.protocol', 'CONNECT'], spec: `host: reviews\ntrafficPolicy:\n  tunnel: {protocol: GET, targetHost: proxy.example.com, targetPort: 3128}` },
  { name: 'tunnel port 0', error: ['spec.trafficPolicy.tunnel.targetPort', '1..65535'], spec: `host: reviews\ntrafficPolicy:\n  tunnel: {targetHost: proxy.example.com, targetPort: 0}` },
  { name: 'tunnel without target host', error: ['spec.trafficPolicy.tunnel.targetHost', 'targetHost is required'], spec: `host: reviews\ntrafficPolicy:\n  tunnel: {targetPort: 3128}` },

  // ---- subsets, selector, exportTo ----
  { name: 'duplicate subset names', error: ['spec.subsets[1].name', 'duplicate subset'], spec: `host: reviews\nsubsets:\n- name: v1\n- name: v1` },
  { name: 'subset name with an underscore', error: ['spec.subsets[0].name', 'not a DNS-1123 label'], spec: `host: reviews\nsubsets:\n- name: v1_beta` },
  { name: 'subset without a name', error: ['spec.subsets[0].name', 'name is required'], spec: `host: reviews\nsubsets:\n- labels: {version: v1}` },
  { name: 'subset label value with a space', error: ['spec.subsets[0].labels.version', 'label value'], spec: `host: reviews\nsubsets:\n- name: v1\n  labels: {version: "v 1"}` },
  { name: 'subset label value as a number', error: ['spec.subsets[0].labels.version', 'quote it'], spec: `host: reviews\nsubsets:\n- name: v1\n  labels: {version: 1}` },
  { name: 'empty subset traffic policy', error: ['spec.subsets[0].trafficPolicy', 'empty'], spec: `host: reviews\nsubsets:\n- name: v1\n  trafficPolicy: {}` },
  { name: 'selector with exportTo "*"', error: ['spec.exportTo', 'own namespace'], spec: `host: reviews\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: ["*"]` },
  { name: 'selector with several exportTo entries', error: ['spec.exportTo', 'only one exportTo entry'], spec: `host: reviews\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: [".", other]` },
  { name: 'selector with a wildcard', error: ['spec.workloadSelector.matchLabels.app', 'wildcards'], spec: `host: reviews\nworkloadSelector: {matchLabels: {app: "*"}}` },
];

describe('DestinationRule validation', () => {
  runCases('DestinationRule', cases);
});
