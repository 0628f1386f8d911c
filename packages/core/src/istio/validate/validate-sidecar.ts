// Sidecar (networking.istio.io): the CRD structure and istiod's webhook rules
// (pkg/config/validation ValidateSidecar, validateSidecarOutboundTrafficPolicy,
// validateSidecarEgressPortBindAndCaptureMode, validateSidecarIngressPortAndBind and
// agent.ValidateNamespaceSlashWildcardHostname), with istiod's messages.

import type { SidecarPort, SidecarSpec } from '../types.ts';
import {
  checkIpOrCidr, checkLabelKey, checkLabelValue, checkPartialWildcard, checkPort, checkWildcardDomain, isDns1123Label, isIpAddress,
  isHttpProtocol, isTlsProtocol, parseProtocol, type FieldPath, type Report, type ValidationContext,
} from './validate-common.ts';
import { checkDestination } from './validate-http-route.ts';
import { connectionPool } from './validate-schema-destination-rule.ts';
import { destinationSchema } from './validate-schema-virtual-service.ts';
import { arr, bool, map, obj, str, uint32, type Schema } from './validate-schema.ts';
import { checkConnectionPool } from './validate-traffic-policy.ts';

const CAPTURE_MODES = ['DEFAULT', 'IPTABLES', 'NONE'] as const;
const sidecarPort = (): Schema => obj({ number: uint32(), protocol: str(), name: str(), targetPort: uint32() });

export const sidecarSchema: Schema = obj({
  workloadSelector: obj({ labels: map(str({ maxLength: 63 }), { maxProperties: 256 }) }),
  ingress: arr(obj({
    port: sidecarPort(),
    bind: str(),
    captureMode: str({ enum: CAPTURE_MODES }),
    defaultEndpoint: str(),
    tls: obj({
      httpsRedirect: bool(),
      mode: str({ enum: ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'] }),
      serverCertificate: str(),
      privateKey: str(),
      caCertificates: str(),
      caCrl: str(),
      credentialName: str(),
      credentialNames: arr(str()),
      tlsCertificates: arr(obj({ serverCertificate: str(), privateKey: str(), caCertificates: str() })),
      subjectAltNames: arr(str()),
      verifyCertificateSpki: arr(str()),
      verifyCertificateHash: arr(str()),
      minProtocolVersion: str({ enum: ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'] }),
      maxProtocolVersion: str({ enum: ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'] }),
      cipherSuites: arr(str()),
    }),
    connectionPool: connectionPool(),
  }, { required: ['port'] })),
  egress: arr(obj({
    port: sidecarPort(),
    bind: str(),
    captureMode: str({ enum: CAPTURE_MODES }),
    hosts: arr(str()),
  }, { required: ['hosts'] })),
  inboundConnectionPool: connectionPool(),
  outboundTrafficPolicy: obj({
    // ALLOW_ANY_DYNAMIC_DNS is MeshConfig's; the rule below names it.
    mode: str({ enum: ['REGISTRY_ONLY', 'ALLOW_ANY', 'ALLOW_ANY_DYNAMIC_DNS'] }),
    egressProxy: destinationSchema(),
  }),
});

const UNIX_PREFIX = 'unix://';
const LOOPBACK_OR_ANY = new Set(['127.0.0.1', '0.0.0.0', '::1', '::']);

export function validateSidecar(spec: SidecarSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  const sel = spec.workloadSelector;
  if (sel !== undefined) {
    const labels = Object.entries(sel.labels ?? {});
    if (labels.length === 0) r.warn(['spec', 'workloadSelector'], 'sidecar: workload selector specified without labels, will be applied to all services in namespace');
    for (const [k, v] of labels) {
      const err = k === '' ? 'empty key is not supported in selector' : k.includes('*') || v.includes('*') ? 'wildcard is not supported in selector' : checkLabelKey(k) ?? checkLabelValue(v);
      if (err) r.error(['spec', 'workloadSelector', 'labels', k], err);
    }
  }
  if (!spec.egress?.length && !spec.ingress?.length && spec.outboundTrafficPolicy === undefined && spec.inboundConnectionPool === undefined) {
    r.error(['spec'], 'sidecar: empty configuration provided');
    return;
  }
  checkIngress(spec, r);
  checkConnectionPool(spec.inboundConnectionPool, ['spec', 'inboundConnectionPool'], r);
  checkEgress(spec, ctx.namespace, r);
  checkOutboundTrafficPolicy(spec.outboundTrafficPolicy, ['spec', 'outboundTrafficPolicy'], r);
}

function checkIngress(spec: SidecarSpec, r: Report): void {
  const ports = new Set<number>();
  (spec.ingress ?? []).forEach((i, idx) => {
    const path: FieldPath = ['spec', 'ingress', idx];
    const port = i.port;
    if (!port) {
      r.error([...path, 'port'], 'sidecar: port is required for ingress listeners');
      return;
    }
    if ((port.targetPort ?? 0) > 0) r.error([...path, 'port', 'targetPort'], 'targetPort has no impact on Sidecars');
    checkPortNameProtocolNumber(port, [...path, 'port'], r);
    if (i.bind) bindIp(i.bind, [...path, 'bind'], r);
    if (port.number !== undefined) {
      if (ports.has(port.number)) r.error([...path, 'port', 'number'], 'sidecar: ports on IP bound listeners must be unique');
      ports.add(port.number);
    }
    if (i.defaultEndpoint) checkDefaultEndpoint(i.defaultEndpoint, [...path, 'defaultEndpoint'], r);
    const tls = i.tls;
    if (tls) {
      const tp: FieldPath = [...path, 'tls'];
      if (tls.subjectAltNames?.length) r.error([...tp, 'subjectAltNames'], 'sidecar: subjectAltNames is not supported in ingress tls');
      if (tls.httpsRedirect) r.error([...tp, 'httpsRedirect'], 'sidecar: httpsRedirect is not supported');
      if (tls.credentialName) r.error([...tp, 'credentialName'], 'sidecar: credentialName is not currently supported');
      if (tls.credentialNames?.length) r.error([...tp, 'credentialNames'], 'sidecar: credentialNames is not currently supported');
      if (tls.tlsCertificates?.length) r.error([...tp, 'tlsCertificates'], 'sidecar: tls_certificates is not currently supported');
      if (tls.mode === 'ISTIO_MUTUAL' || tls.mode === 'AUTO_PASSTHROUGH') r.error([...tp, 'mode'], `configuration is invalid: cannot set mode to ${tls.mode} in sidecar ingress tls`);
      if (!isTlsProtocol(parseProtocol(port.protocol ?? ''))) r.error(tp, 'server cannot have TLS settings for non HTTPS/TLS ports');
    }
    checkConnectionPool(i.connectionPool, [...path, 'connectionPool'], r);
    if (i.connectionPool?.http && !isHttpProtocol(parseProtocol(port.protocol ?? ''))) {
      r.warn([...path, 'connectionPool', 'http'], `sidecar: HTTP connection pool settings are configured for port ${port.number} ("${port.name ?? ''}") but its protocol is not HTTP (${port.protocol ?? ''}); only TCP settings will apply`);
    }
  });
}

function checkEgress(spec: SidecarSpec, namespace: string, r: Report): void {
  const egress = spec.egress ?? [];
  const ports = new Set<number>();
  const sockets = new Set<string>();
  let catchAll = false;
  egress.forEach((e, idx) => {
    const path: FieldPath = ['spec', 'egress', idx];
    if (!e.port) {
      if (catchAll) {
        r.error(path, 'sidecar: egress can have only one listener with empty port');
        return;
      }
      if (idx === egress.length - 1) catchAll = true;
      else r.error(path, 'sidecar: the egress listener with empty port should be the last listener in the list');
    } else {
      const port = e.port;
      if ((port.targetPort ?? 0) > 0) r.error([...path, 'port', 'targetPort'], 'targetPort has no impact on Sidecars');
      const bind = e.bind ?? '';
      if (port.number === undefined || port.number === 0) {
        if (port.name) checkPortName(port.name, [...path, 'port', 'name'], r);
        checkProtocol(port.protocol, [...path, 'port', 'protocol'], r);
        if (!bind.startsWith(UNIX_PREFIX)) r.error([...path, 'bind'], 'sidecar: ports with 0 value must have a unix domain socket bind address');
        else checkUnixAddress(bind.slice(UNIX_PREFIX.length), [...path, 'bind'], r);
        if (e.captureMode !== undefined && e.captureMode !== 'DEFAULT' && e.captureMode !== 'NONE') {
          r.error([...path, 'captureMode'], 'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners');
        }
        if (sockets.has(bind)) r.error([...path, 'bind'], 'sidecar: unix domain socket values for listeners must be unique');
        sockets.add(bind);
      } else {
        checkPortNameProtocolNumber(port, [...path, 'port'], r);
        if (bind) bindIp(bind, [...path, 'bind'], r);
        if (ports.has(port.number)) r.error([...path, 'port', 'number'], 'sidecar: ports on IP bound listeners must be unique');
        ports.add(port.number);
      }
    }
    const hosts = e.hosts ?? [];
    if (hosts.length === 0) {
      r.error([...path, 'hosts'], 'sidecar: egress listener must contain at least one host');
      return;
    }
    const byNs = new Map<string, Set<string>>();
    hosts.forEach((h, hi) => {
      const hp: FieldPath = [...path, 'hosts', hi];
      const slash = h.indexOf('/');
      if (slash >= 0 && !h.startsWith('~')) {
        const ns = h.slice(0, slash) === '.' ? namespace : h.slice(0, slash);
        const svc = h.slice(slash + 1);
        const seen = byNs.get(ns) ?? new Set<string>();
        if (svc !== '*' ? seen.has(svc) || seen.has('*') : seen.size > 0) r.warn(hp, `duplicated egress host: ${h}`);
        seen.add(svc);
        byNs.set(ns, seen);
      }
      for (const err of namespaceSlashHostErrors(h)) r.error(hp, err);
    });
    if (byNs.get('*')?.has('*') && byNs.size !== 1) r.warn([...path, 'hosts'], '`*/*` host select all resources, no other hosts can be added');
  });
}

function checkOutboundTrafficPolicy(tp: SidecarSpec['outboundTrafficPolicy'] | undefined, path: FieldPath, r: Report): void {
  if (!tp) return;
  // proto3: an unset mode is the enum's zero value, REGISTRY_ONLY.
  const mode = tp.mode ?? 'REGISTRY_ONLY';
  if (tp.mode === undefined && !tp.egressProxy) r.warn([...path, 'mode'], 'mode is not set, which means REGISTRY_ONLY (the enum\'s default): hosts outside the registry are blocked');
  if ((mode as string) === 'ALLOW_ANY_DYNAMIC_DNS') {
    r.error([...path, 'mode'], 'sidecar: ALLOW_ANY_DYNAMIC_DNS mode is only supported in MeshConfig, not in Sidecar resource');
    return;
  }
  const proxy = tp.egressProxy;
  if (!proxy) return;
  if (mode !== 'ALLOW_ANY') {
    r.error([...path, 'egressProxy'], 'sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode');
    return;
  }
  if (proxy.port === undefined) {
    r.error([...path, 'egressProxy', 'port'], 'sidecar: egress_proxy port must be non-nil');
    return;
  }
  checkDestination(proxy, [...path, 'egressProxy'], r);
}

/** agent.ValidateNamespaceSlashWildcardHostname for a Sidecar host (`ns/dnsName`, `~` excludes). */
export function namespaceSlashHostErrors(host: string): string[] {
  const slash = host.indexOf('/');
  if (slash < 0) return ['host must be of form namespace/dnsName'];
  const errs: string[] = [];
  const ns = host.slice(0, slash);
  const name = host.slice(slash + 1);
  if (ns === '' || name === '') errs.push('config namespace and dnsName in host entry cannot be empty');
  const bare = ns.startsWith('~') ? ns.slice(1) : ns;
  if (bare !== '' && bare !== '*' && bare !== '.' && !isDns1123Label(bare)) errs.push(`invalid namespace value "${ns}" in sidecar`);
  if (name === '') return errs;
  if (name !== '*' && !name.includes('.')) errs.push('short names (non FQDN) are not allowed');
  const domainErr = checkWildcardDomain(name);
  if (domainErr) errs.push(domainErr);
  const partial = checkPartialWildcard(name);
  if (partial) errs.push(partial);
  return errs;
}

function checkPortNameProtocolNumber(port: SidecarPort, path: FieldPath, r: Report): void {
  if (port.name) checkPortName(port.name, [...path, 'name'], r);
  checkProtocol(port.protocol, [...path, 'protocol'], r);
  const err = checkPort(port.number ?? 0);
  if (err) r.error([...path, 'number'], err);
}

function checkPortName(name: string, path: FieldPath, r: Report): void {
  if (!isDns1123Label(name)) r.error(path, `invalid port name: ${name}`);
}

function checkProtocol(protocol: string | undefined, path: FieldPath, r: Report): void {
  if (parseProtocol(protocol ?? '') === undefined) r.error(path, `unrecognized protocol "${protocol ?? ''}"`);
}

function bindIp(bind: string, path: FieldPath, r: Report): void {
  if (!isIpAddress(bind)) r.error(path, checkIpOrCidr(bind) ?? `${bind} is not a valid IP`);
}

function checkUnixAddress(addr: string, path: FieldPath, r: Report): void {
  if (addr === '') r.error(path, 'unix address must not be empty');
  else if (!addr.startsWith('/') && !addr.startsWith('@')) r.error(path, `unix address "${addr}" must be an absolute path or an abstract socket (@name)`);
}

function checkDefaultEndpoint(ep: string, path: FieldPath, r: Report): void {
  if (ep.startsWith(UNIX_PREFIX)) {
    checkUnixAddress(ep.slice(UNIX_PREFIX.length), path, r);
    return;
  }
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(ep);
  if (!m) {
    r.error(path, `address ${ep}: missing port in address`);
    return;
  }
  const host = m[1] ?? m[2] ?? '';
  if (host !== '' && !LOOPBACK_OR_ANY.has(host)) {
    r.error(path, 'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset');
  }
  const portText = m[3] ?? '';
  if (!/^\d+$/.test(portText)) {
    r.error(path, `sidecar: defaultEndpoint port (${portText}) is not a number`);
    return;
  }
  const err = checkPort(Number(portText));
  if (err) r.error(path, err);
}
