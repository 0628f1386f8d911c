// The inbound listener istiod sends a proxyless server (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`,
// grpcgen lds.go) → the policy a server helper enforces: its mTLS mode and its RBAC filters.
//
// - mTLS: a filter chain whose transport socket is a DownstreamTlsContext requiring a client
//   certificate is mTLS; when every chain is, the port is STRICT. istiod writes PERMISSIVE (and
//   DISABLE) as a plaintext chain only, since gRPC cannot serve both on one port; Meshlet can,
//   so a port with a plaintext chain is PERMISSIVE here — plaintext is allowed either way, and
//   callers that do use mTLS still get their identity checked.
// - RBAC: the HttpConnectionManager's envoy.filters.http.rbac* filters, in order, translated by
//   rbac.ts; any part that cannot be enforced rejects the listener, naming the field.
// - JWT: an envoy.filters.http.jwt_authn filter (what istiod's sidecar generator writes for
//   RequestAuthentication; its grpc generator writes none), translated by jwt/jwt-filter.ts and
//   run before the RBAC filters, as it sits before them in the chain.

import type { Listener } from '../xds/resources.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';
import { TYPE_URL } from '../xds/resources.ts';
import { DOWNSTREAM_TLS_CONTEXT } from './cluster-tls.ts';
import { RBAC_TYPE_URL } from './rbac-compile.ts';
import type { MtlsMode } from './peer-authentication.ts';
import { translateRbacFilter, type RbacFilter } from './rbac.ts';
import { JWT_AUTHN_TYPE_URL, translateJwtAuthn } from './jwt/jwt-filter.ts';
import type { JwtAuthnConfig } from './jwt/jwt-config.ts';


export interface ServerListenerPolicy {
  readonly mtls: MtlsMode;
  readonly rbac: readonly RbacFilter[];
  /** The listener's jwt_authn filter, run before RBAC; absent when it has none. */
  readonly jwt?: JwtAuthnConfig;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function translateServerListener(l: Listener): Result<ServerListenerPolicy> {
  const at = `Listener ${l.name}`;
  const chains = (l.filterChains ?? []) as unknown[];
  if (chains.length === 0) return fail(`${at}: filterChains: a server listener needs at least one`);
  let tlsChains = 0;
  let rbac: RbacFilter[] | undefined;
  let jwt: JwtAuthnConfig | undefined;
  for (let i = 0; i < chains.length; i++) {
    const chain = chains[i];
    const cat = `${at}: filterChains[${i}]`;
    if (!isObj(chain)) return fail(`${cat}: must be an object`);
    const ts = chain['transportSocket'];
    if (ts !== undefined) {
      const cfg = isObj(ts) ? ts['typedConfig'] : undefined;
      if (!isObj(cfg) || cfg['@type'] !== DOWNSTREAM_TLS_CONTEXT) return fail(`${cat}.transportSocket: only a DownstreamTlsContext is supported`);
      if (cfg['requireClientCertificate'] !== true) return fail(`${cat}.transportSocket.typedConfig.requireClientCertificate: mesh servers require client certificates (one-way TLS is not supported)`);
      tlsChains++;
    }
    const filters = Array.isArray(chain['filters']) ? chain['filters'] : [];
    const hcm = filters.map((f) => (isObj(f) ? f['typedConfig'] : undefined)).find((c): c is Json => isObj(c) && c['@type'] === TYPE_URL.HttpConnectionManager);
    if (!hcm) return fail(`${cat}.filters: no HttpConnectionManager`);
    const chainRbac: RbacFilter[] = [];
    let chainJwt: JwtAuthnConfig | undefined;
    const httpFilters = Array.isArray(hcm['httpFilters']) ? hcm['httpFilters'] : [];
    for (let j = 0; j < httpFilters.length; j++) {
      const f = httpFilters[j];
      const cfg = isObj(f) ? f['typedConfig'] : undefined;
      if (isObj(cfg) && cfg['@type'] === JWT_AUTHN_TYPE_URL) {
        const at = `${cat}.filters[hcm].httpFilters[${j}] (${String((f as Json)['name'])})`;
        if (chainJwt) return fail(`${at}: a second jwt_authn filter is not supported`);
        const r = translateJwtAuthn(cfg, at);
        if (!r.ok) return r;
        chainJwt = r.value;
        continue;
      }
      if (!isObj(cfg) || cfg['@type'] !== RBAC_TYPE_URL) continue;
      const r = translateRbacFilter(cfg, `${cat}.filters[hcm].httpFilters[${j}] (${String((f as Json)['name'])})`);
      if (!r.ok) return r;
      if (r.value) chainRbac.push(r.value);
    }
    // The chains differ in transport only; the first one's filters stand for all.
    if (!rbac) {
      rbac = chainRbac;
      jwt = chainJwt;
    }
  }
  return ok({ mtls: tlsChains === chains.length ? 'STRICT' : 'PERMISSIVE', rbac: rbac ?? [], ...(jwt && { jwt }) });
}
