// ServiceEntry rules: the CRD's CEL rules and istiod's webhook (istio/istio validation.go
// ValidateServiceEntry): hosts, addresses, ports, and which endpoints each resolution mode
// allows. Runs after the schema check.

import type { ServiceEntrySpec, WorkloadEntrySpec } from '../types.ts';
import {
  checkExportTo,
  checkFqdn,
  checkIpOrCidr,
  checkPartialWildcard,
  checkPort,
  checkSelectorLabels,
  checkWildcardDomain,
  isDns1123Label,
  isHttpProtocol,
  isTcpProtocol,
  isTlsProtocol,
  isWildcardHost,
  parseProtocol,
  type ValidationContext,
} from './validate-common.ts';
import { checkWorkloadEntryBasics, checkWorkloadEntryEndpoint } from './validate-workload-entry.ts';

type Resolution = NonNullable<ServiceEntrySpec['resolution']> | 'DYNAMIC_DNS';

const AUTOALLOCATE_LABEL = 'networking.istio.io/enable-autoallocate-ip';
const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';

export function validateServiceEntry(spec: ServiceEntrySpec, ctx: ValidationContext): void {
  const r = ctx.report;
  const resolution: Resolution = (spec.resolution as Resolution | undefined) ?? 'NONE';
  const hosts = spec.hosts;
  const addresses = spec.addresses ?? [];
  const ports = spec.ports ?? [];

  if (spec.workloadSelector !== undefined) {
    checkSelectorLabels(spec.workloadSelector.labels, ['spec', 'workloadSelector', 'labels'], r,
      'workloadSelector has no labels, so the ServiceEntry selects every workload in the namespace');
    if (spec.endpoints !== undefined) r.error(['spec', 'endpoints'], 'only one of workloadSelector and endpoints may be set');
  }

  hosts.forEach((host, i) => {
    if (host === '*') {
      r.error(['spec', 'hosts', i], 'host cannot be the bare wildcard "*"');
      return;
    }
    const err = checkWildcardDomain(host);
    if (err) r.error(['spec', 'hosts', i], err);
    else if (resolution !== 'DYNAMIC_DNS') {
      const partial = checkPartialWildcard(host);
      if (partial) r.warn(['spec', 'hosts', i], partial);
    }
  });

  let cidr = false;
  addresses.forEach((a, i) => {
    if (a.includes('/')) cidr = true;
    const err = checkIpOrCidr(a);
    if (err) r.error(['spec', 'addresses', i], err);
  });
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') {
    r.error(['spec', 'addresses'], `CIDR addresses are only allowed with resolution NONE or STATIC (this one is ${resolution})`);
  }

  // istiod gives a ServiceEntry without addresses a virtual IP unless resolution is NONE or the
  // owner opted out; without one, a TCP port cannot be told apart from other services.
  const autoAllocate = resolution !== 'NONE' && (ctx.labels[AUTOALLOCATE_LABEL] ?? '').toLowerCase() !== 'false' && addresses.length === 0;
  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  ports.forEach((port, i) => {
    const pp = ['spec', 'ports', i];
    if (portNames.has(port.name)) r.error([...pp, 'name'], `port name "${port.name}" is used twice`);
    portNames.add(port.name);
    if (portNumbers.has(port.number)) r.error([...pp, 'number'], `port ${port.number} is listed twice`);
    portNumbers.add(port.number);
    if (port.targetPort !== undefined) {
      const err = checkPort(port.targetPort);
      if (err) r.error([...pp, 'targetPort'], err);
    }
    if (addresses.length === 0 && !autoAllocate && (port.protocol === undefined || port.protocol === '' || port.protocol === 'TCP')) {
      r.warn(pp, 'a TCP (or unset) protocol port needs addresses when IP auto-allocation does not apply');
    }
    if (!isDns1123Label(port.name)) r.error([...pp, 'name'], `port name "${port.name}" is not a DNS-1123 label`);
    if (port.protocol && !parseProtocol(port.protocol)) r.error([...pp, 'protocol'], `unknown protocol "${port.protocol}"`);
    const err = checkPort(port.number);
    if (err) r.error([...pp, 'number'], err);
  });

  const endpoints = spec.endpoints ?? [];
  endpoints.forEach((ep, i) => checkWorkloadEntryBasics(ep, ['spec', 'endpoints', i], r));
  checkResolution(spec, resolution, portNames, ctx);

  if (resolution !== 'NONE' && hosts.length > 1) {
    const i = ports.findIndex((p) => {
      const proto = parseProtocol(p.protocol ?? '');
      return !isHttpProtocol(proto) && !isTlsProtocol(proto);
    });
    if (i >= 0) {
      r.error(['spec', 'ports', i, 'protocol'], 'with several hosts, every port must be HTTP or TLS so requests can be told apart (or use resolution NONE)');
    }
  }

  checkExportTo(spec.exportTo, { namespace: ctx.namespace, isServiceEntry: true, drWithSelector: false }, ['spec', 'exportTo'], r);
}

function checkResolution(spec: ServiceEntrySpec, resolution: Resolution, portNames: ReadonlySet<string>, ctx: ValidationContext): void {
  const r = ctx.report;
  const endpoints: WorkloadEntrySpec[] = spec.endpoints ?? [];
  const addresses = spec.addresses ?? [];
  switch (resolution) {
    case 'NONE':
      if (spec.endpoints !== undefined) r.error(['spec', 'endpoints'], 'resolution NONE cannot have endpoints');
      if (spec.workloadSelector !== undefined) r.warn(['spec', 'workloadSelector'], 'workloadSelector has no effect with resolution NONE');
      return;
    case 'STATIC':
      endpoints.forEach((ep, i) => checkWorkloadEntryEndpoint(ep, ['spec', 'endpoints', i], r, { allowFqdn: false, servicePorts: portNames }));
      return;
    case 'DNS':
    case 'DNS_ROUND_ROBIN': {
      if (endpoints.length === 0) {
        const i = spec.hosts.findIndex((h) => checkFqdn(h) !== undefined);
        if (i >= 0) {
          r.error(['spec', 'hosts', i], `resolution ${resolution} without endpoints resolves the hosts themselves, so "${spec.hosts[i]}" must be a DNS name without wildcards`);
        }
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
        r.error(['spec', 'endpoints'], 'resolution DNS_ROUND_ROBIN allows at most one endpoint');
      }
      endpoints.forEach((ep, i) => {
        const epPath = ['spec', 'endpoints', i];
        const addr = ep.address ?? '';
        if (!addr.startsWith('unix://') && addr !== '') {
          checkWorkloadEntryEndpoint(ep, epPath, r, { allowFqdn: true, servicePorts: portNames });
        } else {
          // Sockets and missing addresses cannot be resolved by DNS.
          r.error([...epPath, 'address'], `endpoint address "${addr}" is neither an IP address nor a DNS name`);
          checkWorkloadEntryEndpoint({ ...ep, address: '' }, epPath, r, { allowFqdn: true, servicePorts: portNames });
        }
      });
      if (addresses.length > 0 && spec.hosts.length > 1 && (spec.ports ?? []).some((p) => isTcpProtocol(parseProtocol(p.protocol ?? '')))) {
        r.warn(['spec', 'hosts'], 'several hosts with an address and a TCP port cannot be told apart');
      }
      return;
    }
    case 'DYNAMIC_DNS': {
      spec.hosts.forEach((h, i) => {
        if (!isWildcardHost(h)) r.error(['spec', 'hosts', i], 'resolution DYNAMIC_DNS needs wildcard hosts');
      });
      if (addresses.length) r.error(['spec', 'addresses'], 'resolution DYNAMIC_DNS cannot have addresses; routes come from the hosts');
      if (endpoints.length) r.error(['spec', 'endpoints'], 'resolution DYNAMIC_DNS cannot have endpoints; destinations come from the hosts');
      (spec.ports ?? []).forEach((p, i) => {
        const proto = parseProtocol(p.protocol ?? '');
        if (proto !== 'HTTP' && proto !== 'TLS' && proto !== 'GRPC' && proto !== 'HTTP2') {
          r.error(['spec', 'ports', i, 'protocol'], 'resolution DYNAMIC_DNS supports only HTTP, TLS, GRPC and HTTP2 ports');
        }
      });
      const waypoint = ctx.labels[USE_WAYPOINT_LABEL];
      if (spec.location === 'MESH_INTERNAL' && waypoint && waypoint.toLowerCase() !== 'none') {
        r.error(['spec', 'location'], 'location MESH_INTERNAL with resolution DYNAMIC_DNS does not work with waypoints');
      }
      return;
    }
  }
}
