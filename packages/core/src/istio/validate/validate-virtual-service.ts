// VirtualService rules from istiod's webhook (istio/istio pkg/config/validation/validation.go,
// ValidateVirtualService): hosts, gateways, delegate restrictions, each HTTP/TLS/TCP route,
// exportTo, and the unreachable-rule warnings. Runs after the schema check.

import type { Destination, VirtualServiceSpec } from '../types.ts';
import {
  checkExportTo,
  checkGatewayNames,
  checkIpOrCidr,
  checkLabels,
  checkPort,
  checkWildcardDomain,
  hostSubsetOf,
  hostsOverlap,
  isIpAddress,
  isJwtClaimHeader,
  type FieldPath,
  type Report,
  type ValidationContext,
} from './validate-common.ts';
import { checkRouteDestinations, validateHttpRoute, type HttpRouteInput } from './validate-http-route.ts';

const MESH_GATEWAY = 'mesh';

interface L4Match {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sniHosts?: string[];
}

interface L4Route {
  match?: L4Match[];
  route?: { destination: Destination; weight?: number }[];
}

export function validateVirtualService(spec: VirtualServiceSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  const hosts = spec.hosts ?? [];
  const gateways = spec.gateways ?? [];
  const http = (spec.http ?? []) as HttpRouteInput[];
  const tcp = (spec.tcp ?? []) as L4Route[];
  const tls = (spec.tls ?? []) as L4Route[];
  const isDelegate = hosts.length === 0;

  if (isDelegate) {
    // A VirtualService without hosts is only reachable through another one's delegate.
    if (gateways.length) r.error(['spec', 'gateways'], 'a delegate VirtualService (no hosts) cannot set gateways');
    if (tls.length) r.error(['spec', 'tls'], 'a delegate VirtualService (no hosts) cannot have tls routes');
    if (tcp.length) r.error(['spec', 'tcp'], 'a delegate VirtualService (no hosts) cannot have tcp routes');
  }

  // Bound to gateways only (not to the sidecars' implicit "mesh" gateway).
  const gatewayOnly = gateways.length > 0 && !gateways.includes(MESH_GATEWAY);
  if (gateways.length) checkGatewayNames(gateways, ['spec', 'gateways'], r);

  if (!gatewayOnly) {
    http.forEach((route, i) => {
      (route.match ?? []).forEach((m, j) => {
        for (const field of ['headers', 'withoutHeaders'] as const) {
          for (const name of Object.keys(m[field] ?? {})) {
            if (isJwtClaimHeader(name)) {
              r.error(['spec', 'http', i, 'match', j, field, name], 'routing on JWT claims only works for VirtualServices bound to gateways');
            }
          }
        }
      });
    });
  }

  const sni = tls.some((t) => (t.match ?? []).some((m) => (m.sniHosts?.length ?? 0) > 0));
  let allHostsValid = true;
  hosts.forEach((host, i) => {
    const err = gatewayOnly ? checkGatewayBoundHost(host, sni) : checkWildcardDomain(host);
    if (err) {
      if (!isIpAddress(host)) {
        r.error(['spec', 'hosts', i], err);
        allHostsValid = false;
      }
    } else if (!gatewayOnly && host === '*') {
      r.error(['spec', 'hosts', i], 'host "*" is not allowed for VirtualServices that apply to the mesh (sidecars)');
      allHostsValid = false;
    }
  });
  if (allHostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostsOverlap(hosts[i] as string, hosts[j] as string)) {
          r.error(['spec', 'hosts', j], `hosts "${hosts[i]}" and "${hosts[j]}" overlap; each host may appear once`);
        }
      }
    }
  }

  if (http.length === 0 && tcp.length === 0 && tls.length === 0) {
    r.error(['spec'], 'a VirtualService needs at least one http, tcp or tls route');
  }
  http.forEach((route, i) => validateHttpRoute(route, ['spec', 'http', i], isDelegate, r));
  tls.forEach((route, i) => validateTlsRoute(route, ['spec', 'tls', i], hosts, gateways, r));
  tcp.forEach((route, i) => validateTcpRoute(route, ['spec', 'tcp', i], r));

  checkExportTo(spec.exportTo, { namespace: ctx.namespace, isServiceEntry: false, drWithSelector: false }, ['spec', 'exportTo'], r);
  // Unreachable rules and matches are findings of the analyzers (analyze-unreachable-rules.ts).
}

/**
 * Hosts of a VirtualService bound to gateways. With TLS SNI routes, istiod also accepts the names
 * it generates for AUTO_PASSTHROUGH gateways: outbound_.<port>_._.<hostname>.
 */
function checkGatewayBoundHost(host: string, sni: boolean): string | undefined {
  if (sni && host.startsWith('outbound_') && host.length <= 255) {
    const parts = host.split('_');
    if (parts.length < 4) return `host "${host}" must look like outbound_.<PORT>_._.<HOSTNAME>`;
    const port = (parts[1] ?? '').replace(/^\.+|\.+$/g, '');
    const hostname = (parts[3] ?? '').replace(/^\.+|\.+$/g, '');
    if (parts[0] !== 'outbound') return `host "${host}" is invalid: "${parts[0]}" should be "outbound"`;
    if (!/[0-9]/.test(port)) return `host "${host}" must look like outbound_.<PORT>_._.<HOSTNAME> (bad port "${port}")`;
    if (!/[a-zA-Z]/.test(hostname)) return `host "${host}" must look like outbound_.<PORT>_._.<HOSTNAME> (bad hostname "${hostname}")`;
    return undefined;
  }
  return checkWildcardDomain(host);
}

function checkL4Match(m: L4Match, path: FieldPath, r: Report): void {
  (m.destinationSubnets ?? []).forEach((s, k) => {
    const err = checkIpOrCidr(s);
    if (err) r.error([...path, 'destinationSubnets', k], err);
  });
  if (m.port !== undefined && m.port !== 0) {
    const err = checkPort(m.port);
    if (err) r.error([...path, 'port'], err);
  }
  checkLabels(m.sourceLabels, [...path, 'sourceLabels'], r);
  checkGatewayNames(m.gateways, [...path, 'gateways'], r);
}

function validateTcpRoute(route: L4Route, path: FieldPath, r: Report): void {
  (route.match ?? []).forEach((m, j) => checkL4Match(m, [...path, 'match', j], r));
  if ((route.route?.length ?? 0) === 0) r.error([...path, 'route'], 'a tcp route needs at least one destination');
  checkRouteDestinations(route.route, [...path, 'route'], r);
}

function validateTlsRoute(route: L4Route, path: FieldPath, hosts: readonly string[], gateways: readonly string[], r: Report): void {
  const matches = route.match ?? [];
  if (matches.length === 0) r.error([...path, 'match'], 'a tls route needs at least one match');
  // istiod treats a route that does not name the "mesh" gateway (even one with no gateways) as gateway-bound here.
  const gatewayBound = !gateways.includes(MESH_GATEWAY);
  matches.forEach((m, j) => {
    const mp = [...path, 'match', j];
    const sniHosts = m.sniHosts ?? [];
    if (sniHosts.length === 0) r.error([...mp, 'sniHosts'], 'a tls match needs at least one SNI host');
    sniHosts.forEach((sniHost, k) => checkSniHost(sniHost, hosts, gatewayBound, [...mp, 'sniHosts', k], r));
    checkL4Match(m, mp, r);
  });
  if ((route.route?.length ?? 0) === 0) r.error([...path, 'route'], 'a tls route needs at least one destination');
  checkRouteDestinations(route.route, [...path, 'route'], r);
}

function checkSniHost(sniHost: string, hosts: readonly string[], gatewayBound: boolean, path: FieldPath, r: Report): void {
  const err = gatewayBound ? checkGatewayBoundHost(sniHost, true) : checkWildcardDomain(sniHost);
  if (err) {
    if (isIpAddress(sniHost)) r.warn(path, `SNI host "${sniHost}" is an IP address; SNI does not carry IPs and most clients will not send it`);
    else r.error(path, err);
    return;
  }
  if (!hosts.some((h) => hostSubsetOf(sniHost, h))) {
    r.error(path, `SNI host "${sniHost}" is not covered by any of the VirtualService hosts [${hosts.join(', ')}]`);
  }
}
