// Gateway API routes (gateway.networking.k8s.io) as their YAML spells them: HTTPRoute (v1,
// v1beta1) and GRPCRoute (v1, v1alpha2). Meshlet reads them in the GAMMA sense — routes whose
// parentRefs name a Service (or a ServiceEntry) apply to calls to that service — and compiles
// them through the VirtualService path (compile-gateway-api.ts). Names carry a Gw prefix
// because Istio's VirtualService already has an HTTPRoute type (./types.ts).

import type { IstioObject } from './object-meta.ts';

export interface GwParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface GwBackendObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

export interface GwHTTPHeader {
  name: string;
  value: string;
}

export interface GwHeaderModifier {
  set?: GwHTTPHeader[];
  add?: GwHTTPHeader[];
  remove?: string[];
}

export interface GwPathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface GwRequestRedirect {
  scheme?: 'http' | 'https';
  hostname?: string;
  path?: GwPathModifier;
  port?: number;
  statusCode?: number;
}

export interface GwURLRewrite {
  hostname?: string;
  path?: GwPathModifier;
}

export interface GwRequestMirror {
  backendRef: GwBackendObjectReference;
  percent?: number;
  fraction?: { numerator: number; denominator?: number };
}

export type GwFilterType = 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestMirror' | 'RequestRedirect' | 'URLRewrite' | 'ExtensionRef' | 'CORS' | 'ExternalAuth';

export interface GwRouteFilter {
  type: GwFilterType;
  requestHeaderModifier?: GwHeaderModifier;
  responseHeaderModifier?: GwHeaderModifier;
  requestMirror?: GwRequestMirror;
  requestRedirect?: GwRequestRedirect;
  urlRewrite?: GwURLRewrite;
  extensionRef?: { group: string; kind: string; name: string };
  cors?: unknown;
  /** Experimental channel; Meshlet does not call external authorizers, so such a rule is not programmed. */
  externalAuth?: unknown;
}

export interface GwValueMatch {
  type?: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

export interface GwHTTPRouteMatch {
  path?: { type?: 'Exact' | 'PathPrefix' | 'RegularExpression'; value?: string };
  headers?: GwValueMatch[];
  queryParams?: GwValueMatch[];
  method?: string;
}

export interface GwBackendRef extends GwBackendObjectReference {
  weight?: number;
  filters?: GwRouteFilter[];
}

export interface GwHTTPRouteRule {
  name?: string;
  matches?: GwHTTPRouteMatch[];
  filters?: GwRouteFilter[];
  backendRefs?: GwBackendRef[];
  timeouts?: { request?: string; backendRequest?: string };
  retry?: { codes?: number[]; attempts?: number; backoff?: string };
  sessionPersistence?: unknown;
}

export interface GwHTTPRouteSpec {
  parentRefs?: GwParentReference[];
  hostnames?: string[];
  rules?: GwHTTPRouteRule[];
}

export interface GwGRPCMethodMatch {
  type?: 'Exact' | 'RegularExpression';
  service?: string;
  method?: string;
}

export interface GwGRPCRouteMatch {
  method?: GwGRPCMethodMatch;
  headers?: GwValueMatch[];
}

export interface GwGRPCRouteRule {
  name?: string;
  matches?: GwGRPCRouteMatch[];
  filters?: GwRouteFilter[];
  backendRefs?: GwBackendRef[];
  sessionPersistence?: unknown;
}

export interface GwGRPCRouteSpec {
  parentRefs?: GwParentReference[];
  hostnames?: string[];
  rules?: GwGRPCRouteRule[];
}

export type GatewayHTTPRoute = IstioObject<'HTTPRoute', GwHTTPRouteSpec>;
export type GatewayGRPCRoute = IstioObject<'GRPCRoute', GwGRPCRouteSpec>;
export type GatewayRoute = GatewayHTTPRoute | GatewayGRPCRoute;
