// Generates packages/core/src/xds/codec/schema.gen.ts: a compact table of the Envoy v3 xDS
// message and enum descriptors the runtime codec needs, read ahead of time from the reference
// .proto files in @grpc/grpc-js-xds so nothing parses .proto text at run time.
//
//   node packages/core/scripts/gen-xds-codec.ts        (or: pnpm --filter @meshlet/core gen:codec)
//
// The table is one string per type, expanded by the runtime on first use (schema.ts), so
// importing the codec costs only the evaluation of a few hundred string literals.
//
// Encoding of one message type (fields in field-number order, separated by ' '):
//   <number>,<jsonName>,<kind>[*|#][~<oneofIndex>][?]      then optionally  |<oneof>,<oneof>...
//   kind:  one scalar letter (SCALAR_CODES), m<typeIndex> (message), e<typeIndex> (enum),
//          M<keyLetter><valueKind> (map)
//   *  repeated (packed on the wire when the element type is packable),  #  repeated, unpacked
//   ~i member of the message's i-th oneof,  ?  proto3 `optional` (explicit presence)
// Encoding of one enum type: '!' then NAME[=number] joined by ','; the number is left out when
// it is the previous number + 1 (the first one defaults to 0), which covers most enums.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { loadReferenceRoot } from './reference-protos.ts';

/** The messages the codec must know; the generated table is their closure minus EXCLUDED. */
export const ROOT_TYPES = [
  'envoy.service.discovery.v3.DiscoveryRequest',
  'envoy.service.discovery.v3.DiscoveryResponse',
  'envoy.service.discovery.v3.DeltaDiscoveryRequest',
  'envoy.service.discovery.v3.DeltaDiscoveryResponse',
  'envoy.config.listener.v3.Listener',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.config.route.v3.RouteConfiguration',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.filters.http.fault.v3.HTTPFault',
  'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  // RequestAuthentication on a sidecar's inbound listener (istiod's sidecar generator).
  'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
  // Also used by Meshlet's resources (../src/xds/resources.ts TYPE_URL) or read by proxyless
  // clients: retry priority, the CORS filter, aggregate clusters.
  'envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
  'envoy.extensions.filters.http.cors.v3.Cors',
  'envoy.extensions.filters.http.cors.v3.CorsPolicy',
  'envoy.extensions.clusters.aggregate.v3.ClusterConfig',
  'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash',
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
  'envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality',
  'envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst',
  'envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin',
  'envoy.extensions.load_balancing_policies.random.v3.Random',
  'envoy.extensions.load_balancing_policies.maglev.v3.Maglev',
  // What an Envoy sidecar's listeners and clusters hold beside HTTP: TCP proxy filter chains
  // (read to learn where the catch-all chain sends traffic) and plaintext transport sockets.
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  'envoy.service.status.v3.ClientStatusRequest',
  'envoy.service.status.v3.ClientStatusResponse',
  // Config dumps (admin API and CSDS carry these inside Any).
  'envoy.admin.v3.ConfigDump',
  'envoy.admin.v3.BootstrapConfigDump',
  'envoy.admin.v3.ListenersConfigDump',
  'envoy.admin.v3.ClustersConfigDump',
  'envoy.admin.v3.RoutesConfigDump',
  'envoy.admin.v3.ScopedRoutesConfigDump',
  'envoy.admin.v3.EndpointsConfigDump',
  'envoy.admin.v3.SecretsConfigDump',
  'envoy.admin.v3.EcdsConfigDump',
  'xds.type.v3.TypedStruct',
  'udpa.type.v1.TypedStruct',
  // Well-known types, so an Any holding one of them decodes too (they are tiny).
  'google.protobuf.Any',
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.Empty',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
];

/**
 * Types left out of the table, with the subtree only they reach. A field of one of these types
 * is not in its message's descriptor, so the decoder skips it as an unknown field and the
 * encoder rejects it. Only subtrees a client-side mesh never acts on belong here; anything that
 * could change routing, balancing or security decisions (RBAC conditions included) stays in,
 * so a resource using it can be seen and NACKed rather than silently read as something broader.
 */
export const EXCLUDED_TYPES: Record<string, string> = {
  'envoy.config.bootstrap.v3.Bootstrap': "an Envoy process's bootstrap (admin dumps only); the whole Envoy config tree",
  'envoy.config.core.v3.HealthCheck': 'active health checking is done by Envoy/the control plane, not by the client',
  'envoy.config.accesslog.v3.AccessLog': 'Envoy access loggers; Meshlet reports through its own telemetry',
  'envoy.config.accesslog.v3.AccessLogFilter': 'only reachable through access loggers',
  'envoy.config.trace.v3.Tracing.Http': 'tracing provider plug-ins; Meshlet traces with OpenTelemetry',
  'envoy.config.route.v3.RateLimit': 'global rate-limit descriptors for an external rate-limit service',
  'envoy.config.listener.v3.UdpListenerConfig': 'UDP/QUIC listeners; a client reads api_listener, never binds these',
  // HTTP/3 options stay: choosing HTTP/3 for a cluster is a transport decision the client must
  // see (and refuse) rather than read as "no protocol chosen".
};

export const SCALAR_CODES: Record<string, string> = {
  double: 'd', float: 'f', int64: 'l', uint64: 'L', int32: 'i', fixed64: 'X', fixed32: 'x',
  bool: 'b', string: 's', bytes: 'y', uint32: 'u', sfixed32: 'g', sfixed64: 'G', sint32: 'z', sint64: 'Z',
};

const PACKABLE = new Set(['double', 'float', 'int64', 'uint64', 'int32', 'fixed64', 'fixed32', 'bool', 'uint32', 'sfixed32', 'sfixed64', 'sint32', 'sint64']);

/** protoc's default json_name: drop each '_' and upper-case the character after it. */
export function protoJsonName(protoName: string): string {
  let out = '';
  let upper = false;
  for (const ch of protoName) {
    if (ch === '_') upper = true;
    else if (upper) {
      out += ch.toUpperCase();
      upper = false;
    } else out += ch;
  }
  return out;
}

export function jsonNameOf(field: protobuf.Field): string {
  const explicit = field.options?.['json_name'];
  return typeof explicit === 'string' ? explicit : protoJsonName(field.name);
}

const fullName = (t: protobuf.ReflectionObject): string => t.fullName.replace(/^\./, '');

export interface Closure {
  /** Kept types in a stable order (sorted by full name); index = position. */
  types: (protobuf.Type | protobuf.Enum)[];
  index: Map<string, number>;
}

export function computeClosure(root: protobuf.Root): Closure {
  const kept = new Map<string, protobuf.Type | protobuf.Enum>();
  const visit = (t: protobuf.Type | protobuf.Enum): void => {
    const name = fullName(t);
    if (kept.has(name) || name in EXCLUDED_TYPES) return;
    kept.set(name, t);
    if (t instanceof protobuf.Type) {
      for (const f of t.fieldsArray) {
        const rt = f.resolvedType;
        if (rt) visit(rt as protobuf.Type | protobuf.Enum);
      }
    }
  };
  for (const name of ROOT_TYPES) visit(root.lookupTypeOrEnum(name));
  const types = [...kept.values()].sort((a, b) => (fullName(a) < fullName(b) ? -1 : 1));
  return { types, index: new Map(types.map((t, i) => [fullName(t), i])) };
}

function kindOf(f: protobuf.Field, closure: Closure): string | undefined {
  const code = SCALAR_CODES[f.type];
  if (code && !f.resolvedType) return code;
  const rt = f.resolvedType;
  if (!rt) throw new Error(`unresolved type ${f.type} of ${f.fullName}`);
  const idx = closure.index.get(fullName(rt));
  if (idx === undefined) return undefined; // excluded subtree: leave the field out
  return (rt instanceof protobuf.Enum ? 'e' : 'm') + idx;
}

export function messageDef(t: protobuf.Type, closure: Closure): string {
  const oneofs = t.oneofsArray.filter((o) => !isSyntheticOneof(o)).map((o) => o.name);
  const fields = [...t.fieldsArray].sort((a, b) => a.id - b.id);
  const parts: string[] = [];
  for (const f of fields) {
    let kind: string | undefined;
    if (f instanceof protobuf.MapField) {
      const keyCode = SCALAR_CODES[f.keyType];
      const valueKind = kindOf(f, closure);
      if (!keyCode) throw new Error(`bad map key ${f.keyType} in ${f.fullName}`);
      kind = valueKind === undefined ? undefined : 'M' + keyCode + valueKind;
    } else {
      kind = kindOf(f, closure);
    }
    if (kind === undefined) continue;
    let flags = '';
    if (f.repeated && !(f instanceof protobuf.MapField)) {
      flags += PACKABLE.has(f.type) || f.resolvedType instanceof protobuf.Enum ? (f.packed ? '*' : '#') : '*';
    }
    if (f.partOf && !isSyntheticOneof(f.partOf)) flags += '~' + oneofs.indexOf(f.partOf.name);
    if (f.options?.['proto3_optional']) flags += '?';
    parts.push(`${f.id},${jsonNameOf(f)},${kind}${flags}`);
  }
  return parts.join(' ') + (oneofs.length ? '|' + oneofs.join(',') : '');
}

function isSyntheticOneof(o: protobuf.OneOf): boolean {
  // proto3 `optional` fields sit alone in a oneof protobufjs synthesises as "_<field>".
  return o.fieldsArray.length === 1 && !!o.fieldsArray[0]?.options?.['proto3_optional'];
}

export function enumDef(e: protobuf.Enum): string {
  let next = 0;
  const parts: string[] = [];
  for (const [name, num] of Object.entries(e.values)) {
    parts.push(num === next ? name : `${name}=${num}`);
    next = num + 1;
  }
  return '!' + parts.join(',');
}

/** The full text of schema.gen.ts for the given reference root. */
export function generateSchemaSource(root: protobuf.Root): string {
  const closure = computeClosure(root);
  const names = closure.types.map(fullName);
  const defs = closure.types.map((t) => (t instanceof protobuf.Type ? messageDef(t, closure) : enumDef(t)));
  const require = createRequire(import.meta.url);
  const xdsVersion: string = require('@grpc/grpc-js-xds/package.json').version;
  const lines = [
    '// GENERATED by packages/core/scripts/gen-xds-codec.ts from the .proto files shipped in',
    `// @grpc/grpc-js-xds ${xdsVersion}. Do not edit: change the generator and run \`pnpm --filter @meshlet/core gen:codec\`.`,
    '// Format: see the header of the generator. test/xds-codec.test.ts checks every entry against the protos.',
    '',
    `export const SCHEMA_SOURCE = '@grpc/grpc-js-xds@${xdsVersion}';`,
    '',
    '/** Full type names; a type is referred to by its index in this list. */',
    'export const TYPE_NAMES: readonly string[] = [',
    ...names.map((n) => `  ${JSON.stringify(n)},`),
    '];',
    '',
    '/** Per type (same index): a message descriptor, or an enum descriptor starting with "!". */',
    'export const TYPE_DEFS: readonly string[] = [',
    ...defs.map((d) => `  ${JSON.stringify(d)},`),
    '];',
    '',
  ];
  return lines.join('\n');
}

export const OUTPUT_PATH = join(dirname(fileURLToPath(import.meta.url)), '../src/xds/codec/schema.gen.ts');

function main(): void {
  const t0 = performance.now();
  const root = loadReferenceRoot();
  const source = generateSchemaSource(root);
  writeFileSync(OUTPUT_PATH, source);
  const closure = computeClosure(root);
  const messages = closure.types.filter((t) => t instanceof protobuf.Type) as protobuf.Type[];
  // Fields left out because their type is excluded, so the effect of EXCLUDED_TYPES is visible.
  const skipped = messages.flatMap((t) => t.fieldsArray.filter((f) => f.resolvedType && !closure.index.has(fullName(f.resolvedType))));
  console.log(
    `wrote ${OUTPUT_PATH}: ${messages.length} messages, ${closure.types.length - messages.length} enums, ` +
      `${(Buffer.byteLength(source) / 1024).toFixed(1)} KiB in ${(performance.now() - t0).toFixed(0)} ms; ` +
      `${skipped.length} fields of excluded types left out: ${skipped.map((f) => fullName(f)).join(', ')}`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
