// explain(): the decision for a request, spelled out as JSON, without sending anything. It walks
// the same router as the data path, but lists every weighted cluster instead of drawing one.

import { rewriteText } from './regex/re2.ts';
import type { MeshSnapshot } from './snapshot/mesh-snapshot.ts';
import type { FaultConfig } from './router/fault.ts';
import { hasHeaderMutations, type HeaderMutations } from './router/header-mutations.ts';
import type { PathRewrite } from './router/rewrite.ts';
import type { RequestView } from './router/request-view.ts';
import { routeRequest } from './router/router.ts';
import type { ClientScope } from './router/service-lookup.ts';
import { setCookieHeader } from './router/hash-policy.ts';

export interface Explanation {
  request: { method: string; authority: string; path: string };
  /** 'forward' | 'redirect' | 'direct' | 'passthrough' (not a mesh host) | 'blocked' (not a mesh host, REGISTRY_ONLY) | 'no-route'. */
  action: string;
  /** The host is a service of the mesh that the client's Sidecar leaves out of scope: which, and why. */
  outOfScope?: string;
  service: string | null;
  routeConfig: string | null;
  virtualHost: string | null;
  route: { name: string; index: number; origin: string | null } | null;
  clusters: { name: string; weight: number; percent: number; lbPolicy: string | null; endpoints: { address: string; weight: number; healthy: boolean }[] | null }[];
  timeoutMs: number | null;
  retry: { attempts: number; retryOn: string; perTryTimeoutMs: number; backoffBaseMs: number; retriableStatusCodes: number[]; avoidPreviousHosts: boolean } | null;
  fault: { delayMs: number | null; delayPercent: number; abortStatus: number | null; abortGrpcStatus: number | null; abortPercent: number } | null;
  rewrite: { prefix?: string; regex?: string; substitution?: string; authority?: string } | null;
  requestHeaders: HeaderMutationsJson | null;
  responseHeaders: HeaderMutationsJson | null;
  redirect: { status: number; scheme?: string; host?: string; port?: number; path?: string } | null;
  directResponse: { status: number; body: string } | null;
  mirrors: { cluster: string; percent: number }[];
  /**
   * Consistent hashing (RouteAction.hash_policy), present only when the route hashes: the key
   * this request yields (hex; null = none, so a random endpoint), the cookie the response would
   * set, and the endpoint each RING_HASH / MAGLEV cluster would pick for it. The source IP is not
   * known here, so useSourceIp yields no key.
   */
  consistentHash?: { key: string | null; setCookie: string | null; endpoints: Record<string, string | null> };
  reason: string | null;
}

interface HeaderMutationsJson { set: { name: string; value: string; mode: string }[]; remove: string[] }

export function explainDecision(snapshot: MeshSnapshot, req: RequestView, host: string, port: number, scope: ClientScope, outOfScope?: string): Explanation {
  const out: Explanation = {
    request: { method: req.method, authority: req.authority, path: req.query ? `${req.path}?${req.query}` : req.path },
    action: 'passthrough', service: null, routeConfig: null, virtualHost: null, route: null, clusters: [],
    timeoutMs: null, retry: null, fault: null, rewrite: null, requestHeaders: null, responseHeaders: null,
    redirect: null, directResponse: null, mirrors: [], reason: null,
  };
  const r = routeRequest(snapshot, req, host, port, scope);
  if (r.kind === 'passthrough' || r.kind === 'blocked') {
    if (outOfScope) out.outOfScope = outOfScope;
    if (r.kind === 'blocked') {
      out.action = 'blocked';
      out.reason = outOfScope ? `${r.reason}; ${outOfScope}` : r.reason;
    } else {
      out.reason = outOfScope
        ? `${outOfScope}; the request goes out unchanged, as to any host outside the mesh (ALLOW_ANY)`
        : `${host}:${port} is not a mesh service; the request goes out unchanged`;
    }
    return out;
  }
  out.service = r.service.listener;
  out.routeConfig = r.service.routeConfig;
  if (r.kind === 'no-route') {
    out.action = 'no-route';
    out.reason = r.reason;
    return out;
  }
  const route = r.route;
  out.virtualHost = r.virtualHost.name;
  out.route = { name: route.name, index: route.index, origin: route.origin ?? null };
  out.fault = faultJson(route.fault);
  out.requestHeaders = headersJson(route.requestHeaders);
  out.responseHeaders = headersJson(route.responseHeaders);
  const a = route.action;
  out.action = a.kind;
  if (a.kind === 'redirect') {
    out.redirect = { status: a.status, ...(a.scheme && { scheme: a.scheme }), ...(a.host && { host: a.host }), ...(a.port && { port: a.port }), ...(a.path && { path: a.path }) };
    return out;
  }
  if (a.kind === 'direct') {
    out.directResponse = { status: a.status, body: a.body };
    return out;
  }
  out.clusters = a.clusters.map((c) => {
    const cluster = snapshot.clusters.get(c.name);
    return {
      name: c.name,
      weight: c.weight,
      percent: Math.round((c.weight / a.totalWeight) * 10000) / 100,
      lbPolicy: cluster?.lbPolicy ?? null,
      endpoints: cluster ? cluster.endpoints.map((e) => ({ address: e.key, weight: e.weight, healthy: e.healthy })) : null,
    };
  });
  out.timeoutMs = a.timeoutMs;
  out.retry = a.retry
    ? {
        attempts: a.retry.numRetries,
        retryOn: a.retry.retryOn,
        perTryTimeoutMs: a.retry.perTryTimeoutMs,
        backoffBaseMs: a.retry.baseIntervalMs,
        retriableStatusCodes: [...a.retry.retriableStatusCodes],
        avoidPreviousHosts: a.retry.avoidPreviousHosts,
      }
    : null;
  out.rewrite = rewriteJson(a.rewrite, a.hostRewrite);
  out.mirrors = a.mirrors.map((m) => ({ cluster: m.cluster, percent: m.perMillion / 10000 }));
  if (a.hash) {
    const h = a.hash(req, undefined);
    const endpoints: Record<string, string | null> = {};
    for (const c of a.clusters) {
      const cluster = snapshot.clusters.get(c.name);
      if (cluster && h.hash !== undefined && (cluster.lbPolicy === 'RING_HASH' || cluster.lbPolicy === 'MAGLEV')) endpoints[c.name] = cluster.loadBalancer.pick(undefined, 0, h.hash)?.key ?? null;
    }
    out.consistentHash = { key: h.hash === undefined ? null : h.hash.toString(16).padStart(16, '0'), setCookie: h.setCookie ? setCookieHeader(h.setCookie) : null, endpoints };
  }
  return out;
}

function faultJson(f: FaultConfig | undefined): Explanation['fault'] {
  if (!f) return null;
  return {
    delayMs: f.delayMs ?? null,
    delayPercent: f.delayPerMillion / 10000,
    abortStatus: f.abortStatus ?? null,
    abortGrpcStatus: f.abortGrpcStatus ?? null,
    abortPercent: f.abortPerMillion / 10000,
  };
}

function headersJson(m: HeaderMutations): HeaderMutationsJson | null {
  if (!hasHeaderMutations(m)) return null;
  return { set: m.set.map(([name, value, mode]) => ({ name, value, mode })), remove: [...m.remove] };
}

function rewriteJson(r: PathRewrite | undefined, authority: string | undefined): Explanation['rewrite'] {
  if (!r && authority === undefined) return null;
  const out: NonNullable<Explanation['rewrite']> = {};
  if (r?.kind === 'prefix') out.prefix = r.prefix;
  if (r?.kind === 'regex') { out.regex = r.pattern.source; out.substitution = rewriteText(r.substitution); }
  if (authority !== undefined) out.authority = authority;
  return out;
}
