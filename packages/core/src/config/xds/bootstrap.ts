// The xDS bootstrap in gRPC's GRPC_XDS_BOOTSTRAP format (gRFC A27, A29, A47, A53, A71) — the
// file istio-agent writes for proxyless clients. Read from a file, or inline from
// GRPC_XDS_BOOTSTRAP_CONFIG. Every problem is a message naming the field and saying what to
// put there, because a wrong bootstrap is a deployment mistake the user must fix by hand.
//
// Meshlet-specific: server_features "delta" selects incremental ADS (gRPC itself only speaks
// state-of-the-world, so the feature name is ours); "ignore_resource_deletion" is gRFC A53's,
// "fail_on_data_errors" gRFC A88's.

import { readFile } from 'node:fs/promises';
import type { Result } from '../../xds/translate-result.ts';
import { fail, ok } from '../../xds/translate-result.ts';

export type ChannelCreds =
  | { readonly type: 'insecure' }
  | { readonly type: 'tls'; readonly caCertificateFile?: string; readonly certificateFile?: string; readonly privateKeyFile?: string };

export interface XdsServerConfig {
  readonly serverUri: string;
  readonly channelCreds: ChannelCreds;
  readonly serverFeatures: readonly string[];
  readonly ignoreResourceDeletion: boolean;
  /** gRFC A88 "fail_on_data_errors": a NACKed resource is dropped instead of kept at its last good version. */
  readonly failOnDataErrors: boolean;
  readonly delta: boolean;
}

export interface BootstrapNode {
  readonly id: string;
  readonly cluster: string;
  /** google.protobuf.Struct, as JSON. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly locality: { readonly region?: string; readonly zone?: string; readonly subZone?: string };
}

export interface CertificateProvider {
  readonly pluginName: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface Bootstrap {
  /** Where it was read from: a path, or 'GRPC_XDS_BOOTSTRAP_CONFIG'. */
  readonly origin: string;
  readonly xdsServers: readonly XdsServerConfig[];
  readonly node: BootstrapNode;
  readonly certificateProviders: Readonly<Record<string, CertificateProvider>>;
  readonly serverListenerResourceNameTemplate: string | undefined;
  readonly clientDefaultListenerResourceNameTemplate: string | undefined;
  /** The client's namespace: node metadata NAMESPACE, else the `<pod>.<ns>` part of an Istio node id. */
  readonly namespace: string | undefined;
  /** Node metadata LABELS (Istio writes the pod's labels there). */
  readonly labels: Readonly<Record<string, string>> | undefined;
}

const EXAMPLE_URI = 'e.g. "unix:///etc/istio/XDS" (istio-agent) or "istiod.istio-system.svc:15010"';

/**
 * Reads the bootstrap: `file` if given, else GRPC_XDS_BOOTSTRAP, else GRPC_XDS_BOOTSTRAP_CONFIG.
 * Never throws; the error says what to fix.
 */
export async function loadBootstrap(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Result<Bootstrap>> {
  const path = file ?? env['GRPC_XDS_BOOTSTRAP'];
  if (path !== undefined && path !== '') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      return fail(`xDS bootstrap ${path}: cannot read it (${why}): point createMesh({ bootstrap }) or GRPC_XDS_BOOTSTRAP at the JSON file istio-agent writes, or put its contents in GRPC_XDS_BOOTSTRAP_CONFIG`);
    }
    return parseBootstrap(text, path);
  }
  const inline = env['GRPC_XDS_BOOTSTRAP_CONFIG'];
  if (inline !== undefined && inline !== '') return parseBootstrap(inline, 'GRPC_XDS_BOOTSTRAP_CONFIG');
  return fail('no xDS bootstrap: pass createMesh({ bootstrap: <file> }), or set GRPC_XDS_BOOTSTRAP (a file) or GRPC_XDS_BOOTSTRAP_CONFIG (the JSON itself)');
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks bootstrap JSON. `origin` names it in messages. */
export function parseBootstrap(text: string, origin: string): Result<Bootstrap> {
  const where = `xDS bootstrap ${origin}`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`${where}: not valid JSON (${(err as Error).message}): fix the file's syntax`);
  }
  if (!isObject(raw)) return fail(`${where}: must be a JSON object with "xds_servers" and "node"`);

  const servers = raw['xds_servers'];
  if (!Array.isArray(servers) || servers.length === 0) {
    return fail(`${where}: xds_servers: required, a non-empty list; add [{ "server_uri": ..., "channel_creds": [{ "type": "insecure" }] }] (${EXAMPLE_URI})`);
  }
  const xdsServers: XdsServerConfig[] = [];
  for (let i = 0; i < servers.length; i++) {
    const r = parseServer(servers[i], `${where}: xds_servers[${i}]`);
    if (!r.ok) return r;
    xdsServers.push(r.value);
  }

  const node = raw['node'];
  if (node !== undefined && !isObject(node)) return fail(`${where}: node: must be an object with "id" and "metadata"`);
  const n: Json = node ?? {};
  const id = n['id'];
  if (typeof id !== 'string' || id === '') {
    return fail(`${where}: node.id: required; istiod expects "sidecar~<pod ip>~<pod>.<namespace>~<namespace>.svc.cluster.local"`);
  }
  const metadata = n['metadata'] ?? {};
  if (!isObject(metadata)) return fail(`${where}: node.metadata: must be an object (it becomes a google.protobuf.Struct)`);
  const locality = n['locality'] ?? {};
  if (!isObject(locality)) return fail(`${where}: node.locality: must be an object with region/zone/sub_zone`);
  const loc: { region?: string; zone?: string; subZone?: string } = {};
  for (const [k, key] of [['region', 'region'], ['zone', 'zone'], ['sub_zone', 'subZone']] as const) {
    const v = locality[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') return fail(`${where}: node.locality.${k}: must be a string`);
    loc[key] = v;
  }

  const labelsRaw = metadata['LABELS'];
  let labels: Record<string, string> | undefined;
  if (labelsRaw !== undefined) {
    if (!isObject(labelsRaw) || Object.values(labelsRaw).some((v) => typeof v !== 'string')) {
      return fail(`${where}: node.metadata.LABELS: must be an object of string values (the pod's labels)`);
    }
    labels = labelsRaw as Record<string, string>;
  }
  const nsRaw = metadata['NAMESPACE'];
  if (nsRaw !== undefined && typeof nsRaw !== 'string') return fail(`${where}: node.metadata.NAMESPACE: must be a string`);

  const providers: Record<string, CertificateProvider> = {};
  const cp = raw['certificate_providers'];
  if (cp !== undefined) {
    if (!isObject(cp)) return fail(`${where}: certificate_providers: must be an object of { "plugin_name", "config" } by instance name`);
    for (const [name, p] of Object.entries(cp)) {
      if (!isObject(p) || typeof p['plugin_name'] !== 'string') return fail(`${where}: certificate_providers.${name}.plugin_name: required (e.g. "file_watcher")`);
      const config = p['config'] ?? {};
      if (!isObject(config)) return fail(`${where}: certificate_providers.${name}.config: must be an object`);
      if (p['plugin_name'] === 'file_watcher') {
        for (const f of ['certificate_file', 'private_key_file', 'ca_certificate_file']) {
          if (config[f] !== undefined && typeof config[f] !== 'string') return fail(`${where}: certificate_providers.${name}.config.${f}: must be a file path`);
        }
      }
      providers[name] = { pluginName: p['plugin_name'], config };
    }
  }

  const template = (key: string): Result<string | undefined> => {
    const v = raw[key];
    if (v === undefined) return ok(undefined);
    if (typeof v !== 'string') return fail(`${where}: ${key}: must be a string such as "xds.istio.io/grpc/lds/inbound/%s"`);
    return ok(v);
  };
  const server = template('server_listener_resource_name_template');
  if (!server.ok) return server;
  const client = template('client_default_listener_resource_name_template');
  if (!client.ok) return client;

  return ok({
    origin,
    xdsServers,
    node: { id, cluster: typeof n['cluster'] === 'string' ? n['cluster'] : '', metadata, locality: loc },
    certificateProviders: providers,
    serverListenerResourceNameTemplate: server.value,
    clientDefaultListenerResourceNameTemplate: client.value,
    namespace: nsRaw ?? namespaceFromNodeId(id),
    labels,
  });
}

function parseServer(s: unknown, where: string): Result<XdsServerConfig> {
  if (!isObject(s)) return fail(`${where}: must be an object with "server_uri" and "channel_creds"`);
  const uri = s['server_uri'];
  if (typeof uri !== 'string' || uri === '') return fail(`${where}.server_uri: required (${EXAMPLE_URI})`);
  if (/^[a-z]+:\/\//i.test(uri) && !/^(unix|dns|ipv4|ipv6):/i.test(uri)) {
    return fail(`${where}.server_uri: ${JSON.stringify(uri)}: the scheme must be unix:, dns:, ipv4: or ipv6:, or none (host:port) (${EXAMPLE_URI})`);
  }
  const creds = s['channel_creds'];
  if (!Array.isArray(creds) || creds.length === 0) return fail(`${where}.channel_creds: required; add [{ "type": "insecure" }] or [{ "type": "tls", "config": { "ca_certificate_file": ... } }]`);
  // gRPC takes the first entry it supports and ignores the rest.
  let chosen: ChannelCreds | undefined;
  const seen: string[] = [];
  for (let i = 0; i < creds.length && !chosen; i++) {
    const c = creds[i];
    if (!isObject(c) || typeof c['type'] !== 'string') return fail(`${where}.channel_creds[${i}].type: required ("insecure" or "tls")`);
    seen.push(c['type']);
    if (c['type'] === 'insecure') chosen = { type: 'insecure' };
    else if (c['type'] === 'tls') {
      const cfg = c['config'] ?? {};
      if (!isObject(cfg)) return fail(`${where}.channel_creds[${i}].config: must be an object`);
      const files: Record<string, string> = {};
      for (const [k, key] of [['ca_certificate_file', 'caCertificateFile'], ['certificate_file', 'certificateFile'], ['private_key_file', 'privateKeyFile']] as const) {
        const v = cfg[k];
        if (v === undefined) continue;
        if (typeof v !== 'string' || v === '') return fail(`${where}.channel_creds[${i}].config.${k}: must be a file path`);
        files[key] = v;
      }
      if ((files['certificateFile'] === undefined) !== (files['privateKeyFile'] === undefined)) {
        return fail(`${where}.channel_creds[${i}].config: certificate_file and private_key_file go together (mutual TLS); give both or neither`);
      }
      chosen = { type: 'tls', ...files };
    }
  }
  if (!chosen) return fail(`${where}.channel_creds: none of ${JSON.stringify(seen)} is supported; use { "type": "insecure" } or { "type": "tls" }`);
  const features = s['server_features'] ?? [];
  if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) return fail(`${where}.server_features: must be a list of strings such as ["xds_v3"]`);
  return ok({
    serverUri: uri,
    channelCreds: chosen,
    serverFeatures: features as string[],
    ignoreResourceDeletion: features.includes('ignore_resource_deletion'),
    failOnDataErrors: features.includes('fail_on_data_errors'),
    delta: features.includes('delta'),
  });
}

/** 'sidecar~10.0.0.1~pod-1.prod~prod.svc.cluster.local' → 'prod'. */
export function namespaceFromNodeId(id: string): string | undefined {
  const parts = id.split('~');
  if (parts.length !== 4) return undefined;
  const podDotNs = parts[2]!;
  const dot = podDotNs.lastIndexOf('.');
  return dot > 0 && dot < podDotNs.length - 1 ? podDotNs.slice(dot + 1) : undefined;
}
