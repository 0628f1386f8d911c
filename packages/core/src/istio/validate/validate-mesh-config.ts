// MeshConfig checked as istiod checks it when it loads the mesh config (pkg/config/validation/
// agent ValidateMeshConfig: connect timeout, locality setting, trust domain and aliases) plus the
// types of every field Meshlet applies. istiod reads the document leniently (unknown fields are
// ignored), so names Meshlet does not apply are not errors: they are listed in one warning —
// fields with no meaning for a proxyless client, and names MeshConfig does not have (with the
// nearest real one). snake_case names are accepted as protobuf's JSON reader accepts them.

import type { MeshConfigSpec } from '../types.ts';
import { checkExportTo, isDns1123Label, type FieldPath, type Report, type ValidationContext } from './validate-common.ts';
import { checkIstioDuration, parseGoDuration } from './validate-duration.ts';
import { checkHttpRetry } from './validate-http-route.ts';
import { checkShape } from './validate-schema.ts';
import { localityLbSetting } from './validate-schema-destination-rule.ts';
import { httpRetry } from './validate-schema-virtual-service.ts';
import { checkLocalityLb } from './validate-traffic-policy.ts';

/** Every MeshConfig field (istio.mesh.v1alpha1.MeshConfig, JSON names). */
export const MESH_CONFIG_FIELDS: ReadonlySet<string> = new Set([
  'proxyListenPort', 'proxyInboundListenPort', 'proxyHttpPort', 'connectTimeout', 'hboneIdleTimeout', 'protocolDetectionTimeout',
  'tcpKeepalive', 'ingressClass', 'ingressService', 'ingressControllerMode', 'ingressSelector', 'enableTracing', 'accessLogFile',
  'accessLogFormat', 'accessLogEncoding', 'enableEnvoyAccessLogService', 'disableEnvoyListenerLog', 'defaultConfig',
  'outboundTrafficPolicy', 'inboundTrafficPolicy', 'configSources', 'enableAutoMtls', 'trustDomain', 'trustDomainAliases',
  'caCertificates', 'defaultServiceExportTo', 'defaultVirtualServiceExportTo', 'defaultDestinationRuleExportTo', 'rootNamespace',
  'localityLbSetting', 'zoneAwareLbSetting', 'dnsRefreshRate', 'h2UpgradePolicy', 'inboundClusterStatName', 'outboundClusterStatName',
  'certificates', 'serviceSettings', 'serviceScopeConfigs', 'enablePrometheusMerge', 'verifyCertificateAtClient', 'ca',
  'extensionProviders', 'defaultProviders', 'discoverySelectors', 'pathNormalization', 'defaultHttpRetryPolicy', 'meshMTLS',
  'tlsDefaults', 'defaultTrafficPolicy', 'serviceEntryVisibility',
]);

/** The ones Meshlet applies (istio/mesh-config.ts). */
export const APPLIED_MESH_CONFIG_FIELDS: ReadonlySet<string> = new Set([
  'outboundTrafficPolicy', 'defaultHttpRetryPolicy', 'connectTimeout', 'localityLbSetting', 'trustDomain', 'trustDomainAliases',
  'pathNormalization', 'enableAutoMtls', 'defaultServiceExportTo', 'defaultVirtualServiceExportTo', 'defaultDestinationRuleExportTo',
  'rootNamespace', 'dnsRefreshRate', 'h2UpgradePolicy', 'defaultConfig',
]);

/** Every ProxyConfig field (MeshConfig.defaultConfig). */
const PROXY_CONFIG_FIELDS: ReadonlySet<string> = new Set([
  'configPath', 'binaryPath', 'serviceCluster', 'tracingServiceName', 'drainDuration', 'discoveryAddress', 'discoveryRefreshDelay',
  'zipkinAddress', 'statsdUdpAddress', 'envoyMetricsServiceAddress', 'proxyAdminPort', 'availabilityZone', 'controlPlaneAuthPolicy',
  'customConfigFile', 'statNameLength', 'concurrency', 'proxyBootstrapTemplatePath', 'interceptionMode', 'tracing', 'sds',
  'envoyAccessLogService', 'envoyMetricsService', 'proxyMetadata', 'runtimeValues', 'statusPort', 'extraStatTags', 'gatewayTopology',
  'terminationDrainDuration', 'meshId', 'readinessProbe', 'proxyStatsMatcher', 'holdApplicationUntilProxyStarts', 'caCertificatesPem',
  'image', 'privateKeyProvider', 'proxyHeaders', 'fileFlushInterval', 'fileFlushMinSizeKb', 'statsCompression', 'connectionSettings',
]);

const APPLIED_PROXY_CONFIG_FIELDS: ReadonlySet<string> = new Set(['holdApplicationUntilProxyStarts']);

const OUTBOUND_MODES = ['REGISTRY_ONLY', 'ALLOW_ANY', 'ALLOW_ANY_DYNAMIC_DNS'];
// MeshConfig.H2UpgradePolicy has two values (DestinationRule's has DEFAULT besides).
const H2_UPGRADE_POLICIES = ['DO_NOT_UPGRADE', 'UPGRADE'];
const NORMALIZATIONS = ['DEFAULT', 'NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];
// ValidateConnectTimeout's bounds (agent/validation.go connectTimeoutMin/Max).
const CONNECT_TIMEOUT_MIN_NS = 1_000_000n;
const CONNECT_TIMEOUT_MAX_NS = 31_536_000n * 1_000_000_000n;

/** Validates (and normalizes to camelCase keys) a MeshConfig document. Paths are MeshConfig fields. */
export function validateMeshConfig(spec: MeshConfigSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  camelCaseKeys(spec, MESH_CONFIG_FIELDS);
  if (isObject(spec.defaultConfig)) camelCaseKeys(spec.defaultConfig, PROXY_CONFIG_FIELDS);
  for (const k of ['outboundTrafficPolicy', 'pathNormalization', 'defaultHttpRetryPolicy', 'localityLbSetting'] as const) {
    if (isObject(spec[k])) camelCaseKeys(spec[k] as Record<string, unknown>, undefined);
  }
  const notApplied: string[] = [];
  const unknown: string[] = [];
  for (const key of Object.keys(spec)) {
    if (!MESH_CONFIG_FIELDS.has(key)) unknown.push(withSuggestion(key, MESH_CONFIG_FIELDS));
    else if (!APPLIED_MESH_CONFIG_FIELDS.has(key)) notApplied.push(key);
  }

  const otp = spec.outboundTrafficPolicy;
  if (otp !== undefined && checkObject(otp, ['outboundTrafficPolicy'], r)) {
    if (otp.mode !== undefined && !OUTBOUND_MODES.includes(otp.mode)) r.error(['outboundTrafficPolicy', 'mode'], `mode "${String(otp.mode)}" must be one of ${OUTBOUND_MODES.join(', ')}`);
    if (otp.tls !== undefined) notApplied.push('outboundTrafficPolicy.tls');
  }
  if (spec.connectTimeout !== undefined) checkConnectTimeout(spec.connectTimeout, r);
  if (spec.dnsRefreshRate !== undefined) checkDuration(spec.dnsRefreshRate, ['dnsRefreshRate'], r);
  if (spec.defaultHttpRetryPolicy !== undefined && checkShape(spec.defaultHttpRetryPolicy, httpRetry(), ['defaultHttpRetryPolicy'], r) !== 'types') {
    checkHttpRetry(spec.defaultHttpRetryPolicy, ['defaultHttpRetryPolicy'], prefixed(r, 'invalid default http retry policy: '));
  }
  if (spec.localityLbSetting !== undefined && checkShape(spec.localityLbSetting, localityLbSetting(), ['localityLbSetting'], r) !== 'types') {
    checkLocalityLb(spec.localityLbSetting, false, ['localityLbSetting'], r);
  }
  if (spec.trustDomain !== undefined) {
    const err = typeof spec.trustDomain === 'string' ? checkTrustDomain(spec.trustDomain) : 'must be a string';
    if (err) r.error(['trustDomain'], `trustDomain: ${err}`);
  }
  if (spec.trustDomainAliases !== undefined && checkStringList(spec.trustDomainAliases, ['trustDomainAliases'], r)) {
    spec.trustDomainAliases.forEach((a, i) => {
      const err = checkTrustDomain(a);
      if (err) r.error(['trustDomainAliases', i], `trustDomainAliases[${i}], domain \`${a}\`: ${err}`);
    });
  }
  const pn = spec.pathNormalization;
  if (pn !== undefined && checkObject(pn, ['pathNormalization'], r) && pn.normalization !== undefined && !NORMALIZATIONS.includes(pn.normalization)) {
    r.error(['pathNormalization', 'normalization'], `normalization "${String(pn.normalization)}" must be one of ${NORMALIZATIONS.join(', ')}`);
  }
  if (spec.h2UpgradePolicy !== undefined && !H2_UPGRADE_POLICIES.includes(spec.h2UpgradePolicy)) {
    r.error(['h2UpgradePolicy'], `h2UpgradePolicy "${String(spec.h2UpgradePolicy)}" must be one of ${H2_UPGRADE_POLICIES.join(', ')}`);
  }
  if (spec.enableAutoMtls !== undefined && typeof spec.enableAutoMtls !== 'boolean') r.error(['enableAutoMtls'], 'enableAutoMtls must be true or false');
  for (const k of ['defaultServiceExportTo', 'defaultVirtualServiceExportTo', 'defaultDestinationRuleExportTo'] as const) {
    const list = spec[k];
    if (list !== undefined && checkStringList(list, [k], r)) {
      checkExportTo(list, { namespace: ctx.namespace, isServiceEntry: k === 'defaultServiceExportTo', drWithSelector: false }, [k], r);
    }
  }
  if (spec.rootNamespace !== undefined && (typeof spec.rootNamespace !== 'string' || (spec.rootNamespace !== '' && !isDns1123Label(spec.rootNamespace)))) {
    r.error(['rootNamespace'], 'rootNamespace must be a namespace name');
  }
  const dc = spec.defaultConfig;
  if (dc !== undefined && checkObject(dc, ['defaultConfig'], r)) {
    for (const key of Object.keys(dc)) {
      if (!PROXY_CONFIG_FIELDS.has(key)) unknown.push(`defaultConfig.${withSuggestion(key, PROXY_CONFIG_FIELDS)}`);
      else if (!APPLIED_PROXY_CONFIG_FIELDS.has(key)) notApplied.push(`defaultConfig.${key}`);
    }
    const hold = dc.holdApplicationUntilProxyStarts;
    if (hold !== undefined && typeof hold !== 'boolean') r.error(['defaultConfig', 'holdApplicationUntilProxyStarts'], 'holdApplicationUntilProxyStarts must be true or false');
  }
  if (notApplied.length > 0 || unknown.length > 0) {
    const parts: string[] = [];
    if (notApplied.length > 0) parts.push(`not applied by Meshlet (they configure the Envoy proxy, istiod or telemetry providers, not a client library): ${notApplied.join(', ')}`);
    if (unknown.length > 0) parts.push(`not MeshConfig fields, ignored as istiod ignores them: ${unknown.join(', ')}`);
    r.warn([], `MeshConfig fields ${parts.join('; fields ')}`);
  }
}

function checkConnectTimeout(v: unknown, r: Report): void {
  if (typeof v !== 'string') {
    r.error(['connectTimeout'], 'invalid connect timeout: must be a duration such as "10s"');
    return;
  }
  const d = parseGoDuration(v);
  if (!d.ok) r.error(['connectTimeout'], `invalid connect timeout: ${d.reason}`);
  else if (d.nanos < CONNECT_TIMEOUT_MIN_NS || d.nanos > CONNECT_TIMEOUT_MAX_NS) r.error(['connectTimeout'], `invalid connect timeout: ${v} is out of range 1ms..8760h`);
}

function checkDuration(v: unknown, path: FieldPath, r: Report): void {
  const err = typeof v === 'string' ? checkIstioDuration(v) : 'must be a duration such as "60s"';
  if (err) r.error(path, err);
}

/** agent.ValidateTrustDomain: DNS-1123 labels separated by dots; a trailing dot is allowed. */
function checkTrustDomain(domain: string): string | undefined {
  if (domain === '') return 'empty domain name not allowed';
  const parts = domain.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (i === parts.length - 1 && parts[i] === '') return undefined;
    if (!isDns1123Label(parts[i]!)) return `trust domain name "${domain}" invalid`;
  }
  return undefined;
}

function checkObject(v: unknown, path: FieldPath, r: Report): boolean {
  if (isObject(v)) return true;
  r.error(path, `must be a map of fields, not ${Array.isArray(v) ? 'a list' : typeof v}`);
  return false;
}

function checkStringList(v: unknown, path: FieldPath, r: Report): v is string[] {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return true;
  r.error(path, 'must be a list of strings');
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function prefixed(r: Report, prefix: string): Report {
  return { error: (p, m) => r.error(p, prefix + m), warn: (p, m) => r.warn(p, m) };
}

/** Renames snake_case keys to the JSON names (`connect_timeout` → `connectTimeout`) when that is a field, or any when `fields` is undefined. */
function camelCaseKeys(o: Record<string, unknown>, fields: ReadonlySet<string> | undefined): void {
  for (const key of Object.keys(o)) {
    if (!key.includes('_')) continue;
    const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    const known = fields ? fields.has(camel) || (camel === 'meshMtls' && fields.has('meshMTLS')) : true;
    if (!known || o[camel] !== undefined) continue;
    o[camel === 'meshMtls' ? 'meshMTLS' : camel] = o[key];
    delete o[key];
  }
}

/** `name (did you mean x?)` when a field is one or two edits away. */
function withSuggestion(name: string, fields: ReadonlySet<string>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const f of fields) {
    const d = editDistance(name.toLowerCase(), f.toLowerCase());
    if (d < bestDistance) { best = f; bestDistance = d; }
  }
  return best ? `${name} (did you mean ${best}?)` : name;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
