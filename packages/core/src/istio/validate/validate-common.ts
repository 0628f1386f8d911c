// Checks shared by every kind: host names, IPs and CIDRs, ports, labels, exportTo, header names
// and values, selectors. Each follows the rule istiod's validation webhook applies (istio/istio
// pkg/config/validation, pkg/config/labels, pkg/config/host); helpers return the problem as a
// message, or undefined when the value is fine, so callers decide the field path and severity.

import { isIPv6 } from 'node:net';

export type FieldPath = readonly (string | number)[];

/** Where validators send what they find; the path is the exact field, for `source.lineOf`. */
export interface Report {
  error(path: FieldPath, message: string): void;
  warn(path: FieldPath, message: string): void;
}

/** What a validator knows about the object besides its spec. */
export interface ValidationContext {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  report: Report;
}

// ---- DNS names ------------------------------------------------------------------------------

const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
// A wildcard first label: '*', or a label with a leading '*' or '*-' (istio's wildcardPrefix).
const WILDCARD_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isWildcardDns1123Label(s: string): boolean {
  return s.length <= 63 && WILDCARD_LABEL.test(s);
}

function checkDomainPreconditions(name: string): string | undefined {
  if (name.length > 255) return `domain name "${name}" is too long (max 255 characters)`;
  if (name.length === 0) return 'domain name must not be empty';
  return undefined;
}

/** Every dot-separated label is a DNS-1123 label; the top-level one is not all digits; a trailing dot is allowed. */
function checkDnsLabels(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (/^[+-]?\d+$/.test(tld)) return `domain name "${domain}" is invalid: top-level label "${tld}" is all digits`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i] ?? '';
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDns1123Label(label)) return `domain name "${domain}" is invalid: label "${label}" is not a DNS-1123 label`;
  }
  return undefined;
}

/** A fully qualified (or short) DNS name without wildcards. */
export function checkFqdn(name: string): string | undefined {
  return checkDomainPreconditions(name) ?? checkDnsLabels(name);
}

/** A DNS name whose first label may be a wildcard ("*", "*.foo.com", "*foo.com"); short names are fine. */
export function checkWildcardDomain(domain: string): string | undefined {
  const pre = checkDomainPreconditions(domain);
  if (pre) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDns1123Label(first)) {
    return first.includes('*') && first !== '*' && !first.startsWith('*')
      ? `domain name "${domain}" is invalid: a wildcard may only be the first character`
      : `domain name "${domain}" is invalid: label "${first}" is not a DNS-1123 label`;
  }
  return dot < 0 ? undefined : checkDnsLabels(domain.slice(dot + 1));
}

/** "*foo.com" parses as a host but matches in surprising ways; istiod warns about it. */
export function checkPartialWildcard(host: string): string | undefined {
  if (host.includes('*') && host.length !== 1 && !host.startsWith('*.')) {
    return `partial wildcard "${host}" is not supported; use a whole first label ("*.example.com")`;
  }
  return undefined;
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}

/** Whether two host names (either may be a wildcard) can match a common name. */
export function hostsOverlap(a: string, b: string): boolean {
  const aw = isWildcardHost(a);
  const bw = isWildcardHost(b);
  if (aw && bw) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/** Whether every name `a` matches is also matched by `b`. */
export function hostSubsetOf(a: string, b: string): boolean {
  const aw = isWildcardHost(a);
  const bw = isWildcardHost(b);
  if (aw) return bw && a.length >= b.length && a.slice(1).endsWith(b.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

// ---- IP addresses ---------------------------------------------------------------------------

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** IPv4 dotted quad without leading zeros, or IPv6 (a zone suffix is allowed), as Go's netip.ParseAddr reads them. */
export function isIpAddress(s: string): boolean {
  if (IPV4.test(s)) return true;
  const pct = s.indexOf('%');
  if (pct >= 0) return pct < s.length - 1 && isIPv6(s.slice(0, pct));
  return isIPv6(s);
}

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** An address or a CIDR block ("10.0.0.0/8", "2001:db8::/32"). */
export function checkIpOrCidr(s: string): string | undefined {
  const slash = s.split('/');
  if (slash.length === 2) {
    const [addr = '', bits = ''] = slash;
    const max = isIpv4(addr) ? 32 : 128;
    const validAddr = isIpv4(addr) || (!addr.includes('%') && isIPv6(addr));
    const validBits = /^(?:0|[1-9]\d*)$/.test(bits) && Number(bits) <= max;
    return validAddr && validBits ? undefined : `"${s}" is not a valid CIDR block`;
  }
  return isIpAddress(s) ? undefined : `"${s}" is not a valid IP address`;
}

// ---- ports ----------------------------------------------------------------------------------

export function checkPort(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `port ${port} is not in the range 1..65535`;
}

// ---- labels (Kubernetes syntax) -------------------------------------------------------------

const LABEL_NAME = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_PREFIX = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;

/** A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function checkLabelKey(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (!DNS_SUBDOMAIN_PREFIX.test(prefix) || prefix.length > 253)) {
    return `label key "${key}" is invalid: prefix must be a DNS subdomain of at most 253 characters`;
  }
  if (!LABEL_NAME.test(name)) {
    return `label key "${key}" is invalid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  if (name.length > 63) return `label key "${key}" is invalid: name is longer than 63 characters`;
  return undefined;
}

export function checkLabelValue(value: string): string | undefined {
  if (!LABEL_VALUE.test(value)) {
    return `label value "${value}" is invalid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  if (value.length > 63) return `label value "${value}" is longer than 63 characters`;
  return undefined;
}

/** Reports each bad key or value of a label map at its own key. */
export function checkLabels(labels: Readonly<Record<string, string>> | undefined, path: FieldPath, report: Report): void {
  if (!labels) return;
  for (const [k, v] of Object.entries(labels)) {
    const keyErr = checkLabelKey(k);
    if (keyErr) report.error([...path, k], keyErr);
    const valErr = checkLabelValue(v);
    if (valErr) report.error([...path, k], valErr);
  }
}

/**
 * A workload selector's label map (DestinationRule / PeerAuthentication `selector.matchLabels`,
 * ServiceEntry `workloadSelector.labels`): no empty keys, no '*' anywhere, and a warning when it
 * is present but empty because then it selects every workload in the namespace.
 */
export function checkSelectorLabels(
  labels: Readonly<Record<string, string>> | undefined,
  path: FieldPath,
  report: Report,
  emptyWarning: string,
): void {
  const entries = Object.entries(labels ?? {});
  for (const [k, v] of entries) {
    if (k === '') report.error([...path, k], 'selector label key must not be empty');
    if (k.includes('*') || v.includes('*')) report.error([...path, k], `wildcards are not supported in selectors ("${k}=${v}")`);
  }
  if (entries.length === 0) report.warn(path, emptyWarning);
}

// ---- exportTo -------------------------------------------------------------------------------

/**
 * exportTo entries: '.', '*', or a namespace name; '~' (no one) only on ServiceEntry. No
 * duplicates ('.' counts as the object's own namespace), '*' and '~' must stand alone, and a
 * DestinationRule with a workload selector may only be exported to its own namespace.
 */
export function checkExportTo(
  exportTo: readonly string[] | undefined,
  opts: { namespace: string; isServiceEntry: boolean; drWithSelector: boolean },
  path: FieldPath,
  report: Report,
): void {
  if (!exportTo || exportTo.length === 0) return;
  const seen = new Set<string>();
  exportTo.forEach((entry, i) => {
    const key = entry === '.' ? opts.namespace : entry;
    if (seen.has(key)) {
      const dotToo = key === opts.namespace && exportTo.includes('.') && exportTo.includes(opts.namespace);
      report.error([...path, i], dotToo
        ? `duplicate exportTo entry: "." already is the object's own namespace "${opts.namespace}"`
        : `duplicate exportTo entry "${entry}"`);
      return;
    }
    if (entry === '~') {
      if (opts.isServiceEntry) seen.add(key);
      else report.error([...path, i], 'exportTo "~" (no one) is only allowed on ServiceEntry');
      return;
    }
    if (key !== '*' && key !== '.' && !isDns1123Label(key)) {
      report.error([...path, i], `exportTo entry "${entry}" must be ".", "*" or a namespace name`);
      return;
    }
    seen.add(key);
  });
  if (opts.drWithSelector && seen.size > 0) {
    if (!seen.has(opts.namespace)) {
      report.error(path, 'a DestinationRule with a workloadSelector can only be exported to its own namespace');
    } else if (seen.size > 1) {
      report.error(path, 'a DestinationRule with a workloadSelector can have only one exportTo entry (its own namespace)');
    }
  }
  if (seen.has('*') && exportTo.length > 1) report.error(path, 'exportTo "*" (everyone) cannot be combined with other entries');
  if (seen.has('~') && exportTo.length > 1) report.error(path, 'exportTo "~" (no one) cannot be combined with other entries');
}

// ---- HTTP headers ---------------------------------------------------------------------------

// RFC 7230 token characters.
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);
export const JWT_CLAIM_HEADER_PREFIX = '@request.auth.claims';

/** Header names that route on a JWT claim: "@request.auth.claims.sub" or "@request.auth.claims[sub]". */
export function isJwtClaimHeader(name: string): boolean {
  if (!name.toLowerCase().startsWith(JWT_CLAIM_HEADER_PREFIX)) return false;
  const rest = name.slice(JWT_CLAIM_HEADER_PREFIX.length);
  return (rest.startsWith('.') && rest.length > 1) || (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2);
}

/** A header name in a match: a token, a pseudo-header, or a JWT claim reference. */
export function checkMatchHeaderName(name: string): string | undefined {
  if (name === '') return 'header name must not be empty';
  if (isJwtClaimHeader(name) || PSEUDO_HEADERS.has(name)) return undefined;
  return HEADER_TOKEN.test(name) ? undefined : `"${name}" is not a valid header name`;
}

/** A CORS allow/expose header: a token, or '*'. */
export function checkCorsHeaderName(name: string): string | undefined {
  if (name === '') return 'header name must not be empty';
  if (name === '*') return undefined;
  return HEADER_TOKEN.test(name) ? undefined : `"${name}" is not a valid header name`;
}

export function isAuthorityHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ':authority' || lower === 'host';
}

function isInternalHeader(name: string): boolean {
  return name.startsWith(':') || name.toLowerCase() === 'host';
}

/** Request headers to set or add: pseudo-headers are Envoy's own, except the authority. */
export function checkRequestHeaderSetName(name: string): string | undefined {
  if (name === '') return 'header name must not be empty';
  if (isInternalHeader(name) && !isAuthorityHeader(name)) return `header "${name}" cannot be modified (":" pseudo-headers are reserved)`;
  return undefined;
}

/** Request headers to remove, and all response header operations: no Host, no pseudo-headers. */
export function checkHeaderOperationName(name: string): string | undefined {
  if (name === '') return 'header name must not be empty';
  if (name.toLowerCase() === 'host') return 'the Host header cannot be modified here';
  if (name.startsWith(':')) return `header "${name}" cannot be modified (":" pseudo-headers are reserved)`;
  return undefined;
}

/**
 * A header value Envoy will accept: no control characters except tab, and every '%' either
 * escaped as '%%' or part of a complete %VARIABLE% / %VARIABLE(args)% expression.
 */
export function checkHeaderValue(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) return 'header value must not contain control characters';
  return checkHeaderFormatter(value);
}

/** Envoy's header formatter grammar, walked one character at a time. */
function checkHeaderFormatter(v: string): string | undefined {
  type State = 'literal' | 'name' | 'argsStart' | 'argString' | 'argQuoted' | 'argSep' | 'argsEnd' | 'varEnd';
  let state: State = 'literal';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    switch (state) {
      case 'literal':
        if (c !== '%') break;
        if (i + 1 >= v.length) return 'header value has an unescaped "%" at its end (write "%%" for a literal percent)';
        if (v[i + 1] === '%') i++;
        else state = 'name';
        break;
      case 'name':
        if (c === '%') state = 'literal';
        else if (c === '(') state = 'argsStart';
        break;
      case 'argsStart':
        // Arguments are a JSON array of strings; anything else is read as one bare string.
        if (c === '[') state = 'argQuoted';
        else if (c !== ' ') state = 'argString';
        break;
      case 'argQuoted':
        if (c === '"') state = 'argString';
        else if (c !== ' ') return 'header value has a malformed %VAR(...)% argument list: expected \'"\'';
        break;
      case 'argString':
        if (c === '\\') {
          if (i + 1 >= v.length) return 'header value ends inside a backslash escape';
          i++;
        } else if (c === ')') state = 'varEnd';
        else if (c === '"') state = 'argSep';
        break;
      case 'argSep':
        if (c === ',') state = 'argQuoted';
        else if (c === ']') state = 'argsEnd';
        else if (c !== ' ') return 'header value has a malformed %VAR(...)% argument list: expected "," or "]"';
        break;
      case 'argsEnd':
        if (c === ')') state = 'varEnd';
        else if (c !== ' ') return 'header value has a malformed %VAR(...)% expression: expected ")"';
        break;
      case 'varEnd':
        if (c === '%') state = 'literal';
        else if (c !== ' ') return 'header value has a malformed %VAR(...)% expression: expected "%"';
        break;
    }
  }
  return state === 'literal' ? undefined : `header value has an unterminated %VARIABLE% expression: "${v}"`;
}

// ---- gateways -------------------------------------------------------------------------------

/** Gateway references: "<namespace>/<name>", the reserved "mesh", or a legacy "<name>.<namespace>" FQDN. */
export function checkGatewayNames(gateways: readonly string[] | undefined, path: FieldPath, report: Report): void {
  if (!gateways) return;
  for (let i = 0; i < gateways.length; i++) {
    const gw = gateways[i] ?? '';
    const slash = gw.indexOf('/');
    if (slash < 0) {
      if (gw.includes('.')) {
        const [name, ns] = gw.split('.');
        report.warn([...path, i], `gateway "${gw}" uses the legacy <name>.<namespace> form; prefer "${ns}/${name}"`);
      }
      const err = checkFqdn(gw);
      if (err) report.error([...path, i], err);
      // istiod stops at the first short-form name; later entries are not checked.
      return;
    }
    const ns = gw.slice(0, slash);
    const name = gw.slice(slash + 1);
    if (ns === '' || name === '') report.error([...path, i], 'gateway namespace and name must not be empty');
    if (!isDns1123Label(ns)) report.error([...path, i], `gateway namespace "${ns}" is not a valid namespace name`);
    if (!isDns1123Label(name)) report.error([...path, i], `gateway name "${name}" is not a valid name`);
  }
}

// ---- protocols ------------------------------------------------------------------------------

const PROTOCOLS = new Map([
  ['tcp', 'TCP'], ['udp', 'UDP'], ['grpc', 'GRPC'], ['grpc-web', 'GRPC-Web'], ['http', 'HTTP'],
  ['http_proxy', 'HTTP_PROXY'], ['http2', 'HTTP2'], ['https', 'HTTPS'], ['tls', 'TLS'],
  ['mongo', 'Mongo'], ['redis', 'Redis'], ['mysql', 'MySQL'],
]);

/** The canonical protocol name (case-insensitive input), or undefined if Istio does not know it. */
export function parseProtocol(s: string): string | undefined {
  return PROTOCOLS.get(s.toLowerCase());
}

export function isHttpProtocol(p: string | undefined): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'HTTP_PROXY' || p === 'GRPC' || p === 'GRPC-Web';
}

export function isTlsProtocol(p: string | undefined): boolean {
  return p === 'HTTPS' || p === 'TLS';
}

export function isTcpProtocol(p: string | undefined): boolean {
  return p === 'TCP' || p === 'HTTPS' || p === 'TLS' || p === 'Mongo' || p === 'Redis' || p === 'MySQL';
}
