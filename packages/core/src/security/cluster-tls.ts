// A Cluster's transport socket (envoy.transport_sockets.tls with an UpstreamTlsContext) → the
// TLS settings the transports apply. Accepts what istiod writes for proxyless clients
// (certificate provider instances "default", certificate names "default" and "ROOTCA", in both
// the current and the deprecated fields), what its sidecar form writes for SIMPLE/MUTUAL (file
// or inline data sources, sni, SAN matchers), what it writes an Envoy sidecar (SDS secrets named
// as istio-agent serves them: "default"/"ROOTCA" for the workload certificate, file-cert: and
// file-root: for DestinationRule files), and refuses — naming the field — anything whose
// meaning would be lost, such as a credentialName secret: a cluster whose TLS cannot be honoured
// is rejected whole, never downgraded to plaintext.

import type { StringMatcher } from '../xds/resources.ts';
import { compileStringMatcher } from '../xds/string-matcher.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const DOWNSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const RAW_BUFFER = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

/** Where PEM text comes from. */
export type PemSource =
  /** A certificate provider instance of the bootstrap (or createMesh({ certs })), and which certificate of it. */
  | { readonly kind: 'provider'; readonly instance: string; readonly certificateName: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'inline'; readonly pem: string };

export interface SanMatcher {
  /** 'URI', 'DNS', ... or undefined for any SAN type (match_subject_alt_names). */
  readonly sanType: string | undefined;
  /** As shown in errors: the exact value, or 'prefix:...' etc. */
  readonly text: string;
  readonly test: (value: string) => boolean;
}

export interface ClusterTls {
  /** The client certificate and key; undefined for one-way TLS (SIMPLE). */
  readonly certificate: { readonly chain: PemSource; readonly key: PemSource } | undefined;
  /**
   * Roots that verify the server: a source, the system store, or 'none' when the cluster has no
   * validation context (Envoy then accepts any server certificate: insecureSkipVerify).
   */
  readonly trust: PemSource | { readonly kind: 'system' } | { readonly kind: 'none' };
  /** The server must present a SAN matching one of these; empty = any verified server. */
  readonly subjectAltNames: readonly SanMatcher[];
  readonly sni: string | undefined;
  readonly alpn: readonly string[];
}

/** One transport socket match: endpoints whose metadata has every `match` entry get `tls`. */
export interface TlsMatch {
  readonly match: Readonly<Record<string, string>>;
  /** undefined = plaintext (raw_buffer). */
  readonly tls: ClusterTls | undefined;
}

/** The transport socket one endpoint of a cluster gets (chosen by snapshot/endpoint-tls.ts). */
export interface EndpointTransport {
  /** undefined = plaintext. */
  readonly tls: ClusterTls | undefined;
  /**
   * '' for the cluster's own transport socket, ' #<n>' for its nth match: transports keep one
   * connection pool per cluster and slot.
   */
  readonly slot: string;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Translates Cluster.transportSocketMatches. Any entry that does not translate rejects the
 * cluster, as a bad transportSocket does: dropping it could send an endpoint's traffic in plaintext.
 */
export function translateTransportSocketMatches(cluster: string, matches: readonly { name?: string; match?: Json; transportSocket?: { name: string; typedConfig?: Json } }[] | undefined): Result<TlsMatch[]> {
  const out: TlsMatch[] = [];
  for (let i = 0; i < (matches ?? []).length; i++) {
    const m = matches![i]!;
    const at = `Cluster ${cluster}: transportSocketMatches[${i}]${m.name ? ` (${m.name})` : ''}`;
    const match: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.match ?? {})) {
      if (typeof v !== 'string') return fail(`${at}.match.${k}: only string values are supported`);
      match[k] = v;
    }
    if (!m.transportSocket) return fail(`${at}.transportSocket: required`);
    const tls = translateTransportSocket(cluster, m.transportSocket);
    if (!tls.ok) return fail(`${at}: ${tls.error}`);
    out.push({ match, tls: tls.value });
  }
  return ok(out.slice()); // exact size: it is kept as long as the cluster (message-decoder.ts's trimLists)
}

/** Translates Cluster.transportSocket; undefined when the cluster is plaintext. */
export function translateTransportSocket(cluster: string, ts: { name?: string; typedConfig?: Json } | undefined): Result<ClusterTls | undefined> {
  if (ts === undefined) return ok(undefined);
  const at = `Cluster ${cluster}: transportSocket`;
  const cfg = ts.typedConfig;
  const type = cfg?.['@type'];
  // Plaintext: by name alone, or with its (empty) RawBuffer config as istiod's sidecar form writes it.
  if (ts.name === 'envoy.transport_sockets.raw_buffer' && (!cfg || type === RAW_BUFFER)) return ok(undefined);
  if (ts.name !== TLS_TRANSPORT_SOCKET && type !== UPSTREAM_TLS_CONTEXT) {
    return fail(`${at}.name: ${JSON.stringify(ts.name)} is not supported (only ${TLS_TRANSPORT_SOCKET})`);
  }
  if (!isObj(cfg) || type !== UPSTREAM_TLS_CONTEXT) return fail(`${at}.typedConfig: must be an ${UPSTREAM_TLS_CONTEXT}`);
  const common = cfg['commonTlsContext'];
  if (common !== undefined && !isObj(common)) return fail(`${at}.typedConfig.commonTlsContext: must be an object`);
  const c = common ?? {};
  const ctxAt = `${at}.typedConfig.commonTlsContext`;

  const sdsCerts = c['tlsCertificateSdsSecretConfigs'];
  if (sdsCerts !== undefined && (!Array.isArray(sdsCerts) || sdsCerts.length > 1)) return fail(`${ctxAt}.tlsCertificateSdsSecretConfigs: at most one secret is supported`);
  if (c['tlsCertificateCertificateProvider'] !== undefined || c['validationContextCertificateProvider'] !== undefined) {
    return fail(`${ctxAt}: inline certificate provider plugins are not supported; use certificate provider instances`);
  }

  // Client certificate: the current provider field, the deprecated one istiod also sends, or files.
  let certificate: ClusterTls['certificate'];
  const inst = c['tlsCertificateProviderInstance'] ?? c['tlsCertificateCertificateProviderInstance'];
  if (Array.isArray(sdsCerts) && sdsCerts.length === 1) {
    const r = sdsCertificate(sdsCerts[0], `${ctxAt}.tlsCertificateSdsSecretConfigs[0]`);
    if (!r.ok) return r;
    certificate = r.value;
  } else if (inst !== undefined) {
    const r = providerRef(inst, `${ctxAt}.tlsCertificateProviderInstance`, 'default');
    if (!r.ok) return r;
    certificate = { chain: r.value, key: r.value };
  } else if (c['tlsCertificates'] !== undefined) {
    const list = c['tlsCertificates'];
    if (!Array.isArray(list) || list.length !== 1 || !isObj(list[0])) return fail(`${ctxAt}.tlsCertificates: exactly one certificate is supported`);
    const chain = dataSource(list[0]['certificateChain'], `${ctxAt}.tlsCertificates[0].certificateChain`);
    if (!chain.ok) return chain;
    const key = dataSource(list[0]['privateKey'], `${ctxAt}.tlsCertificates[0].privateKey`);
    if (!key.ok) return key;
    certificate = { chain: chain.value, key: key.value };
  }

  // Validation: a plain validationContext, or the combined form (default context + CA provider).
  let vc: Json | undefined;
  let vcAt = `${ctxAt}.validationContext`;
  let caProvider: unknown;
  let sdsTrust: unknown;
  let sdsTrustAt = `${ctxAt}.validationContextSdsSecretConfig`;
  if (c['validationContextSdsSecretConfig'] !== undefined) {
    sdsTrust = c['validationContextSdsSecretConfig'];
    vc = {};
  } else if (c['validationContext'] !== undefined) {
    if (!isObj(c['validationContext'])) return fail(`${vcAt}: must be an object`);
    vc = c['validationContext'];
  } else if (c['combinedValidationContext'] !== undefined) {
    const combined = c['combinedValidationContext'];
    if (!isObj(combined)) return fail(`${ctxAt}.combinedValidationContext: must be an object`);
    vcAt = `${ctxAt}.combinedValidationContext.defaultValidationContext`;
    const d = combined['defaultValidationContext'];
    if (d !== undefined && !isObj(d)) return fail(`${vcAt}: must be an object`);
    vc = d ?? {};
    caProvider = combined['validationContextCertificateProviderInstance'];
    sdsTrust = combined['validationContextSdsSecretConfig'];
    sdsTrustAt = `${ctxAt}.combinedValidationContext.validationContextSdsSecretConfig`;
  }

  let trust: ClusterTls['trust'] = { kind: 'none' };
  const sans: SanMatcher[] = [];
  if (vc) {
    const provider = vc['caCertificateProviderInstance'] ?? caProvider;
    if (sdsTrust !== undefined) {
      const r = sdsRoots(sdsTrust, sdsTrustAt);
      if (!r.ok) return r;
      trust = r.value;
    } else if (provider !== undefined) {
      const r = providerRef(provider, `${vcAt}.caCertificateProviderInstance`, 'ROOTCA');
      if (!r.ok) return r;
      trust = r.value;
    } else if (vc['trustedCa'] !== undefined) {
      const r = dataSource(vc['trustedCa'], `${vcAt}.trustedCa`);
      if (!r.ok) return r;
      trust = r.value;
    } else if (vc['systemRootCerts'] !== undefined) {
      trust = { kind: 'system' };
    }
    if (vc['trustChainVerification'] === 'ACCEPT_UNTRUSTED') trust = { kind: 'none' };
    for (const key of ['verifyCertificateHash', 'verifyCertificateSpki', 'crl', 'customValidatorConfig'] as const) {
      if (vc[key] !== undefined && !(Array.isArray(vc[key]) && vc[key].length === 0)) return fail(`${vcAt}.${key}: not supported`);
    }
    const plain = vc['matchSubjectAltNames'];
    if (plain !== undefined) {
      if (!Array.isArray(plain)) return fail(`${vcAt}.matchSubjectAltNames: must be a list`);
      for (let i = 0; i < plain.length; i++) {
        const m = sanMatcher(plain[i], undefined, `${vcAt}.matchSubjectAltNames[${i}]`);
        if (!m.ok) return m;
        sans.push(m.value);
      }
    }
    const typed = vc['matchTypedSubjectAltNames'];
    if (typed !== undefined) {
      if (!Array.isArray(typed)) return fail(`${vcAt}.matchTypedSubjectAltNames: must be a list`);
      for (let i = 0; i < typed.length; i++) {
        const t = typed[i];
        const f = `${vcAt}.matchTypedSubjectAltNames[${i}]`;
        if (!isObj(t)) return fail(`${f}: must be an object`);
        const sanType = t['sanType'];
        if (sanType !== 'URI' && sanType !== 'DNS' && sanType !== 'EMAIL' && sanType !== 'IP_ADDRESS') return fail(`${f}.sanType: ${JSON.stringify(sanType)} must be URI, DNS, EMAIL or IP_ADDRESS`);
        const m = sanMatcher(t['matcher'], sanType, `${f}.matcher`);
        if (!m.ok) return m;
        sans.push(m.value);
      }
    }
    // Envoy refuses SAN checks without a trust anchor: a name on an unverified certificate proves nothing.
    if (sans.length > 0 && trust.kind === 'none') return fail(`${vcAt}: SAN matching needs a trusted CA (trustedCa, caCertificateProviderInstance, systemRootCerts or an SDS root)`);
  }

  const sni = cfg['sni'];
  if (sni !== undefined && typeof sni !== 'string') return fail(`${at}.typedConfig.sni: must be a string`);
  const alpn = c['alpnProtocols'];
  if (alpn !== undefined && (!Array.isArray(alpn) || alpn.some((a) => typeof a !== 'string'))) return fail(`${ctxAt}.alpnProtocols: must be a list of strings`);
  return ok({ certificate, trust, subjectAltNames: sans, sni: sni || undefined, alpn: meshAlpn((alpn as string[] | undefined) ?? []) });
}

function providerRef(v: unknown, field: string, defaultName: string): Result<PemSource> {
  if (!isObj(v)) return fail(`${field}: must be an object`);
  const instance = v['instanceName'];
  if (typeof instance !== 'string' || instance === '') return fail(`${field}.instanceName: required`);
  const name = v['certificateName'];
  if (name !== undefined && typeof name !== 'string') return fail(`${field}.certificateName: must be a string`);
  return ok({ kind: 'provider', instance, certificateName: name || defaultName });
}

function dataSource(v: unknown, field: string): Result<PemSource> {
  if (!isObj(v)) return fail(`${field}: must be a data source (filename or inlineString)`);
  if (typeof v['filename'] === 'string' && v['filename'] !== '') return ok({ kind: 'file', path: v['filename'] });
  if (typeof v['inlineString'] === 'string' && v['inlineString'] !== '') return ok({ kind: 'inline', pem: v['inlineString'] });
  if (typeof v['inlineBytes'] === 'string' && v['inlineBytes'] !== '') return ok({ kind: 'inline', pem: Buffer.from(v['inlineBytes'], 'base64').toString('utf8') });
  if (v['environmentVariable'] !== undefined) return fail(`${field}.environmentVariable: not supported; use filename or inlineString`);
  return fail(`${field}: needs filename, inlineString or inlineBytes`);
}

function sanMatcher(v: unknown, sanType: string | undefined, field: string): Result<SanMatcher> {
  if (!isObj(v)) return fail(`${field}: must be a string matcher`);
  const sm = v as StringMatcher;
  let test: (s: string) => boolean;
  try {
    test = compileStringMatcher(sm, field);
  } catch (err) {
    return fail((err as Error).message);
  }
  const text = sm.exact ?? (sm.prefix !== undefined ? `prefix:${sm.prefix}` : sm.suffix !== undefined ? `suffix:${sm.suffix}` : sm.contains !== undefined ? `contains:${sm.contains}` : `regex:${sm.safeRegex?.regex}`);
  return ok({ sanType, text, test });
}

// SDS secrets by the names istio-agent serves them under (istio/istio pkg/security
// SdsCertificateConfig): the agent's own answers are the workload certificate and files on
// disk, so Meshlet reads the same sources directly instead of fetching them over SDS. A secret
// the agent would fetch from elsewhere (a Kubernetes credentialName) cannot be honoured here,
// and rejects the cluster.
const SDS_WORKLOAD = 'default';
const SDS_ROOT = 'ROOTCA';

function sdsName(v: unknown, field: string): Result<string> {
  if (!isObj(v) || typeof v['name'] !== 'string' || v['name'] === '') return fail(`${field}.name: required`);
  return ok(v['name']);
}

function sdsCertificate(v: unknown, field: string): Result<NonNullable<ClusterTls['certificate']>> {
  const n = sdsName(v, field);
  if (!n.ok) return n;
  if (n.value === SDS_WORKLOAD) {
    const src: PemSource = { kind: 'provider', instance: 'default', certificateName: 'default' };
    return ok({ chain: src, key: src });
  }
  if (n.value.startsWith('file-cert:')) {
    const [chain, key, ...rest] = n.value.slice('file-cert:'.length).split('~');
    if (!chain || !key || rest.length > 0) return fail(`${field}.name: ${JSON.stringify(n.value)} is not file-cert:<chain>~<key>`);
    return ok({ chain: { kind: 'file', path: chain }, key: { kind: 'file', path: key } });
  }
  return fail(`${field}.name: SDS secret ${JSON.stringify(n.value)} is not one Meshlet can read (the workload's "default", or "file-cert:<chain>~<key>"); a credentialName secret is for a gateway`);
}

function sdsRoots(v: unknown, field: string): Result<ClusterTls['trust']> {
  const n = sdsName(v, field);
  if (!n.ok) return n;
  if (n.value === SDS_ROOT) return ok({ kind: 'provider', instance: 'default', certificateName: SDS_ROOT });
  if (n.value === 'file-root:system') return ok({ kind: 'system' });
  if (n.value.startsWith('file-root:') && n.value.length > 'file-root:'.length) return ok({ kind: 'file', path: n.value.slice('file-root:'.length) });
  return fail(`${field}.name: SDS secret ${JSON.stringify(n.value)} is not one Meshlet can read (the workload's "ROOTCA", or "file-root:<ca file>")`);
}

/**
 * The sidecar generator writes Istio mTLS clusters' ALPN as ["istio-peer-exchange", "istio"]:
 * the metadata-exchange marker and the in-mesh name, which Envoy's istio.alpn filter replaces
 * per request with the protocol's own ("istio-http/1.1", "istio-h2"). Read as no list, so the
 * transports offer those themselves, as that filter makes Envoy do.
 */
function meshAlpn(alpn: readonly string[]): readonly string[] {
  const rest = alpn.filter((a) => a !== 'istio-peer-exchange');
  return rest.length === alpn.length ? alpn : rest.filter((a) => a !== 'istio');
}
