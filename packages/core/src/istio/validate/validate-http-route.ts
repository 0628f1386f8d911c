// One VirtualService HTTP route, checked as istiod's webhook checks it (istio/istio
// pkg/config/validation/virtualservice.go and validation.go): which actions may be combined,
// the match conditions, header operations, CORS, faults, mirrors, redirect, direct response,
// retries, rewrite, destinations and the timeout. Durations were already checked by the schema.

import type { Destination, Headers, HTTPRoute, HTTPRouteDestination, StringMatch } from '../types.ts';
import {
  checkCorsHeaderName,
  checkGatewayNames,
  checkHeaderOperationName,
  checkHeaderValue,
  checkLabels,
  checkMatchHeaderName,
  checkPort,
  checkRequestHeaderSetName,
  checkWildcardDomain,
  isAuthorityHeader,
  isDns1123Label,
  type FieldPath,
  type Report,
} from './validate-common.ts';
import { parseGoDuration } from './validate-duration.ts';
import { checkIstioRegex } from './validate-regex.ts';

/** Fields of an HTTP route that ./types.ts leaves out because the compiler does not use them. */
export interface HttpRouteInput extends HTTPRoute {
  redirect?: HTTPRoute['redirect'] & { prefixRewrite?: string };
  mirrorPercent?: number;
  mirror_percent?: number;
  corsPolicy?: CorsPolicyInput;
}

interface CorsPolicyInput {
  allowOrigins?: StringMatch[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
}

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);

// gRPC status names istiod knows (the codes of grpc-go's codes package).
const GRPC_STATUSES = new Set([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]);

// Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies, as istiod accepts them.
export const RETRY_ON_POLICIES: ReadonlySet<string> = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited',
  'http3-post-connect-failure', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted',
  'unavailable',
]);

// HTTP status codes with a registered name (Go's net/http StatusText); istiod accepts a numeric
// retryOn entry only if it is one of these.
const KNOWN_HTTP_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305,
  307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417,
  418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508,
  510, 511,
]);

const KB = 1024;
const MB = 1024 * KB;

/**
 * Checks route `http` at `path` (spec.http[i]). `inDelegate` is true when the VirtualService has
 * no hosts, i.e. it is itself a delegate and its routes may not delegate further.
 */
export function validateHttpRoute(http: HttpRouteInput, path: FieldPath, inDelegate: boolean, report: Report): void {
  checkActionConflicts(http, path, inDelegate, report);
  checkMatches(http, path, report);
  checkHeaderOperations(http.headers, [...path, 'headers'], report);
  checkCors(http.corsPolicy, [...path, 'corsPolicy'], report);
  checkFault(http, path, report);
  checkMirrors(http, path, report);
  checkRedirect(http, path, report);
  checkDirectResponse(http, path, report);
  checkRetries(http, path, report);
  checkRewrite(http, path, report);
  checkDestinations(http.route, [...path, 'route'], report);
}

/** A route does one thing: route, redirect, answer directly, or delegate. */
function checkActionConflicts(http: HttpRouteInput, path: FieldPath, inDelegate: boolean, report: Report): void {
  const name = http.name ? ` "${http.name}"` : '';
  if (!inDelegate && http.delegate !== undefined) {
    // A root route hands the request to another VirtualService; it cannot also answer it.
    if (http.redirect !== undefined) report.error([...path, 'redirect'], `route${name} delegates, so it cannot also redirect`);
    if (http.route !== undefined) report.error([...path, 'route'], `route${name} delegates, so it cannot also set route`);
    return;
  }
  if (inDelegate && http.delegate !== undefined) {
    report.error([...path, 'delegate'], 'a route of a delegate VirtualService (one without hosts) cannot delegate again');
  }
  const hasRoute = (http.route?.length ?? 0) > 0;
  if (http.redirect !== undefined) {
    if (hasRoute) report.error([...path, 'route'], 'a route cannot have both route and redirect');
    if (http.fault !== undefined) report.error([...path, 'fault'], 'a route cannot have both fault and redirect');
    if (http.rewrite !== undefined) report.error([...path, 'rewrite'], 'a route cannot have both rewrite and redirect');
    if (http.directResponse !== undefined) report.error([...path, 'directResponse'], 'a route cannot have both directResponse and redirect');
  } else if (http.directResponse !== undefined) {
    if (hasRoute) report.error([...path, 'route'], 'a route cannot have both route and directResponse');
    if (http.fault !== undefined) report.error([...path, 'fault'], 'a route cannot have both fault and directResponse');
    if (http.rewrite !== undefined) report.error([...path, 'rewrite'], 'a route cannot have both rewrite and directResponse');
  } else if (!hasRoute) {
    report.error(path, 'a route needs one of route, redirect or directResponse');
  }
  if (http.mirror !== undefined && (http.mirrors?.length ?? 0) > 0) {
    report.error([...path, 'mirrors'], 'a route cannot have both mirror and mirrors');
  }
}

/**
 * A string match's own rules. Only `uri` may be an empty prefix (it matches everything); for
 * other fields Envoy's matcher requires a non-empty prefix.
 */
function checkStringMatch(m: StringMatch | undefined, path: FieldPath, report: Report, allowEmptyPrefix = false): void {
  if (!m) return;
  if (m.prefix !== undefined && m.prefix === '' && !allowEmptyPrefix) {
    report.error([...path, 'prefix'], 'prefix must not be empty');
  }
  if (m.regex !== undefined) {
    if (m.regex === '') report.error([...path, 'regex'], 'regex must not be empty');
    else {
      const err = checkIstioRegex(m.regex);
      if (err) report.error([...path, 'regex'], err);
    }
  }
}

function checkMatches(http: HttpRouteInput, path: FieldPath, report: Report): void {
  (http.match ?? []).forEach((m, j) => {
    const mp = [...path, 'match', j];
    for (const [name, sm] of Object.entries(m.headers ?? {})) {
      const hp = [...mp, 'headers', name];
      const err = checkMatchHeaderName(name);
      if (err) report.error(hp, err);
      checkStringMatch(sm, hp, report);
    }
    for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
      const hp = [...mp, 'withoutHeaders', name];
      const err = checkMatchHeaderName(name);
      if (err) report.error(hp, err);
      // regex "*" is not RE2 here: istiod reads it as "header present".
      if (sm && sm.regex !== '*') checkStringMatch(sm, hp, report);
    }
    checkStringMatch(m.uri, [...mp, 'uri'], report, true);
    checkStringMatch(m.scheme, [...mp, 'scheme'], report);
    checkStringMatch(m.method, [...mp, 'method'], report);
    checkStringMatch(m.authority, [...mp, 'authority'], report);
    for (const [name, sm] of Object.entries(m.queryParams ?? {})) checkStringMatch(sm, [...mp, 'queryParams', name], report);
    if (m.port !== undefined && m.port !== 0) {
      const err = checkPort(m.port);
      if (err) report.error([...mp, 'port'], err);
    }
    checkLabels(m.sourceLabels, [...mp, 'sourceLabels'], report);
    checkGatewayNames(m.gateways, [...mp, 'gateways'], report);
    if (m.sourceNamespace !== undefined && m.sourceNamespace !== '' && !isDns1123Label(m.sourceNamespace)) {
      report.error([...mp, 'sourceNamespace'], `"${m.sourceNamespace}" is not a valid namespace name`);
    }
  });
}

/** Request set/add may target the authority but no other pseudo-header; remove and response ops may not touch Host. */
export function checkHeaderOperations(headers: Headers | undefined, path: FieldPath, report: Report): void {
  if (!headers) return;
  const req = headers.request;
  const res = headers.response;
  for (const op of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(req?.[op] ?? {})) {
      const p = [...path, 'request', op, name];
      const nameErr = checkRequestHeaderSetName(name);
      if (nameErr) report.error(p, nameErr);
      const valErr = checkHeaderValue(value);
      if (valErr) report.error(p, valErr);
    }
    for (const [name, value] of Object.entries(res?.[op] ?? {})) {
      const p = [...path, 'response', op, name];
      const nameErr = checkHeaderOperationName(name);
      if (nameErr) report.error(p, nameErr);
      const valErr = checkHeaderValue(value);
      if (valErr) report.error(p, valErr);
    }
  }
  (req?.remove ?? []).forEach((name, i) => {
    const err = checkHeaderOperationName(name);
    if (err) report.error([...path, 'request', 'remove', i], err);
  });
  (res?.remove ?? []).forEach((name, i) => {
    const err = checkHeaderOperationName(name);
    if (err) report.error([...path, 'response', 'remove', i], err);
  });
}

function checkCors(cors: CorsPolicyInput | undefined, path: FieldPath, report: Report): void {
  if (!cors) return;
  (cors.allowOrigins ?? []).forEach((o, i) => {
    const p = [...path, 'allowOrigins', i];
    const value = o.exact ?? o.prefix ?? o.regex ?? '';
    if (value === '') report.error(p, 'an allowed origin needs a non-empty exact, prefix or regex');
    else if (o.regex !== undefined) {
      const err = checkIstioRegex(o.regex);
      if (err) report.error([...p, 'regex'], err);
    }
  });
  (cors.allowMethods ?? []).forEach((m, i) => {
    if (!CORS_METHODS.has(m)) report.error([...path, 'allowMethods', i], `"${m}" is not a supported HTTP method`);
  });
  for (const field of ['allowHeaders', 'exposeHeaders'] as const) {
    (cors[field] ?? []).forEach((h, i) => {
      const err = checkCorsHeaderName(h);
      if (err) report.error([...path, field, i], err);
    });
  }
  if (cors.maxAge !== undefined) {
    const d = parseGoDuration(cors.maxAge);
    // Access-Control-Max-Age is in whole seconds.
    if (d.ok && d.nanos % 1_000_000_000n !== 0n) report.error([...path, 'maxAge'], 'maxAge must be a whole number of seconds');
  }
}

/** Fractional percentages: 0, or 0.0001..100. */
function checkPercentage(value: number | undefined, path: FieldPath, report: Report): void {
  if (value === undefined) return;
  if (value < 0 || value > 100 || (value > 0 && value < 0.0001)) {
    report.error(path, `percentage ${value} must be 0 or between 0.0001 and 100`);
  }
}

/** HTTP statuses Envoy can send: 200..599 (istiod's own check lets 600 through; Envoy then rejects it). */
function checkHttpStatus(status: number, path: FieldPath, report: Report): void {
  if (status < 200 || status > 599) report.error(path, `HTTP status ${status} is not in the range 200..599`);
}

function checkFault(http: HttpRouteInput, path: FieldPath, report: Report): void {
  const fault = http.fault;
  if (!fault) return;
  const fp = [...path, 'fault'];
  if (!fault.abort && !fault.delay) report.error(fp, 'fault injection needs an abort, a delay, or both');
  const abort = fault.abort;
  if (abort) {
    checkPercentage(abort.percentage?.value, [...fp, 'abort', 'percentage', 'value'], report);
    if (abort.grpcStatus !== undefined) {
      if (!GRPC_STATUSES.has(abort.grpcStatus)) {
        report.error([...fp, 'abort', 'grpcStatus'], `gRPC status "${abort.grpcStatus}" is not a status name such as NOT_FOUND or UNAVAILABLE`);
      }
    } else if (abort.http2Error !== undefined) {
      report.error([...fp, 'abort', 'http2Error'], 'HTTP/2 error abort injection is not supported by Istio');
    } else if (abort.httpStatus !== undefined) {
      checkHttpStatus(abort.httpStatus, [...fp, 'abort', 'httpStatus'], report);
    } else {
      report.warn([...fp, 'abort'], 'abort has no httpStatus or grpcStatus, so it does nothing');
    }
  }
  const delay = fault.delay;
  if (delay) {
    checkPercentage(delay.percentage?.value, [...fp, 'delay', 'percentage', 'value'], report);
    if (delay.exponentialDelay !== undefined) {
      report.error([...fp, 'delay', 'exponentialDelay'], 'exponentialDelay is not supported by Istio; use fixedDelay');
    }
  }
}

export function checkDestination(d: Destination | undefined, path: FieldPath, report: Report): void {
  if (!d) return;
  if (d.host === '*') report.error([...path, 'host'], 'destination host cannot be "*"');
  else {
    const err = checkWildcardDomain(d.host);
    if (err) report.error([...path, 'host'], err);
  }
  if (d.subset !== undefined && d.subset !== '') {
    const err = checkSubsetName(d.subset);
    if (err) report.error([...path, 'subset'], err);
  }
  if (d.port !== undefined) {
    const err = checkPort(d.port.number ?? 0);
    if (err) report.error([...path, 'port', 'number'], err);
  }
}

export function checkSubsetName(name: string): string | undefined {
  if (name === '') return 'subset name must not be empty';
  return isDns1123Label(name) ? undefined : `subset name "${name}" is not a DNS-1123 label`;
}

function checkMirrors(http: HttpRouteInput, path: FieldPath, report: Report): void {
  const legacy = http.mirrorPercent ?? http.mirror_percent;
  if (legacy !== undefined) {
    const p = [...path, http.mirrorPercent !== undefined ? 'mirrorPercent' : 'mirror_percent'];
    if (legacy > 100) report.error(p, `mirror percent ${legacy} is above 100`);
    report.warn(p, 'mirrorPercent is deprecated; use mirrorPercentage');
  }
  const pct = http.mirrorPercentage?.value;
  if (pct !== undefined && (pct < 0 || pct > 100)) {
    report.error([...path, 'mirrorPercentage', 'value'], `mirror percentage ${pct} is not in the range 0..100`);
  }
  checkDestination(http.mirror, [...path, 'mirror'], report);
  (http.mirrors ?? []).forEach((m, i) => {
    checkDestination(m.destination, [...path, 'mirrors', i, 'destination'], report);
    const v = m.percentage?.value;
    if (v !== undefined && (v < 0 || v > 100)) {
      report.error([...path, 'mirrors', i, 'percentage', 'value'], `mirror percentage ${v} is not in the range 0..100`);
    }
  });
}

function checkRedirect(http: HttpRouteInput, path: FieldPath, report: Report): void {
  const r = http.redirect;
  if (!r) return;
  const rp = [...path, 'redirect'];
  if (r.uri && r.prefixRewrite) report.error([...rp, 'prefixRewrite'], 'redirect may set uri or prefixRewrite, not both');
  if (r.prefixRewrite) {
    (http.match ?? []).forEach((m, j) => {
      if (m.uri !== undefined && m.uri.prefix === undefined) {
        report.error([...path, 'match', j, 'uri'], 'redirect.prefixRewrite needs every uri match to be a prefix match');
      }
    });
  }
  if (!r.uri && !r.prefixRewrite && !r.authority && r.port === undefined && r.derivePort === undefined && !r.scheme) {
    report.error(rp, 'redirect needs at least one of uri, prefixRewrite, authority, scheme or port');
  }
  if (r.redirectCode !== undefined && r.redirectCode !== 0 && (r.redirectCode < 300 || r.redirectCode > 399)) {
    report.error([...rp, 'redirectCode'], `redirect code ${r.redirectCode} is not a 3xx code`);
  }
  if (r.scheme && r.scheme !== 'http' && r.scheme !== 'https') report.error([...rp, 'scheme'], 'redirect scheme must be "http" or "https"');
  if (r.port !== undefined && r.port > 0) {
    const err = checkPort(r.port);
    if (err) report.error([...rp, 'port'], err);
  }
}

function checkDirectResponse(http: HttpRouteInput, path: FieldPath, report: Report): void {
  const dr = http.directResponse;
  if (!dr) return;
  const dp = [...path, 'directResponse'];
  const body = dr.body;
  if (body) {
    const size = body.string !== undefined ? Buffer.byteLength(body.string) : Buffer.from(body.bytes ?? '', 'base64').length;
    if (size > MB) report.error([...dp, 'body'], 'directResponse body must be smaller than 1MB');
    else if (size > 100 * KB) report.warn([...dp, 'body'], 'a directResponse body over 100KB slows config distribution');
  }
  checkHttpStatus(dr.status, [...dp, 'status'], report);
}

function checkRetries(http: HttpRouteInput, path: FieldPath, report: Report): void {
  if (http.retries) checkHttpRetry(http.retries, [...path, 'retries'], report);
}

/** istiod's ValidateHTTPRetry: a VirtualService's `retries`, and MeshConfig.defaultHttpRetryPolicy. */
export function checkHttpRetry(r: NonNullable<HttpRouteInput['retries']>, rp: FieldPath, report: Report): void {
  const attempts = r.attempts ?? 0;
  if (attempts < 0) report.error([...rp, 'attempts'], 'attempts cannot be negative');
  if (attempts === 0 && (r.perTryTimeout !== undefined || (r.retryOn ?? '') !== '' || r.retryRemoteLocalities !== undefined)) {
    report.error(rp, 'retry settings are given but attempts is 0 (unset means 0), which disables retries');
  }
  if (r.retryOn) {
    for (const token of r.retryOn.split(',')) {
      if (RETRY_ON_POLICIES.has(token)) continue;
      if (/^[+-]?\d+$/.test(token) && KNOWN_HTTP_STATUS.has(Number(token))) continue;
      const hint = token.trim() !== token ? ' (remove the spaces around commas)' : '';
      report.error([...rp, 'retryOn'], `"${token}" is not a valid retryOn policy${hint}`);
    }
  }
}

function checkRewrite(http: HttpRouteInput, path: FieldPath, report: Report): void {
  const rw = http.rewrite;
  const rp = [...path, 'rewrite'];
  if (rw) {
    if (rw.uri && rw.uriRegexRewrite) report.error([...rp, 'uriRegexRewrite'], 'rewrite may set uri or uriRegexRewrite, not both');
    if (!rw.uri && !rw.uriRegexRewrite && !rw.authority) report.error(rp, 'rewrite needs uri, uriRegexRewrite or authority');
    const rr = rw.uriRegexRewrite;
    if (rr) {
      if (!rr.match || !rr.rewrite) report.error([...rp, 'uriRegexRewrite'], 'uriRegexRewrite needs both match and rewrite');
      else {
        const err = checkIstioRegex(rr.match);
        if (err) report.error([...rp, 'uriRegexRewrite', 'match'], err);
      }
    }
  }
  // The authority may be rewritten in one place only: rewrite.authority or a request header.
  let current = rw?.authority ?? '';
  const req = http.headers?.request;
  for (const op of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(req?.[op] ?? {})) {
      if (!isAuthorityHeader(name)) continue;
      if (current !== '') {
        report.error([...path, 'headers', 'request', op, name], `the authority is already rewritten to "${current}"; it cannot also be set to "${value}"`);
        return;
      }
      current = value;
    }
  }
}

function checkDestinations(route: HTTPRouteDestination[] | undefined, path: FieldPath, report: Report): void {
  if (!route) return;
  let total = 0;
  route.forEach((rd, i) => {
    checkHeaderOperations(rd.headers, [...path, i, 'headers'], report);
    checkDestination(rd.destination, [...path, i, 'destination'], report);
    const w = rd.weight ?? 0;
    if (w < 0) report.error([...path, i, 'weight'], `weight ${w} is negative`);
    total += w;
  });
  if (route.length > 1 && total === 0) report.error(path, 'the destination weights add up to 0; give at least one a positive weight');
}

/** Destination weights of TCP and TLS routes follow the same rule as HTTP ones. */
export function checkRouteDestinations(route: { destination: Destination; weight?: number }[] | undefined, path: FieldPath, report: Report): void {
  checkDestinations(route, path, report);
}
