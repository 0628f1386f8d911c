// The generated xDS codec against an independent reading of the same .proto files by
// protobufjs: the table must match the protos field for field, our bytes must mean the same
// message to protobufjs, protobufjs's bytes must decode to the expected JSON-mapping object,
// and no byte string may make the decoder throw.

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { loadReferenceRoot } from '../scripts/reference-protos.ts';
import { EXCLUDED_TYPES, generateSchemaSource, jsonNameOf, OUTPUT_PATH, ROOT_TYPES } from '../scripts/gen-xds-codec.ts';
import {
  decodeAny, decodeMessage, DecodeError, decodeResourceValue, decodeResourceValueSteps, encodeAny, encodeMessage, EncodeError, isKnownType,
  type DecodeResult,
} from '../src/xds/codec/index.ts';
import { TYPE_DEFS, TYPE_NAMES } from '../src/xds/codec/schema.gen.ts';
import { enumAt, isEnumIndex, KIND_NAMES, K_ENUM, K_MESSAGE, messageAt, typeNameAt } from '../src/xds/codec/schema.ts';
import { formatDuration, formatTimestamp, parseDuration, parseTimestamp } from '../src/xds/codec/well-known-types.ts';
import { WireWriter } from '../src/xds/codec/wire-writer.ts';
import { TYPE_URL } from '../src/xds/resources.ts';

let root: protobuf.Root;
beforeAll(() => {
  root = loadReferenceRoot();
});

const URL = (name: string): string => `type.googleapis.com/${name}`;

// ---- protobufjs <-> proto3 JSON mapping, written against protobufjs reflection ----------------
// A second, independent implementation of the mapping, so a mistake in the codec's own mapping
// cannot hide behind itself.

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `google.protobuf.${n}`));
const SPECIAL_JSON = new Set([...WRAPPERS, 'google.protobuf.Duration', 'google.protobuf.Timestamp', 'google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue', 'google.protobuf.Any', 'google.protobuf.FieldMask']);

const fullName = (t: protobuf.ReflectionObject): string => t.fullName.slice(1);
const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : (v as number));

function pbToJson(type: protobuf.Type, msg: Record<string, any>): any {
  const name = fullName(type);
  const own = (k: string): boolean => Object.hasOwn(msg, k) && msg[k] != null;
  if (name === 'google.protobuf.Duration' || name === 'google.protobuf.Timestamp') {
    const s = (name.endsWith('Duration') ? formatDuration : formatTimestamp)(own('seconds') ? num(msg['seconds']) : 0, own('nanos') ? msg['nanos'] : 0);
    if (typeof s !== 'string') throw new Error(s.error);
    return s;
  }
  if (WRAPPERS.has(name)) {
    const f = type.fields['value']!;
    return own('value') ? scalarToJson(f, msg['value']) : scalarToJson(f, f.type === 'bytes' ? new Uint8Array(0) : f.type === 'string' ? '' : f.type === 'bool' ? false : 0);
  }
  if (name === 'google.protobuf.Struct') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(msg['fields'] ?? {})) out[k] = pbToJson(type.fields['fields']!.resolvedType as protobuf.Type, v as any);
    return out;
  }
  if (name === 'google.protobuf.Value') {
    // protobufjs bundles this type with camelCase field names whatever keepCase says: go by number.
    const at = (id: number): string => type.fieldsById[id]!.name;
    if (own(at(2))) return msg[at(2)];
    if (own(at(3))) return msg[at(3)];
    if (own(at(4))) return msg[at(4)];
    if (own(at(5))) return pbToJson(root.lookupType('google.protobuf.Struct'), msg[at(5)]);
    if (own(at(6))) return pbToJson(root.lookupType('google.protobuf.ListValue'), msg[at(6)]);
    return null;
  }
  if (name === 'google.protobuf.ListValue') return (msg['values'] ?? []).map((v: any) => pbToJson(root.lookupType('google.protobuf.Value'), v));
  if (name === 'google.protobuf.FieldMask') return (msg['paths'] ?? []).map((p: string) => p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())).join(',');
  if (name === 'google.protobuf.Any') {
    const url: string = msg['type_url'] ?? '';
    const inner = root.lookup(url.slice(url.lastIndexOf('/') + 1));
    const bytes = new Uint8Array(msg['value'] ?? []);
    if (!(inner instanceof protobuf.Type)) return { '@type': url, '@bytes': bytes };
    const json = pbToJson(inner, inner.decode(bytes) as any);
    return SPECIAL_JSON.has(fullName(inner)) ? { '@type': url, value: json } : { '@type': url, ...json };
  }
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    if (!own(f.name)) continue;
    const v = msg[f.name];
    const key = jsonNameOf(f);
    if (f.map) {
      if (Object.keys(v).length) out[key] = Object.fromEntries(Object.entries(v).map(([k, x]) => [mapKeyToJson(f as unknown as protobuf.MapField, k), valueToJson(f, x)]));
    } else if (f.repeated) {
      if (v.length) out[key] = v.map((x: unknown) => valueToJson(f, x));
    } else {
      const j = valueToJson(f, v);
      // Canonical JSON leaves out defaults of fields without presence.
      const hasPresence = !!f.partOf || f.resolvedType instanceof protobuf.Type;
      const isDefault = Object.is(j, 0) || j === '' || j === false || (j instanceof Uint8Array && j.length === 0) || (f.resolvedType instanceof protobuf.Enum && f.resolvedType.values[j as string] === 0);
      if (hasPresence || !isDefault) out[key] = j;
    }
  }
  return out;
}

/** protobufjs keys 64-bit maps by an 8-char hash of the bits; the JSON key is the decimal value. */
function mapKeyToJson(f: protobuf.MapField, key: string): string {
  if (!/64$/.test(f.keyType)) return key;
  const bits = protobuf.util.LongBits.fromHash(key);
  const u = (BigInt(bits.hi >>> 0) << 32n) | BigInt(bits.lo >>> 0);
  return (f.keyType === 'uint64' || f.keyType === 'fixed64' ? u : BigInt.asIntN(64, u)).toString();
}

const isNullValue = (f: protobuf.Field): boolean => f.resolvedType instanceof protobuf.Enum && fullName(f.resolvedType) === 'google.protobuf.NullValue';

function valueToJson(f: protobuf.Field, v: any): unknown {
  if (f.resolvedType instanceof protobuf.Type) return pbToJson(f.resolvedType, v);
  if (isNullValue(f)) return null;
  if (f.resolvedType instanceof protobuf.Enum) return f.resolvedType.valuesById[v] ?? v;
  return scalarToJson(f, v);
}

function scalarToJson(f: protobuf.Field, v: any): unknown {
  if (f.type === 'bytes') return new Uint8Array(v);
  if (/64$/.test(f.type)) return num(v);
  return v;
}

/** A JSON-mapping object as a protobufjs plain object (for Type.fromObject). */
function jsonToPb(type: protobuf.Type, json: any): any {
  const name = fullName(type);
  if (name === 'google.protobuf.Duration' || name === 'google.protobuf.Timestamp') {
    const p = (name.endsWith('Duration') ? parseDuration : parseTimestamp)(json);
    if ('error' in p) throw new Error(p.error);
    // protobufjs writes whatever is set, zeros included; canonical bytes leave zeros out.
    return { ...(p.seconds ? { seconds: p.seconds } : {}), ...(p.nanos ? { nanos: p.nanos } : {}) };
  }
  if (WRAPPERS.has(name)) return json === 0 || json === false || json === '' ? {} : { value: json };
  if (name === 'google.protobuf.Struct') return { fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, jsonToPb(root.lookupType('google.protobuf.Value'), v)])) };
  if (name === 'google.protobuf.ListValue') return { values: json.map((v: unknown) => jsonToPb(root.lookupType('google.protobuf.Value'), v)) };
  if (name === 'google.protobuf.Value') {
    const at = (id: number): string => type.fieldsById[id]!.name;
    if (json === null) return { [at(1)]: 0 };
    if (typeof json === 'number') return { [at(2)]: json };
    if (typeof json === 'string') return { [at(3)]: json };
    if (typeof json === 'boolean') return { [at(4)]: json };
    if (Array.isArray(json)) return { [at(6)]: jsonToPb(root.lookupType('google.protobuf.ListValue'), json) };
    return { [at(5)]: jsonToPb(root.lookupType('google.protobuf.Struct'), json) };
  }
  if (name === 'google.protobuf.Any') {
    const url: string = json['@type'];
    if (json['@bytes']) return { type_url: url, value: json['@bytes'] };
    const inner = root.lookupType(url.slice(url.lastIndexOf('/') + 1));
    const { '@type': _, ...fields } = json;
    const body = SPECIAL_JSON.has(fullName(inner)) ? json.value : fields;
    const bytes = inner.encode(inner.fromObject(jsonToPb(inner, body))).finish();
    return bytes.length ? { type_url: url, value: bytes } : { type_url: url };
  }
  const byJson = new Map(type.fieldsArray.map((f) => [jsonNameOf(f), f]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === '@type') continue; // a resource given with its type URL, as the codec accepts
    const f = byJson.get(k);
    if (!f) throw new Error(`fixture: no field ${k} in ${name}`);
    const conv = (x: unknown): unknown => (f.resolvedType instanceof protobuf.Type ? jsonToPb(f.resolvedType, x) : isNullValue(f) ? 'NULL_VALUE' : x);
    out[f.name] = f.map ? Object.fromEntries(Object.entries(v as object).map(([mk, mv]) => [mk, conv(mv)])) : f.repeated ? (v as unknown[]).map(conv) : conv(v);
  }
  return out;
}

function pbEncode(typeName: string, json: object): Uint8Array {
  const t = root.lookupType(typeName);
  return t.encode(t.fromObject(jsonToPb(t, json))).finish();
}

function pbDecode(typeName: string, bytes: Uint8Array): unknown {
  const t = root.lookupType(typeName);
  return pbToJson(t, t.decode(bytes) as any);
}

// ---- fixtures: realistic resources in canonical JSON-mapping form ------------------------------

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const FQDN = 'reviews.default.svc.cluster.local';

const httpFault = {
  '@type': TYPE_URL.HTTPFault,
  delay: { fixedDelay: '1.500s', percentage: { numerator: 50 } },
  abort: { httpStatus: 503, percentage: { numerator: 10, denominator: 'TEN_THOUSAND' } },
  maxActiveFaults: 0, // a present wrapper holding its default still decodes as 0
};

const listener = {
  name: `${FQDN}:9080`,
  address: { socketAddress: { address: '10.1.0.5', portValue: 9080 } },
  trafficDirection: 'OUTBOUND',
  apiListener: {
    apiListener: {
      '@type': TYPE_URL.HttpConnectionManager,
      statPrefix: 'outbound_9080',
      rds: { routeConfigName: `outbound|9080||${FQDN}`, configSource: { ads: {}, resourceApiVersion: 'V3', initialFetchTimeout: '0s' } },
      httpFilters: [
        { name: 'envoy.filters.http.fault', typedConfig: httpFault },
        { name: 'envoy.filters.http.router', typedConfig: { '@type': TYPE_URL.Router } },
      ],
      commonHttpProtocolOptions: { maxStreamDuration: '30s' },
    },
  },
};

const routeConfiguration = {
  name: `outbound|9080||${FQDN}`,
  virtualHosts: [
    {
      name: `${FQDN}:9080`,
      domains: [FQDN, 'reviews', 'reviews:9080', '10.96.0.12:9080'],
      routes: [
        {
          name: 'canary',
          match: {
            prefix: '/',
            caseSensitive: false,
            headers: [
              { name: 'x-canary', stringMatch: { exact: 'true', ignoreCase: true } },
              { name: 'x-debug', presentMatch: true, invertMatch: true },
              { name: 'user-agent', safeRegexMatch: { regex: '.*Chrome.*', googleRe2: {} } },
              { name: 'x-env', stringMatch: { safeRegex: { regex: 'prod|staging' } }, treatMissingHeaderAsEmpty: true },
            ],
            queryParameters: [
              { name: 'v', stringMatch: { prefix: '2' } },
              { name: 'debug', presentMatch: true },
            ],
          },
          route: {
            weightedClusters: {
              clusters: [
                { name: `outbound|9080|v1|${FQDN}`, weight: 90 },
                { name: `outbound|9080|v2|${FQDN}`, weight: 10, requestHeadersToAdd: [{ header: { key: 'x-subset', value: 'v2' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }] },
                { name: `outbound|9080|v3|${FQDN}`, weight: 0 },
              ],
              totalWeight: 100,
            },
            timeout: '1.500s',
            retryPolicy: {
              retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
              numRetries: 2,
              perTryTimeout: '0.250s',
              retryHostPredicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typedConfig: { '@type': TYPE_URL.PreviousHostsPredicate } }],
              hostSelectionRetryMaxAttempts: 5,
              retriableStatusCodes: [503, 504, 429],
              retryBackOff: { baseInterval: '0.025s', maxInterval: '0.250s' },
            },
            maxStreamDuration: { maxStreamDuration: '10.000000001s', grpcTimeoutHeaderMax: '0s' },
            hashPolicy: [{ header: { headerName: 'x-user' }, terminal: true }],
          },
          metadata: { filterMetadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews' } } },
          decorator: { operation: `${FQDN}:9080/*` },
          typedPerFilterConfig: {
            'envoy.filters.http.fault': { '@type': TYPE_URL.HTTPFault, abort: { grpcStatus: 14, percentage: { numerator: 100 } } },
            'envoy.filters.http.rbac': { '@type': URL('envoy.extensions.filters.http.rbac.v3.RBACPerRoute'), rbac: { rules: { action: 'DENY', policies: { 'deny-admin': { permissions: [{ urlPath: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } } } },
          },
        },
        {
          match: { safeRegex: { regex: '/api/v[0-9]+/.*' }, caseSensitive: true },
          route: { cluster: `outbound|9080||${FQDN}`, timeout: '0s', regexRewrite: { pattern: { regex: '^/api/v[0-9]+' }, substitution: '/api' }, hostRewriteLiteral: 'reviews.internal' },
        },
        { match: { path: '/old' }, redirect: { pathRedirect: '/new', responseCode: 'PERMANENT_REDIRECT', portRedirect: 8443, httpsRedirect: true } },
        { match: { prefix: '/teapot' }, directResponse: { status: 418, body: { inlineBytes: new Uint8Array([0, 1, 2, 253, 254, 255]) } } },
      ],
      retryPolicy: { retryOn: '5xx', numRetries: 0 },
      requestHeadersToAdd: [{ header: { key: 'x-mesh', value: 'meshlet' }, append: false }],
      responseHeadersToRemove: ['server'],
    },
  ],
  validateClusters: false,
};

const cluster = {
  name: `outbound|9080|v1|${FQDN}`,
  type: 'EDS',
  edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: `outbound|9080|v1|${FQDN}` },
  connectTimeout: '10s',
  lbPolicy: 'LEAST_REQUEST',
  circuitBreakers: {
    thresholds: [
      { maxConnections: 4294967295, maxPendingRequests: 1024, maxRequests: 0, maxRetries: 3, trackRemaining: true },
      { priority: 'HIGH', maxRequests: 10, retryBudget: { budgetPercent: { value: 20.5 }, minRetryConcurrency: 3 } },
    ],
  },
  outlierDetection: {
    consecutive5xx: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 10,
    enforcingConsecutive5xx: 100, enforcingSuccessRate: 0, consecutiveGatewayFailure: 0, maxEjectionTime: '300s',
  },
  commonLbConfig: { healthyPanicThreshold: { value: 50 }, localityWeightedLbConfig: {} },
  leastRequestLbConfig: { choiceCount: 2 },
  metadata: {
    filterMetadata: {
      istio: { services: [{ host: FQDN, name: 'reviews', namespace: 'default' }], default_original_port: 9080, enabled: true, nothing: null, ratio: -0.125 },
    },
  },
  transportSocket: {
    name: 'envoy.transport_sockets.tls',
    typedConfig: {
      '@type': URL('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
      commonTlsContext: {
        tlsCertificateSdsSecretConfigs: [{ name: 'default', sdsConfig: { apiConfigSource: { apiType: 'GRPC', grpcServices: [{ envoyGrpc: { clusterName: 'sds-grpc' } }], setNodeOnFirstMessageOnly: true, transportApiVersion: 'V3' }, resourceApiVersion: 'V3' } }],
        combinedValidationContext: {
          defaultValidationContext: { matchSubjectAltNames: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }] },
          validationContextSdsSecretConfig: { name: 'ROOTCA' },
        },
        alpnProtocols: ['istio-peer-exchange', 'istio', 'h2'],
      },
      sni: `outbound_.9080_.v1_.${FQDN}`,
    },
  },
  typedExtensionProtocolOptions: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': URL('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
      explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 1073741824 } },
      commonHttpProtocolOptions: { idleTimeout: '3600s', maxRequestsPerConnection: 0 },
    },
  },
  loadBalancingPolicy: {
    policies: [
      { typedExtensionConfig: { name: 'envoy.load_balancing_policies.ring_hash', typedConfig: { '@type': URL('envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash'), hashFunction: 'MURMUR_HASH_2', minimumRingSize: 1024, maximumRingSize: 8388608 } } },
      { typedExtensionConfig: { name: 'envoy.load_balancing_policies.wrr_locality', typedConfig: { '@type': URL('envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality'), endpointPickingPolicy: { policies: [{ typedExtensionConfig: { name: 'rr', typedConfig: { '@type': URL('envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin') } } }] } } } },
    ],
  },
};

const clusterLoadAssignment = {
  clusterName: `outbound|9080|v1|${FQDN}`,
  endpoints: [
    {
      locality: { region: 'us-central1', zone: 'us-central1-a', subZone: 'rack1' },
      lbEndpoints: [
        {
          endpoint: { address: { socketAddress: { address: '10.1.0.5', portValue: 9080 } }, hostname: 'reviews-v1-abc' },
          healthStatus: 'HEALTHY',
          loadBalancingWeight: 1,
          metadata: { filterMetadata: { istio: { workload: 'reviews-v1;default;reviews;v1;Kubernetes' }, 'envoy.transport_socket_match': { tlsMode: 'istio' } } },
        },
        { endpoint: { address: { socketAddress: { address: '10.1.0.6', portValue: 9080 } } }, healthStatus: 'DRAINING' },
        { endpoint: { address: { socketAddress: { address: 'fd00::7', portValue: 9080, protocol: 'UDP' } } } },
      ],
      loadBalancingWeight: 2,
    },
    { locality: { zone: 'us-central1-b' }, lbEndpoints: [{ endpointName: 'named-1', healthStatus: 'DEGRADED' }], priority: 1 },
  ],
  policy: { overprovisioningFactor: 140, dropOverloads: [{ category: 'throttle', dropPercentage: { numerator: 5, denominator: 'MILLION' } }] },
};

const node = {
  id: 'sidecar~10.1.0.5~reviews-v1-abc.default~default.svc.cluster.local',
  cluster: 'reviews.default',
  metadata: {
    GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'reviews', version: 'v1' },
    nested: { list: [1, 'two', true, null, { x: -1.5 }, []], empty: {} },
  },
  locality: { zone: 'us-central1-a' },
  userAgentName: 'meshlet',
  userAgentVersion: '0.1.0',
  clientFeatures: ['envoy.lb.does_not_support_overprovisioning', 'xds.config.resource-in-sotw'],
};

const errorDetail = {
  code: 3,
  message: `route outbound|9080||${FQDN}: virtualHosts[0].routes[1].route.timeout: bad duration`,
  details: [{ '@type': URL('google.protobuf.Duration'), value: '-1.500s' }, { '@type': URL('google.protobuf.UInt32Value'), value: 7 }],
};

const discoveryRequest = {
  versionInfo: '2024-05-01T00:00:00Z/3',
  node,
  resourceNames: [`outbound|9080||${FQDN}`, `outbound|9090||${FQDN}`],
  typeUrl: TYPE_URL.RouteConfiguration,
  responseNonce: '7',
  errorDetail,
};

const discoveryResponse = {
  versionInfo: '3',
  resources: [
    { '@type': TYPE_URL.Listener, ...listener },
    { '@type': TYPE_URL.Cluster, ...cluster },
    { '@type': URL('example.unknown.v1.Thing'), '@bytes': new Uint8Array([8, 1, 18, 2, 104, 105]) },
  ],
  typeUrl: TYPE_URL.Listener,
  nonce: '8',
  controlPlane: { identifier: 'meshlet-xds' },
};

const deltaDiscoveryRequest = {
  node,
  typeUrl: TYPE_URL.ClusterLoadAssignment,
  resourceNamesSubscribe: [`outbound|9080|v1|${FQDN}`],
  resourceNamesUnsubscribe: [`outbound|9080|v0|${FQDN}`],
  initialResourceVersions: { [`outbound|9080|v2|${FQDN}`]: '12', '': 'empty-key', __proto__x: 'y' },
  responseNonce: '4',
  errorDetail: { code: 13, message: 'x' },
};

const deltaDiscoveryResponse = {
  systemVersionInfo: '13',
  resources: [
    { name: clusterLoadAssignment.clusterName, version: '13', resource: { '@type': TYPE_URL.ClusterLoadAssignment, ...clusterLoadAssignment }, aliases: ['a'], ttl: '300s', cacheControl: { doNotCache: true } },
  ],
  typeUrl: TYPE_URL.ClusterLoadAssignment,
  nonce: '9',
  removedResources: [`outbound|9080|v0|${FQDN}`],
};

const clientStatusResponse = {
  config: [
    {
      node,
      genericXdsConfigs: [
        { typeUrl: TYPE_URL.Listener, name: listener.name, versionInfo: '3', xdsConfig: { '@type': TYPE_URL.Listener, ...listener }, lastUpdated: '2024-05-01T12:00:00.250Z', configStatus: 'SYNCED', clientStatus: 'ACKED' },
        { typeUrl: TYPE_URL.Cluster, name: 'c', clientStatus: 'NACKED', errorState: { details: 'bad', lastUpdateAttempt: '1970-01-01T00:00:00Z', versionInfo: '2' } },
      ],
    },
  ],
};

/** A resource as decodeMessage returns it: "@type" belongs to the enclosing Any, not the message. */
function withoutType<T extends { '@type'?: string }>(value: T): Omit<T, '@type'> {
  const { '@type': _, ...rest } = value;
  return rest;
}

// RBAC, including a CEL condition: a client must see it (to NACK or evaluate it), never drop it.
const rbac = {
  rules: {
    action: 'DENY',
    policies: {
      'deny-by-cel': {
        permissions: [{ any: true }],
        principals: [{ authenticated: { principalName: { exact: 'spiffe://cluster.local/ns/default/sa/x' } } }],
        condition: {
          id: 1,
          callExpr: {
            function: '_==_',
            args: [
              { id: 2, identExpr: { name: 'request.host' } },
              { id: 3, constExpr: { stringValue: 'x' } },
              { id: 4, constExpr: { nullValue: null } },
              { id: 5, constExpr: { int64Value: -5 } },
            ],
          },
        },
      },
      'allow-get': {
        permissions: [{ andRules: { rules: [{ header: { name: ':method', stringMatch: { exact: 'GET' } } }, { destinationPort: 8080 }] } }],
        principals: [{ orIds: { ids: [{ remoteIp: { addressPrefix: '10.0.0.0', prefixLen: 8 } }, { notId: { any: true } }] } }],
      },
    },
  },
  shadowRulesStatPrefix: 'shadow_',
};

const FIXTURES: [string, object][] = [
  ['envoy.config.listener.v3.Listener', listener],
  [HCM, withoutType(listener.apiListener.apiListener)],
  ['envoy.extensions.filters.http.fault.v3.HTTPFault', withoutType(httpFault)],
  ['envoy.config.route.v3.RouteConfiguration', routeConfiguration],
  ['envoy.config.cluster.v3.Cluster', cluster],
  ['envoy.config.endpoint.v3.ClusterLoadAssignment', clusterLoadAssignment],
  ['envoy.service.discovery.v3.DiscoveryRequest', discoveryRequest],
  ['envoy.service.discovery.v3.DiscoveryResponse', discoveryResponse],
  ['envoy.service.discovery.v3.DeltaDiscoveryRequest', deltaDiscoveryRequest],
  ['envoy.service.discovery.v3.DeltaDiscoveryResponse', deltaDiscoveryResponse],
  ['envoy.service.status.v3.ClientStatusResponse', clientStatusResponse],
  ['envoy.extensions.filters.http.rbac.v3.RBAC', rbac],
];

function decodeOk(typeName: string, bytes: Uint8Array): any {
  const r = decodeMessage(typeName, bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

// ---- schema ------------------------------------------------------------------------------------

describe('generated schema', () => {
  it('matches the reference protos field for field', () => {
    const problems: string[] = [];
    for (let i = 0; i < TYPE_NAMES.length; i++) {
      const name = TYPE_NAMES[i]!;
      const ref = root.lookup(name);
      if (isEnumIndex(i)) {
        if (!(ref instanceof protobuf.Enum)) { problems.push(`${name}: not an enum in the protos`); continue; }
        const ours = enumAt(i).values.map(([n, v]) => `${n}=${v}`).join(',');
        const theirs = Object.entries(ref.values).map(([n, v]) => `${n}=${v}`).join(',');
        if (ours !== theirs) problems.push(`${name}: enum values ${ours} != ${theirs}`);
        continue;
      }
      if (!(ref instanceof protobuf.Type)) { problems.push(`${name}: not a message in the protos`); continue; }
      const desc = messageAt(i);
      for (const f of desc.fields) {
        const rf = ref.fieldsById[f.number];
        const where = `${name}.${f.name} (${f.number})`;
        if (!rf) { problems.push(`${where}: no such field number`); continue; }
        if (jsonNameOf(rf) !== f.name) problems.push(`${where}: name should be ${jsonNameOf(rf)}`);
        const rt = rf.resolvedType;
        const refKind = rt instanceof protobuf.Type ? `message ${fullName(rt)}` : rt instanceof protobuf.Enum ? `enum ${fullName(rt)}` : rf.type;
        const ourKind = f.kind === K_MESSAGE || f.kind === K_ENUM ? `${KIND_NAMES[f.kind]} ${typeNameAt(f.typeIndex)}` : KIND_NAMES[f.kind];
        if (refKind !== ourKind) problems.push(`${where}: type ${ourKind} != ${refKind}`);
        const isMap = rf instanceof protobuf.MapField;
        if (isMap !== f.map || (isMap && KIND_NAMES[f.keyKind] !== (rf as protobuf.MapField).keyType)) problems.push(`${where}: map shape differs`);
        if (!isMap && rf.repeated !== f.repeated) problems.push(`${where}: label ${f.repeated ? 'repeated' : 'singular'} differs`);
        if (f.repeated && f.kind !== K_MESSAGE && f.kind !== 9 && f.kind !== 10 && rf.packed !== f.packed) problems.push(`${where}: packed differs`);
        const refOneof = rf.partOf && !rf.options?.['proto3_optional'] ? rf.partOf.name : undefined;
        const ourOneof = f.oneof >= 0 ? desc.oneofs[f.oneof] : undefined;
        if (refOneof !== ourOneof) problems.push(`${where}: oneof ${ourOneof} != ${refOneof}`);
      }
      // Every field of the proto is in the table unless its type was deliberately excluded.
      for (const rf of ref.fieldsArray) {
        if (desc.byNumber.has(rf.id)) continue;
        const t = rf.resolvedType ? fullName(rf.resolvedType) : rf.type;
        if (!(t in EXCLUDED_TYPES)) problems.push(`${name}.${rf.name}: missing, though its type ${t} is not excluded`);
      }
    }
    for (const r of ROOT_TYPES) if (!isKnownType(r)) problems.push(`root ${r} missing`);
    for (const x of Object.keys(EXCLUDED_TYPES)) if (!root.lookup(x)) problems.push(`excluded type ${x} is not in the protos (typo?)`);
    expect(problems).toEqual([]);
  });

  it('is what the generator produces now (not stale, not hand-edited), and small', () => {
    const onDisk = readFileSync(OUTPUT_PATH, 'utf8');
    expect(onDisk === generateSchemaSource(root)).toBe(true);
    expect(Buffer.byteLength(onDisk)).toBeLessThan(250 * 1024);
    expect(TYPE_DEFS.length).toBe(TYPE_NAMES.length);
  });

  it('knows the types a client needs, by name or type URL, and not excluded ones', () => {
    for (const url of Object.values(TYPE_URL)) expect(isKnownType(url)).toBe(true);
    expect(isKnownType('envoy.extensions.filters.http.rbac.v3.RBACPerRoute')).toBe(true);
    expect(isKnownType('xds.type.v3.TypedStruct')).toBe(true);
    expect(isKnownType('envoy.config.core.v3.HealthCheck')).toBe(false);
    expect(isKnownType('no.such.Type')).toBe(false);
  });
});

// ---- round trips against protobufjs ---------------------------------------------------------------

describe('round trips against protobufjs', () => {
  for (const [typeName, value] of FIXTURES) {
    const short = typeName.slice(typeName.lastIndexOf('.') + 1);
    it(`${short}: our bytes decode in protobufjs to the same message`, () => {
      const ours = encodeMessage(typeName, value);
      expect(pbDecode(typeName, ours)).toEqual(value);
    });
    it(`${short}: protobufjs bytes decode in ours to the expected object`, () => {
      const theirs = pbEncode(typeName, value);
      expect(decodeOk(typeName, theirs)).toEqual(value);
    });
    it(`${short}: both encoders write identical bytes`, () => {
      // Both write fields in number order and leave out proto3 defaults, so bytes agree exactly.
      expect(Buffer.from(encodeMessage(typeName, value)).equals(Buffer.from(pbEncode(typeName, value)))).toBe(true);
    });
  }
});

// ---- the JSON mapping in detail ---------------------------------------------------------------------

describe('JSON mapping', () => {
  const CLUSTER = 'envoy.config.cluster.v3.Cluster';

  it('formats and parses Durations and Timestamps as the JSON mapping does', () => {
    expect(formatDuration(1, 500_000_000)).toBe('1.500s');
    expect(formatDuration(0, 0)).toBe('0s');
    expect(formatDuration(-1, -500_000_000)).toBe('-1.500s');
    expect(formatDuration(0, -25_000_000)).toBe('-0.025s');
    expect(formatDuration(0, 1_000)).toBe('0.000001s');
    expect(formatDuration(1, -1)).toEqual({ error: expect.stringContaining('signs') });
    expect(parseDuration('-1.5s')).toEqual({ seconds: -1, nanos: -500_000_000 });
    expect(parseDuration('0.000000001s')).toEqual({ seconds: 0, nanos: 1 });
    expect(parseDuration('1.5')).toHaveProperty('error');
    expect(formatTimestamp(0, 0)).toBe('1970-01-01T00:00:00Z');
    expect(formatTimestamp(-62_135_596_800, 0)).toBe('0001-01-01T00:00:00Z');
    expect(parseTimestamp('2024-05-01T14:00:00.5+02:00')).toEqual({ seconds: 1714564800, nanos: 500_000_000 });
    expect(parseTimestamp('2023-02-29T00:00:00Z')).toHaveProperty('error');
    expect(parseTimestamp('0050-06-01T00:00:00Z')).toEqual({ seconds: new Date(0).setUTCFullYear(50, 5, 1) / 1000, nanos: 0 });
  });

  it('accepts "-1.5s" and "0s" durations on encode and reads them back', () => {
    const bytes = encodeMessage('envoy.config.route.v3.RetryPolicy', { perTryTimeout: '-1.5s', retryBackOff: { baseInterval: '0s' } });
    expect(decodeOk('envoy.config.route.v3.RetryPolicy', bytes)).toEqual({ perTryTimeout: '-1.500s', retryBackOff: { baseInterval: '0s' } });
  });

  it('keeps unknown enum numbers as numbers, and accepts numbers on encode', () => {
    const bytes = encodeMessage(CLUSTER, { name: 'c', lbPolicy: 99, type: 0 });
    expect(decodeOk(CLUSTER, bytes)).toEqual({ name: 'c', lbPolicy: 99, type: 'STATIC' });
  });

  it('leaves out absent fields, empty lists and implicit defaults; keeps present wrappers and oneof defaults', () => {
    const bytes = encodeMessage(CLUSTER, { name: '', lbPolicy: 'ROUND_ROBIN', dnsResolvers: [], perConnectionBufferLimitBytes: 0, type: 'STATIC', respectDnsTtl: false, metadata: { filterMetadata: {} } });
    expect(decodeOk(CLUSTER, bytes)).toEqual({ perConnectionBufferLimitBytes: 0, type: 'STATIC', metadata: {} });
  });

  it('decodes packed and unpacked repeated scalars alike', () => {
    const RP = 'envoy.config.route.v3.RetryPolicy';
    const w = new WireWriter();
    for (const code of [503, 504]) { w.tag(7, 0); w.uint32(code); } // unpacked
    w.tag(7, 2); const s = w.beginLength(); w.uint32(429); w.uint32(500); w.endLength(s); // packed
    w.tag(7, 2); w.uint32(0); // an empty packed run
    expect(decodeOk(RP, w.finish())).toEqual({ retriableStatusCodes: [503, 504, 429, 500] });
  });

  it('lets the last member of a oneof win, and merges repeated singular messages', () => {
    const RM = 'envoy.config.route.v3.RouteMatch';
    const a = encodeMessage(RM, { prefix: '/a', headers: [{ name: 'x', exactMatch: 'y' }], caseSensitive: true });
    const b = encodeMessage(RM, { path: '/b' });
    expect(decodeOk(RM, Buffer.concat([a, b]))).toEqual({ path: '/b', headers: [{ name: 'x', exactMatch: 'y' }], caseSensitive: true });
    const R = 'envoy.config.route.v3.Route';
    const r1 = encodeMessage(R, { match: { prefix: '/' }, route: { cluster: 'a', timeout: '1s' } });
    const r2 = encodeMessage(R, { route: { prefixRewrite: '/x' } });
    expect(decodeOk(R, Buffer.concat([r1, r2]))).toEqual({ match: { prefix: '/' }, route: { cluster: 'a', timeout: '1s', prefixRewrite: '/x' } });
    // An Any with an empty type_url and value on the wire is the empty Any, as it re-encodes.
    expect(decodeOk('envoy.admin.v3.ConfigDump', Uint8Array.from([10, 2, 10, 0]))).toEqual({ configs: [{}] });
    expect(decodeOk('envoy.admin.v3.ConfigDump', Uint8Array.from([10, 4, 10, 0, 18, 0]))).toEqual({ configs: [{}] });
    // A list the first occurrence ended with (copied to its exact size then) goes on growing.
    const h1 = encodeMessage(R, { match: { prefix: '/', headers: [{ name: 'a', exactMatch: '1' }] } });
    const h2 = encodeMessage(R, { match: { headers: [{ name: 'b', exactMatch: '2' }, { name: 'c', exactMatch: '3' }] } });
    expect(decodeOk(R, Buffer.concat([h1, h2]))).toEqual({ match: { prefix: '/', headers: [{ name: 'a', exactMatch: '1' }, { name: 'b', exactMatch: '2' }, { name: 'c', exactMatch: '3' }] } });
  });

  it('skips unknown fields of every wire type, including groups', () => {
    const w = new WireWriter();
    w.tag(900, 0); w.varint64(0xffffffff, 0xffffffff);
    w.tag(901, 1); w.fixed64(1, 2);
    w.tag(902, 2); w.string('ignored');
    w.tag(903, 5); w.fixed32(7);
    w.tag(904, 3); w.tag(1, 0); w.uint32(1); w.tag(2, 3); w.tag(2, 4); w.tag(904, 4);
    const known = encodeMessage(CLUSTER, { name: 'c' });
    expect(decodeOk(CLUSTER, Buffer.concat([w.finish(), known]))).toEqual({ name: 'c' });
  });

  it('maps Any: known types recursively, unknown ones as @bytes, well-known types under "value"', () => {
    const any = encodeAny({ '@type': TYPE_URL.HTTPFault, abort: { httpStatus: 500 } });
    expect(any.typeUrl).toBe(TYPE_URL.HTTPFault);
    expect(decodeAny(any.typeUrl, any.value)).toEqual({ ok: true, value: { '@type': TYPE_URL.HTTPFault, abort: { httpStatus: 500 } } });
    const unknown = decodeAny('type.googleapis.com/x.Y', new Uint8Array([1, 2, 3]));
    expect(unknown).toEqual({ ok: true, value: { '@type': 'type.googleapis.com/x.Y', '@bytes': new Uint8Array([1, 2, 3]) } });
    expect(encodeAny(unknown.ok ? unknown.value : {})).toEqual({ typeUrl: 'type.googleapis.com/x.Y', value: new Uint8Array([1, 2, 3]) });
    const dur = encodeAny({ '@type': URL('google.protobuf.Duration'), value: '2.5s' });
    expect(decodeAny(dur.typeUrl, dur.value)).toEqual({ ok: true, value: { '@type': URL('google.protobuf.Duration'), value: '2.500s' } });
    const ts = { '@type': URL('xds.type.v3.TypedStruct'), typeUrl: 'type.googleapis.com/my.Filter', value: { a: [1, { b: null }] } };
    const enc = encodeAny(ts);
    expect(decodeAny(enc.typeUrl, enc.value)).toEqual({ ok: true, value: ts });
    const anyInAny = { '@type': URL('google.protobuf.Any'), value: { '@type': TYPE_URL.Router } };
    const enc2 = encodeAny(anyInAny);
    expect(decodeAny(enc2.typeUrl, enc2.value)).toEqual({ ok: true, value: anyInAny });
  });

  it('keeps a "__proto__" map or Struct key as data, not as a prototype', () => {
    const DR = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
    const w = new WireWriter();
    w.tag(5, 2); const e = w.beginLength(); w.tag(1, 2); w.string('__proto__'); w.tag(2, 2); w.string('polluted'); w.endLength(e);
    const v = decodeOk(DR, w.finish());
    expect(Object.getPrototypeOf(v.initialResourceVersions)).toBe(Object.prototype);
    expect(Object.keys(v.initialResourceVersions)).toEqual(['__proto__']);
    expect(({} as any).polluted).toBeUndefined();
  });

  it('encodes int64 from numbers, decimal strings and bigints; decodes to numbers', () => {
    const RH = 'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash';
    for (const v of [8388608, '8388608', 8388608n]) expect(decodeOk(RH, encodeMessage(RH, { maximumRingSize: v }))).toEqual({ maximumRingSize: 8388608 });
    expect(decodeOk(RH, encodeMessage(RH, { maximumRingSize: '18446744073709551615' }))).toEqual({ maximumRingSize: 2 ** 64 });
    const RP = 'envoy.config.route.v3.RetryPolicy';
    expect(decodeOk(RP, encodeMessage(RP, { hostSelectionRetryMaxAttempts: -3 }))).toEqual({ hostSelectionRetryMaxAttempts: -3 });
    expect(decodeOk(RP, encodeMessage(RP, { hostSelectionRetryMaxAttempts: -(2 ** 53) + 1 }))).toEqual({ hostSelectionRetryMaxAttempts: -(2 ** 53) + 1 });
  });
});

// ---- errors ---------------------------------------------------------------------------------------------

describe('errors', () => {
  const RC = 'envoy.config.route.v3.RouteConfiguration';

  it('names the field path where decoding failed', () => {
    // protobufjs writes what our encoder refuses to: a Duration with nanos out of range.
    const t = root.lookupType(RC);
    const msg = t.fromObject({ name: 'r', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' } }, { match: { prefix: '/x' }, route: { cluster: 'c', timeout: { nanos: 2_000_000_000 } } }] }] });
    const r = decodeMessage(RC, t.encode(msg).finish());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(DecodeError);
    expect(r.error.typeName).toBe(RC);
    expect(r.error.path).toBe('virtualHosts[0].routes[1].route.timeout');
    expect(r.error.message).toMatch(/cannot decode envoy\.config\.route\.v3\.RouteConfiguration at virtualHosts\[0\]\.routes\[1\]\.route\.timeout: Duration nanos 2000000000 out of range/);
  });

  it('names the path through Any values', () => {
    const L = 'envoy.config.listener.v3.Listener';
    // HTTPFault { abort (2) { http_status (2) = <varint cut short> } }, lengths consistent.
    const broken = new Uint8Array([0x12, 0x02, 0x10, 0xf7]);
    const h = root.lookupType(HCM);
    const hcm = h.encode(h.fromObject({ http_filters: [{ name: 'f', typed_config: { type_url: TYPE_URL.HTTPFault, value: broken } }] })).finish();
    const l = root.lookupType(L);
    const bytes = l.encode(l.fromObject({ name: 'l', api_listener: { api_listener: { type_url: TYPE_URL.HttpConnectionManager, value: hcm } } })).finish();
    const r = decodeMessage(L, bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.path).toBe('apiListener.apiListener<HttpConnectionManager>.httpFilters[0].typedConfig<HTTPFault>.abort.httpStatus');
  });

  it('reports truncation, bad lengths, wrong wire types and deep nesting as results', () => {
    const L = 'envoy.config.listener.v3.Listener';
    const good = encodeMessage(L, listener);
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 3), /runs past the end|truncated/],
      [new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), /length \d+ runs past the end/],
      [new Uint8Array([0x08, 0x01]), /wire type 0 does not fit string field 1/],
      [new Uint8Array([0x0a]), /truncated varint/],
      [new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /varint longer than 10 bytes/],
      [new Uint8Array([0xa7, 0x06]), /invalid wire type 7 for field 100/],
      [new Uint8Array([0x0f]), /wire type 7 does not fit string field 1/],
      [new Uint8Array([0x00]), /field number 0/],
    ];
    for (const [bytes, re] of cases) {
      const r = decodeMessage(L, bytes);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.detail).toMatch(re);
    }
    // 150 nested ListValues inside a Struct: past the 100-level limit.
    let inner: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 150; i++) {
      const w = new WireWriter(); // Value { list_value (6) { values (1) = inner } }
      w.tag(6, 2); const lv = w.beginLength(); w.tag(1, 2); w.bytes(inner); w.endLength(lv);
      inner = w.finish();
    }
    const deep = decodeMessage('google.protobuf.Value', inner);
    expect(deep.ok).toBe(false);
    if (!deep.ok) expect(deep.error.detail).toMatch(/nesting deeper than 100/);
    expect(decodeMessage('no.such.Type', new Uint8Array()).ok).toBe(false);
  });

  it('throws EncodeError naming the field for values that do not fit the schema', () => {
    const cases: [object, RegExp][] = [
      [{ name: 'r', virtualHosts: [{ name: 'v', domaines: [] }] }, /at virtualHosts\[0\]: unknown field "domaines"/],
      [{ virtualHosts: [{ routes: [{ match: { prefix: '/', path: '/x' } }] }] }, /virtualHosts\[0\]\.routes\[0\]\.match: "prefix" and "path" are both set/],
      [{ virtualHosts: [{ routes: [{ route: { timeout: '5' } }] }] }, /route\.timeout: "5" is not a Duration/],
      [{ virtualHosts: [{ routes: [{ route: { weightedClusters: { clusters: [{ name: 'a', weight: -1 }] } } }] }] }, /clusters\[0\]\.weight: -1 is not a valid uint32/],
      [{ virtualHosts: [{ requireTls: 'SOMETIMES' }] }, /"SOMETIMES" is not a value of enum/],
      [{ virtualHosts: [{ typedPerFilterConfig: { f: { '@type': 'type.googleapis.com/x.Unknown' } } }] }, /typedPerFilterConfig\["f"\]: type .* is not in the codec's schema/],
      [{ name: 5 }, /at name: expected a string, got number 5/],
    ];
    for (const [value, re] of cases) {
      let err: unknown;
      try {
        encodeMessage(RC, value);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EncodeError);
      expect((err as Error).message).toMatch(re);
    }
  });
});

// ---- fuzz -------------------------------------------------------------------------------------------------

describe('decoder fuzz', () => {
  const ROOTS = ROOT_TYPES.filter((t) => !t.startsWith('google.protobuf.'));

  /** Random but wire-shaped bytes: fields with small numbers, every wire type, nested messages. */
  const wireMessage: fc.Arbitrary<Uint8Array> = fc.letrec<{ msg: Uint8Array }>((tie) => ({
    msg: fc.array(
      fc.tuple(
        fc.integer({ min: 1, max: 60 }),
        fc.oneof(
          fc.record({ wt: fc.constant(0), v: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })) }),
          fc.record({ wt: fc.constant(1), v: fc.tuple(fc.nat(), fc.nat()) }),
          fc.record({ wt: fc.constant(5), v: fc.tuple(fc.nat(), fc.nat()) }),
          fc.record({ wt: fc.constant(2), v: fc.oneof({ depthSize: 'small' }, fc.uint8Array({ maxLength: 12 }), tie('msg')) }),
        ),
      ),
      { maxLength: 8 },
    ).map((fields) => {
      const w = new WireWriter();
      for (const [no, { wt, v }] of fields) {
        w.tag(no, wt);
        if (wt === 0) typeof v === 'bigint' ? w.varint64(Number(v & 0xffffffffn), Number(v >> 32n)) : w.uint32(v as number);
        else if (wt === 2) w.bytes(v as Uint8Array);
        else if (wt === 1) w.fixed64((v as [number, number])[0] >>> 0, (v as [number, number])[1] >>> 0);
        else w.fixed32((v as [number, number])[0] >>> 0);
      }
      return w.finish();
    }),
  })).msg;

  /** Valid encodings of the fixtures with bytes flipped, cut, inserted or repeated. */
  const validSamples = (): Uint8Array[] => FIXTURES.map(([t, v]) => encodeMessage(t, v));
  const mutation = fc.record({
    kind: fc.constantFrom('flip', 'truncate', 'insert', 'duplicate'),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 16 }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  });
  function mutate(src: Uint8Array, muts: { kind: string; at: number; len: number; bytes: Uint8Array }[]): Uint8Array {
    let b = Buffer.from(src);
    for (const m of muts) {
      const at = b.length ? m.at % b.length : 0;
      if (m.kind === 'flip' && b.length) b[at] = b[at]! ^ (m.bytes[0]! || 1);
      else if (m.kind === 'truncate') b = b.subarray(0, at);
      else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
      else b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
    }
    return new Uint8Array(b);
  }

  /** Never throws; whatever decodes re-encodes, and decodes again to the same value. */
  function check(typeName: string, bytes: Uint8Array): void {
    sameInSteps(typeName, bytes);
    let r;
    try {
      r = decodeMessage(typeName, bytes);
    } catch (e) {
      throw new Error(`decodeMessage threw for ${typeName}: ${String(e)}`);
    }
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(DecodeError);
      return;
    }
    const again = decodeMessage(typeName, encodeMessage(typeName, r.value));
    expect(again).toEqual(r);
  }

  it('schema-shaped random messages of every type decode as protobufjs reads them', () => {
    // Valid messages of any type in the table, built from its descriptors: each field at most
    // once and one member per oneof (where protobufjs's merge/oneof rules differ from the spec
    // and from ours), every kind, Any holding random known types, WKTs in their valid ranges.
    const messageIndexes = TYPE_NAMES.map((_, i) => i).filter((i) => !isEnumIndex(i));
    fc.assert(
      fc.property(fc.noShrink(fc.integer()), (seed) => {
        const rnd = mulberry32(seed);
        const index = messageIndexes[Math.floor(rnd() * messageIndexes.length)]!;
        const typeName = TYPE_NAMES[index]!;
        const bytes = randomMessage(index, rnd, 0);
        const ours = decodeMessage(typeName, bytes);
        if (!ours.ok) throw new Error(`${typeName}: ${ours.error.message}`);
        expect(ours.value).toEqual(pbDecode(typeName, bytes));
        check(typeName, bytes);
      }),
      { numRuns: 10_000 },
    );
  });

  it('random wire-shaped and random bytes never make decodeMessage throw, for every root type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ROOTS), fc.oneof(wireMessage, fc.uint8Array({ maxLength: 64 })), (typeName, bytes) => check(typeName, bytes)),
      { numRuns: 30_000 },
    );
  });

  it('mutated valid resources never make decodeMessage throw', () => {
    const samples = validSamples();
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, muts) => check(FIXTURES[i]![0], mutate(samples[i]!, muts))),
      { numRuns: 10_000 },
    );
  });
});

/** The ADS client's decode in steps reads `bytes` exactly as its one-shot decode: same value, same error. */
function sameInSteps(typeName: string, bytes: Uint8Array): void {
  const url = `type.googleapis.com/${typeName}`;
  const steps = decodeResourceValueSteps(url, bytes);
  let step = steps.next();
  while (!step.done) step = steps.next();
  expect(comparable(step.value)).toEqual(comparable(decodeResourceValue(url, bytes)));
}

function comparable(r: DecodeResult): unknown {
  if (r.ok) return { ok: true, value: r.value };
  const { typeName, path, detail, offset, message } = r.error;
  return { ok: false, typeName, path, detail, offset, message };
}

// ---- a schema-driven random message generator (for the differential fuzz above) ----------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
const randInt = (rnd: () => number, min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));

function randomString(rnd: () => number): string {
  const alphabet = ['a', 'b', 'z', '_', '-', '.', '/', ':', '0', '9', ' ', 'é', '漢', '😀'];
  let out = '';
  for (let n = randInt(rnd, 0, 8); n > 0; n--) out += pick(rnd, alphabet);
  return out;
}

function writeRandomScalar(kind: number, typeIndex: number, rnd: () => number, w: WireWriter): void {
  switch (KIND_NAMES[kind]) {
    case 'string': w.string(randomString(rnd)); return;
    case 'bytes': w.bytes(new Uint8Array(randInt(rnd, 0, 6)).map(() => randInt(rnd, 0, 255))); return;
    case 'bool': w.uint32(randInt(rnd, 0, 1)); return;
    case 'int32': case 'sint32': case 'sfixed32': {
      const n = pick(rnd, [0, 1, -1, 2147483647, -2147483648, randInt(rnd, -1e6, 1e6)]);
      if (kind === 14) w.uint32(((n << 1) ^ (n >> 31)) >>> 0);
      else if (kind === 12) w.fixed32(n >>> 0);
      else if (n < 0) w.varint64(n >>> 0, 0xffffffff);
      else w.uint32(n);
      return;
    }
    case 'uint32': w.uint32(pick(rnd, [0, 1, 4294967295, randInt(rnd, 0, 1e9)])); return;
    case 'fixed32': w.fixed32(pick(rnd, [0, 1, 4294967295, randInt(rnd, 0, 1e9)]) >>> 0); return;
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64': {
      const lo = randInt(rnd, 0, 0xffffffff) >>> 0;
      const hi = pick(rnd, [0, 0, 1, 0x7fffffff, 0xffffffff, randInt(rnd, 0, 0xffffffff)]) >>> 0;
      if (KIND_NAMES[kind]!.startsWith('fixed') || KIND_NAMES[kind]!.startsWith('sfixed')) w.fixed64(lo, hi);
      else w.varint64(lo, hi);
      return;
    }
    case 'float': w.float(pick(rnd, [0, 1.5, -2.25, 3.4e38, NaN, Infinity, Math.fround(rnd() * 1000)])); return;
    case 'double': w.double(pick(rnd, [0, -0.5, 1e300, -Infinity, NaN, rnd() * 1e6])); return;
    case 'enum': {
      const values = enumAt(typeIndex).values;
      const n = rnd() < 0.9 && values.length ? pick(rnd, values)[1] : randInt(rnd, 1000, 2000); // sometimes unknown
      if (n < 0) w.varint64(n >>> 0, 0xffffffff);
      else w.uint32(n);
      return;
    }
    default: throw new Error(`no generator for kind ${kind}`);
  }
}

const ANY_INNER = TYPE_NAMES.map((_, i) => i).filter((i) => !isEnumIndex(i));

function randomMessage(index: number, rnd: () => number, depth: number): Uint8Array {
  const desc = messageAt(index);
  const w = new WireWriter();
  const name = desc.fullName;
  if (name === 'google.protobuf.Duration') {
    const seconds = randInt(rnd, -315_576_000, 315_576_000);
    const nanos = seconds === 0 ? randInt(rnd, -999_999_999, 999_999_999) : Math.sign(seconds) * randInt(rnd, 0, 999_999_999);
    if (seconds) { w.tag(1, 0); const [lo, hi] = seconds < 0 ? [seconds >>> 0, 0xffffffff] : [seconds, 0]; w.varint64(lo, hi); }
    if (nanos) { w.tag(2, 0); if (nanos < 0) w.varint64(nanos >>> 0, 0xffffffff); else w.uint32(nanos); }
    return w.finish();
  }
  if (name === 'google.protobuf.Timestamp') {
    const seconds = randInt(rnd, -62_135_596_800, 253_402_300_799);
    const big = BigInt.asUintN(64, BigInt(seconds));
    if (seconds) { w.tag(1, 0); w.varint64(Number(big & 0xffffffffn), Number(big >> 32n)); }
    const nanos = randInt(rnd, 0, 999_999_999);
    if (nanos) { w.tag(2, 0); w.uint32(nanos); }
    return w.finish();
  }
  if (name === 'google.protobuf.Any') {
    if (rnd() < 0.15) {
      w.tag(1, 2); w.string('type.googleapis.com/unknown.v1.Thing');
      w.tag(2, 2); w.bytes(new Uint8Array([8, randInt(rnd, 0, 127)]));
      return w.finish();
    }
    const inner = depth > 3 ? TYPE_NAMES.indexOf('google.protobuf.Empty') : pick(rnd, ANY_INNER);
    w.tag(1, 2); w.string(`type.googleapis.com/${TYPE_NAMES[inner]}`);
    const body = randomMessage(inner, rnd, depth + 1);
    if (body.length) { w.tag(2, 2); w.bytes(body); }
    return w.finish();
  }
  const usedOneofs = new Set<number>();
  const p = depth > 3 ? 0.05 : 0.35;
  for (const f of desc.fields) {
    if (rnd() > p) continue;
    if (f.oneof >= 0) {
      if (usedOneofs.has(f.oneof)) continue;
      usedOneofs.add(f.oneof);
    }
    const writeValue = (): void => {
      if (f.kind === K_MESSAGE) w.bytes(randomMessage(f.typeIndex, rnd, depth + 1));
      else writeRandomScalar(f.kind, f.typeIndex, rnd, w);
    };
    if (f.map) {
      for (let n = randInt(rnd, 1, 2); n > 0; n--) {
        w.tag(f.number, 2);
        const entry = w.beginLength();
        w.tag(1, KIND_NAMES[f.keyKind] === 'string' ? 2 : 0);
        if (KIND_NAMES[f.keyKind] === 'string') w.string(`k${n}${randomString(rnd)}`);
        else w.uint32(n);
        w.tag(2, f.wireType);
        writeValue();
        w.endLength(entry);
      }
    } else if (f.repeated && f.packed && rnd() < 0.7) {
      w.tag(f.number, 2);
      const run = w.beginLength();
      for (let n = randInt(rnd, 1, 3); n > 0; n--) writeValue();
      w.endLength(run);
    } else {
      for (let n = f.repeated ? randInt(rnd, 1, 3) : 1; n > 0; n--) {
        w.tag(f.number, f.wireType);
        writeValue();
      }
    }
  }
  return w.finish();
}
