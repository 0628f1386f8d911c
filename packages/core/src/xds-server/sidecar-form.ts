// `meshlet xds` for a node that asks as an Envoy sidecar (no GENERATOR in its metadata, which is
// how istiod picks its default, sidecar, generator): the same compiled config, in the form
// istiod's sidecar generator (pilot/pkg/networking/core) sends, so Meshlet's sidecar profile can
// run against `meshlet xds` exactly as against istiod.
//
//  - LDS: per port, `0.0.0.0_<port>` (bind_to_port false, OUTBOUND) whose HTTP filter chain's
//    connection manager reads route configuration "<port>"; TCP services of a port as TCP proxy
//    chains; `virtualOutbound` (port 15001, use_original_dst) whose catch-all chain proxies to
//    PassthroughCluster (ALLOW_ANY) or BlackHoleCluster (REGISTRY_ONLY).
//  - RDS: "<port>" holds every HTTP service's virtual host on that port (sorted by name, with
//    all their domains) and the catch-all `*` host: allow_any → PassthroughCluster, or
//    block_all → 502.
//  - CDS: every cluster, plus PassthroughCluster (ORIGINAL_DST) and BlackHoleCluster (STATIC, no
//    endpoints). Transport sockets carry SDS secret names as istio-agent serves them: "default"
//    and "ROOTCA" for Istio mTLS (ALPN istio-peer-exchange, istio; SNI
//    outbound_.<port>_.<subset>_.<host>), file-cert:/file-root: for DestinationRule files.
//  - EDS: unchanged.

import type { Any, Cluster, Listener, RouteConfiguration, VirtualHost, XdsResources } from '../xds/resources.ts';
import { FILTER_NAME, HTTP_PROTOCOL_OPTIONS, TYPE_URL } from '../xds/resources.ts';
import type { CompiledServicePort } from '../istio/compile/routes/compile-service-routes.ts';
import { HCM_FILTER, TCP_PROXY_FILTER, TCP_PROXY_TYPE_URL } from '../snapshot/translate-sidecar-listener.ts';
import { BLACK_HOLE_CLUSTER, PASSTHROUGH_CLUSTER } from '../snapshot/sidecar-services.ts';
import { UPSTREAM_TLS_CONTEXT } from '../security/cluster-tls.ts';

export type OutboundTrafficPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';

/** istiod's ProxyListenPort (MeshConfig default). */
const VIRTUAL_OUTBOUND_PORT = 15001;
const UINT32_MAX = 4294967295;

/**
 * `egressCluster`: ALLOW_ANY with a Sidecar egressProxy — the cluster istiod's catch-alls send
 * hosts outside the mesh to instead of PassthroughCluster.
 */
export function toSidecarForm(proxyless: XdsResources, ports: readonly CompiledServicePort[], outbound: OutboundTrafficPolicy, egressCluster?: string): XdsResources {
  const allowAnyCluster = egressCluster ?? PASSTHROUGH_CLUSTER;
  const out: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: proxyless.endpoints };
  const byPort = new Map<number, { http: CompiledServicePort[]; tcp: CompiledServicePort[] }>();
  for (const p of ports) {
    let e = byPort.get(p.port);
    if (!e) byPort.set(p.port, (e = { http: [], tcp: [] }));
    (p.http ? e.http : e.tcp).push(p);
  }
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const { http, tcp } = byPort.get(port)!;
    const name = `0.0.0.0_${port}`;
    const chains: NonNullable<Listener['filterChains']> = [];
    if (http.length > 0) {
      const rc = String(port);
      out.routeConfigs.set(rc, portRouteTable(rc, http, proxyless, outbound, allowAnyCluster));
      chains.push({ filterChainMatch: { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] }, filters: [{ name: HCM_FILTER, typedConfig: httpConnectionManager(name, rc) }] });
    }
    for (const t of tcp) chains.push({ name: `outbound|${port}||${t.host}`, filters: [tcpProxy(`outbound|${port}||${t.host}`)] });
    out.listeners.set(name, {
      name,
      address: { socketAddress: { address: '0.0.0.0', portValue: port } },
      trafficDirection: 'OUTBOUND',
      bindToPort: false,
      filterChains: chains,
      // What is not HTTP on the port goes where the mesh's catch-all says.
      defaultFilterChain: { name: 'PassthroughFilterChain', filterChainMatch: {}, filters: [tcpProxy(outbound === 'REGISTRY_ONLY' ? BLACK_HOLE_CLUSTER : allowAnyCluster)] },
    });
  }
  const catchAll = outbound === 'REGISTRY_ONLY' ? BLACK_HOLE_CLUSTER : allowAnyCluster;
  out.listeners.set('virtualOutbound', {
    name: 'virtualOutbound',
    address: { socketAddress: { address: '0.0.0.0', portValue: VIRTUAL_OUTBOUND_PORT } },
    useOriginalDst: true,
    trafficDirection: 'OUTBOUND',
    filterChains: [
      // Connections to the listener's own port would loop: istiod black-holes them.
      { name: 'virtualOutbound-blackhole', filterChainMatch: { destinationPort: VIRTUAL_OUTBOUND_PORT }, filters: [tcpProxy(BLACK_HOLE_CLUSTER)] },
      { name: 'virtualOutbound-catchall-tcp', filters: [tcpProxy(catchAll)] },
    ],
  });
  for (const [name, c] of proxyless.clusters) out.clusters.set(name, withSdsSecrets(c));
  out.clusters.set(BLACK_HOLE_CLUSTER, { name: BLACK_HOLE_CLUSTER, type: 'STATIC', connectTimeout: '10s' });
  out.clusters.set(PASSTHROUGH_CLUSTER, {
    name: PASSTHROUGH_CLUSTER,
    type: 'ORIGINAL_DST',
    lbPolicy: 'CLUSTER_PROVIDED',
    connectTimeout: '10s',
    circuitBreakers: { thresholds: [{ maxConnections: UINT32_MAX, maxPendingRequests: UINT32_MAX, maxRequests: UINT32_MAX, maxRetries: UINT32_MAX }] },
    typedExtensionProtocolOptions: { [HTTP_PROTOCOL_OPTIONS]: { '@type': TYPE_URL.HttpProtocolOptions, commonHttpProtocolOptions: { idleTimeout: '300s' } } },
  });
  return out;
}

function portRouteTable(name: string, http: readonly CompiledServicePort[], proxyless: XdsResources, outbound: OutboundTrafficPolicy, allowAnyCluster: string): RouteConfiguration {
  const hosts: VirtualHost[] = [];
  for (const p of http) {
    // The sidecar's table lists each name once, without ports, and matches the Host without its port.
    for (const vh of proxyless.routeConfigs.get(p.routeConfig)?.virtualHosts ?? []) hosts.push({ ...vh, domains: vh.domains.filter((d) => !/:\d+$/.test(d) || d.endsWith(']')) });
  }
  hosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  hosts.push(outbound === 'REGISTRY_ONLY'
    ? { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match: { prefix: '/' }, directResponse: { status: 502 } }], includeRequestAttemptCount: true }
    : { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: allowAnyCluster, timeout: '0s', maxGrpcTimeout: '0s' } }], includeRequestAttemptCount: true });
  return { name, virtualHosts: hosts, validateClusters: false, maxDirectResponseBodySizeBytes: 1048576, ignorePortInHostMatching: true };
}

function httpConnectionManager(listener: string, routeConfigName: string): Any {
  return {
    '@type': TYPE_URL.HttpConnectionManager,
    statPrefix: `outbound_${listener}`,
    rds: { configSource: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' }, routeConfigName },
    httpFilters: [
      { name: FILTER_NAME.fault, typedConfig: { '@type': TYPE_URL.HTTPFault } },
      { name: FILTER_NAME.router, typedConfig: { '@type': TYPE_URL.Router } },
    ],
  };
}

function tcpProxy(cluster: string): { name: string; typedConfig: Any } {
  return { name: TCP_PROXY_FILTER, typedConfig: { '@type': TCP_PROXY_TYPE_URL, statPrefix: cluster, cluster } };
}

// ---- transport sockets: certificate providers → the SDS names istio-agent serves ----------

function sds(name: string): Record<string, unknown> {
  return {
    name,
    sdsConfig: {
      apiConfigSource: { apiType: 'GRPC', transportApiVersion: 'V3', grpcServices: [{ envoyGrpc: { clusterName: 'sds-grpc' } }], setNodeOnFirstMessageOnly: true },
      initialFetchTimeout: '0s',
      resourceApiVersion: 'V3',
    },
  };
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function withSdsSecrets(c: Cluster): Cluster {
  if (!c.transportSocket && !c.transportSocketMatches) return c;
  const out: Cluster = { ...c };
  // outbound|<port>|<subset>|<host> → istiod's SNI for Istio mTLS (model.BuildDNSSrvSubsetKey).
  const [, port = '', subset = '', host = ''] = c.name.split('|');
  const sni = `outbound_.${port}_.${subset}_.${host}`;
  if (c.transportSocket?.typedConfig) out.transportSocket = { ...c.transportSocket, typedConfig: sidecarTlsContext(c.transportSocket.typedConfig, sni) };
  if (c.transportSocketMatches) {
    out.transportSocketMatches = c.transportSocketMatches.map((m) => (m.transportSocket?.typedConfig ? { ...m, transportSocket: { ...m.transportSocket, typedConfig: sidecarTlsContext(m.transportSocket.typedConfig, sni) } } : m));
  }
  return out;
}

function sidecarTlsContext(ctx: Any, sni: string): Any {
  if (ctx['@type'] !== UPSTREAM_TLS_CONTEXT || !isObj(ctx['commonTlsContext'])) return ctx;
  const c = ctx['commonTlsContext'];
  const common: Json = {};
  let istio = false;
  if (isObj(c['tlsCertificateProviderInstance'])) {
    istio = true;
    common['tlsCertificateSdsSecretConfigs'] = [sds('default')];
  } else if (Array.isArray(c['tlsCertificates']) && isObj(c['tlsCertificates'][0])) {
    const t = c['tlsCertificates'][0];
    const file = (v: unknown) => (isObj(v) && typeof v['filename'] === 'string' ? v['filename'] : '');
    common['tlsCertificateSdsSecretConfigs'] = [sds(`file-cert:${file(t['certificateChain'])}~${file(t['privateKey'])}`)];
  } else if (c['tlsCertificateSdsSecretConfigs'] !== undefined) {
    common['tlsCertificateSdsSecretConfigs'] = c['tlsCertificateSdsSecretConfigs'];
  }
  const combined = c['combinedValidationContext'];
  if (isObj(combined)) {
    const d = isObj(combined['defaultValidationContext']) ? combined['defaultValidationContext'] : {};
    const { caCertificateProviderInstance, trustedCa, systemRootCerts, ...rest } = d;
    const root = caCertificateProviderInstance !== undefined || combined['validationContextCertificateProviderInstance'] !== undefined
      ? 'ROOTCA'
      : isObj(trustedCa) && typeof trustedCa['filename'] === 'string' ? `file-root:${trustedCa['filename']}` : systemRootCerts !== undefined ? 'file-root:system' : undefined;
    common['combinedValidationContext'] = { defaultValidationContext: rest, ...(root && { validationContextSdsSecretConfig: sds(root) }) };
  } else if (c['validationContext'] !== undefined) {
    common['validationContext'] = c['validationContext'];
  }
  if (istio) common['alpnProtocols'] = ['istio-peer-exchange', 'istio'];
  else if (c['alpnProtocols'] !== undefined) common['alpnProtocols'] = c['alpnProtocols'];
  const out: Any = { '@type': UPSTREAM_TLS_CONTEXT, commonTlsContext: common };
  const given = ctx['sni'];
  if (typeof given === 'string' && given !== '') out['sni'] = given;
  else if (istio) out['sni'] = sni;
  return out;
}
