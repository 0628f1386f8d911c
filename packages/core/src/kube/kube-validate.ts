// The API server's own rules for the fields the registry reads, beyond their structure
// (./kube-schemas.ts): what `kubectl apply` would refuse is an error here too, so a hand-written
// object that a cluster could never hold does not quietly route traffic.

import type { KubeEndpoints, KubeEndpointSlice, KubeObject, KubePod, KubeService } from './kube-types.ts';
import { checkFqdn, checkLabels, isDns1123Label, isIpAddress, isIpv4, type Report } from '../istio/validate/validate-common.ts';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

// IANA_SVC_NAME (RFC 6335): a named targetPort or container port.
const IANA_SVC_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export function checkIanaServiceName(name: string): string | undefined {
  if (name.length > 15 || !IANA_SVC_NAME.test(name) || !/[a-z]/.test(name) || name.includes('--')) {
    return `"${name}" is not a port name: at most 15 lowercase letters, digits and '-', with at least one letter and no '--'`;
  }
  return undefined;
}

export function validateKubeObject(obj: KubeObject, r: Report): void {
  switch (obj.kind) {
    case 'Service':
      return validateService(obj, r);
    case 'EndpointSlice':
      return validateEndpointSlice(obj, r);
    case 'Endpoints':
      return validateEndpoints(obj, r);
    case 'Pod':
      return validatePod(obj, r);
    default:
      return;
  }
}

function validateService(svc: KubeService, r: Report): void {
  const spec = svc.spec;
  const ports = spec.ports ?? [];
  const names = new Set<string>();
  const numbers = new Set<string>();
  ports.forEach((p, i) => {
    const path = ['spec', 'ports', i];
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1) r.error([...path, 'name'], 'a port name is required when a Service has more than one port');
    } else if (!isDns1123Label(p.name) || p.name !== p.name.toLowerCase()) {
      r.error([...path, 'name'], `port name "${p.name}" must be a lowercase DNS-1123 label`);
    } else if (names.has(p.name)) {
      r.error([...path, 'name'], `duplicate port name "${p.name}"`);
    }
    if (p.name) names.add(p.name);
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (numbers.has(key)) r.error([...path, 'port'], `duplicate port ${key}`);
    numbers.add(key);
    const tp = p.targetPort;
    if (typeof tp === 'number') {
      if (!Number.isInteger(tp) || tp < 1 || tp > 65535) r.error([...path, 'targetPort'], `targetPort ${tp} is not in the range 1..65535`);
    } else if (typeof tp === 'string') {
      const err = checkIanaServiceName(tp);
      if (err) r.error([...path, 'targetPort'], `targetPort ${err}`);
    } else if (tp !== undefined) {
      r.error([...path, 'targetPort'], 'targetPort must be a port number or the name of a container port');
    }
  });
  const isExternalName = spec.type === 'ExternalName';
  if (isExternalName) {
    if (!spec.externalName) r.error(['spec', 'externalName'], 'externalName is required for a Service of type ExternalName');
    else {
      const err = checkFqdn(spec.externalName.replace(/\.$/, ''));
      if (err) r.error(['spec', 'externalName'], err);
    }
  }
  const checkIp = (ip: string, path: (string | number)[]) => {
    if (ip !== '' && ip !== 'None' && !isIpAddress(ip)) r.error(path, `"${ip}" is not an IP address (or None, for a headless Service)`);
  };
  if (spec.clusterIP !== undefined) checkIp(spec.clusterIP, ['spec', 'clusterIP']);
  (spec.clusterIPs ?? []).forEach((ip, i) => checkIp(ip, ['spec', 'clusterIPs', i]));
  checkLabels(spec.selector, ['spec', 'selector'], r);
}

function validateEndpointSlice(slice: KubeEndpointSlice, r: Report): void {
  if (!slice.metadata.labels?.[SERVICE_NAME_LABEL]) {
    r.warn(['metadata', 'labels'], `no ${SERVICE_NAME_LABEL} label: this EndpointSlice belongs to no Service and is ignored`);
  }
  if (slice.addressType === 'FQDN') return;
  const family = slice.addressType === 'IPv4' ? isIpv4 : (a: string) => isIpAddress(a) && a.includes(':');
  (slice.endpoints ?? []).forEach((e, i) => {
    e.addresses.forEach((a, j) => {
      if (!family(a)) r.error(['endpoints', i, 'addresses', j], `"${a}" is not an ${slice.addressType} address`);
    });
  });
}

function validateEndpoints(eps: KubeEndpoints, r: Report): void {
  (eps.subsets ?? []).forEach((s, i) => {
    for (const key of ['addresses', 'notReadyAddresses'] as const) {
      (s[key] ?? []).forEach((a, j) => {
        if (!isIpAddress(a.ip)) r.error(['subsets', i, key, j, 'ip'], `"${a.ip}" is not an IP address`);
      });
    }
  });
}

function validatePod(pod: KubePod, r: Report): void {
  const status = pod.status;
  if (status?.podIP !== undefined && status.podIP !== '' && !isIpAddress(status.podIP)) r.error(['status', 'podIP'], `"${status.podIP}" is not an IP address`);
  (status?.podIPs ?? []).forEach((p, i) => {
    if (!isIpAddress(p.ip)) r.error(['status', 'podIPs', i, 'ip'], `"${p.ip}" is not an IP address`);
  });
  (pod.spec.containers ?? []).forEach((c, i) => {
    (c.ports ?? []).forEach((p, j) => {
      if (p.name !== undefined && p.name !== '') {
        const err = checkIanaServiceName(p.name);
        if (err) r.error(['spec', 'containers', i, 'ports', j, 'name'], `container port ${err}`);
      }
    });
  });
}
