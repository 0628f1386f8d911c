// DestinationRule `tls` → the Cluster's transport socket (envoy.transport_sockets.tls with an
// UpstreamTlsContext), as istiod writes it:
//  - ISTIO_MUTUAL as the proxyless generator does (grpcgen cds.go buildCommonTLSContext): the
//    workload certificate and the roots from certificate provider instance "default"
//    (certificate names "default" and "ROOTCA"), in the current fields and the deprecated ones
//    older gRPC clients read, and match_subject_alt_names pinning the server's identity: the
//    rule's subjectAltNames, else the SPIFFE IDs of the service's accounts (WorkloadEntry
//    serviceAccount, ServiceEntry subjectAltNames), as the sidecar generator falls back.
//  - SIMPLE and MUTUAL as the sidecar generator does (cluster_tls.go), with file data sources:
//    caCertificates (else the system roots), clientCertificate/privateKey for MUTUAL, sni,
//    subjectAltNames; insecureSkipVerify drops the validation context (Envoy then accepts any
//    server certificate). grpcgen leaves these two as TODO; Meshlet honours them.
//  - credentialName (a Kubernetes secret istiod serves over SDS) is written as the SDS reference
//    the sidecar gets, which the translator refuses by name: no silent plaintext.

import type { Any, Cluster, StringMatcher } from '../../../xds/resources.ts';
import { TLS_TRANSPORT_SOCKET, UPSTREAM_TLS_CONTEXT } from '../../../security/cluster-tls.ts';
import { parseSpiffeId, SPIFFE_SCHEME, spiffeId } from '../../../security/spiffe.ts';
import type { MeshService } from '../../service-model.ts';
import type { ClientTLSSettings } from '../../types.ts';

const PROVIDER = 'default';

/** The mesh's trust domain and its aliases (MeshConfig trustDomain, trustDomainAliases). */
export interface TrustDomains {
  readonly trustDomain: string;
  readonly trustDomainAliases: readonly string[];
}

export function applyClientTls(c: Cluster, tls: ClientTLSSettings | undefined, svc: MeshService, trustDomain: TrustDomains, autoMtls = false): void {
  if ((!tls || tls.mode === undefined) && autoMtls) {
    // Auto-mTLS, as the sidecar generator writes it (cluster_builder.go buildAutoMtlsSettings):
    // Istio mTLS to endpoints marked tlsMode "istio", plaintext to the rest.
    c.transportSocketMatches = [
      { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transportSocket: { name: TLS_TRANSPORT_SOCKET, typedConfig: istioMutual({ mode: 'ISTIO_MUTUAL' }, serviceIdentities(svc, trustDomain)) } },
      { name: 'tlsMode-disabled', match: {}, transportSocket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ];
    return;
  }
  if (!tls || tls.mode === undefined || tls.mode === 'DISABLE') return;
  const ctx = tls.mode === 'ISTIO_MUTUAL' ? istioMutual(tls, serviceIdentities(svc, trustDomain)) : fileTls(tls);
  c.transportSocket = { name: TLS_TRANSPORT_SOCKET, typedConfig: ctx };
}

/**
 * The commonTlsContext istiod's grpc generator writes for Istio mTLS (buildCommonTLSContext): the
 * workload certificate and the roots from provider instance "default", in the current fields and
 * the deprecated ones older gRPC implementations read; `sans` pins the peer's identity.
 */
export function istioCommonTlsContext(sans: readonly string[]): Record<string, unknown> {
  const cert = { instanceName: PROVIDER, certificateName: 'default' };
  const root = { instanceName: PROVIDER, certificateName: 'ROOTCA' };
  return {
    tlsCertificateProviderInstance: cert,
    tlsCertificateCertificateProviderInstance: cert,
    combinedValidationContext: {
      defaultValidationContext: { ...(sans.length > 0 && { matchSubjectAltNames: exact(sans) }), caCertificateProviderInstance: root },
      validationContextCertificateProviderInstance: root,
    },
  };
}

function istioMutual(tls: ClientTLSSettings, accounts: string[]): Any {
  const sans = tls.subjectAltNames?.length ? tls.subjectAltNames : accounts;
  const ctx: Any = { '@type': UPSTREAM_TLS_CONTEXT, commonTlsContext: istioCommonTlsContext(sans) };
  if (tls.sni) ctx['sni'] = tls.sni;
  return ctx;
}

function fileTls(tls: ClientTLSSettings): Any {
  const common: Record<string, unknown> = {};
  if (tls.mode === 'MUTUAL') {
    if (tls.credentialName) {
      common['tlsCertificateSdsSecretConfigs'] = [{ name: `kubernetes://${tls.credentialName}` }];
    } else {
      common['tlsCertificates'] = [{ certificateChain: { filename: tls.clientCertificate ?? '' }, privateKey: { filename: tls.privateKey ?? '' } }];
    }
  }
  if (!tls.insecureSkipVerify) {
    const vc: Record<string, unknown> = {};
    if (tls.caCertificates) vc['trustedCa'] = { filename: tls.caCertificates };
    else vc['systemRootCerts'] = {};
    if (tls.subjectAltNames?.length) vc['matchSubjectAltNames'] = exact(tls.subjectAltNames);
    common['combinedValidationContext'] = { defaultValidationContext: vc };
  }
  const ctx: Any = { '@type': UPSTREAM_TLS_CONTEXT, commonTlsContext: common };
  if (tls.sni) ctx['sni'] = tls.sni;
  return ctx;
}

/**
 * The SPIFFE IDs a service's endpoints run as (istiod's PushContext.ServiceAccounts), each also
 * under every trust domain alias (spiffe.ExpandWithTrustDomains), sorted.
 */
export function serviceIdentities(svc: MeshService, trust: TrustDomains): string[] {
  const ids = new Set<string>();
  for (const san of svc.subjectAltNames) ids.add(san);
  for (const ep of svc.endpoints) if (ep.serviceAccount) ids.add(spiffeId(trust.trustDomain, ep.namespace, ep.serviceAccount));
  for (const id of [...ids]) {
    const parts = parseSpiffeId(id);
    if (!parts) continue;
    const path = id.slice(SPIFFE_SCHEME.length + parts.trustDomain.length);
    for (const alias of trust.trustDomainAliases) ids.add(`${SPIFFE_SCHEME}${alias}${path}`);
  }
  return [...ids].sort();
}

function exact(values: readonly string[]): StringMatcher[] {
  return values.map((v) => ({ exact: v }));
}
