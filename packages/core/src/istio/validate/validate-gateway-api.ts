// Loading HTTPRoute and GRPCRoute (gateway.networking.k8s.io): the API versions the CRDs serve,
// their structure (the CRD's OpenAPI schema: types, enums, bounds, required fields) and the
// CRD's CEL rules and patterns, which the API server enforces before any controller sees the
// object. What a route means is decided later (compile-gateway-api.ts); what Istio's controller
// refuses at conversion time (a Service backend named by host name, an unsupported backend kind)
// is reported there, as Istio reports it in the route's status rather than rejecting it.
//
// Limits and rules follow the standard channel CRDs (v1.3): 32 parentRefs, 16 hostnames,
// 16 rules, 64 matches per HTTPRoute rule (8 per GRPCRoute rule), 16 filters and 16 backendRefs,
// 16 header / query matches.

import type { GwBackendRef, GwGRPCRouteSpec, GwHTTPRouteSpec, GwRouteFilter, GwValueMatch } from '../gateway-api-types.ts';
import type { FieldPath, Report, ValidationContext } from './validate-common.ts';
import { checkRe2Syntax } from './validate-regex.ts';
import { arr, bool, obj, str, type Schema } from './validate-schema.ts';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const HTTP_ROUTE_KIND = { group: GATEWAY_GROUP, versions: ['v1', 'v1beta1'] } as const;
export const GRPC_ROUTE_KIND = { group: GATEWAY_GROUP, versions: ['v1', 'v1alpha2'] } as const;

const int = (min: number, max: number): Schema => ({ type: 'integer', min, max });
const port = (): Schema => int(1, 65535);

const backendObjectRef = (): Schema =>
  obj({ group: str({ maxLength: 253 }), kind: str({ maxLength: 63 }), name: str({ maxLength: 253 }), namespace: str({ maxLength: 63 }), port: port() }, { required: ['name'] });
const header = (): Schema => obj({ name: str({ maxLength: 256 }), value: str({ maxLength: 4096 }) }, { required: ['name', 'value'] });
const headerModifier = (): Schema => obj({ set: arr(header(), { maxItems: 16 }), add: arr(header(), { maxItems: 16 }), remove: arr(str({ maxLength: 256 }), { maxItems: 16 }) });
const pathModifier = (): Schema =>
  obj({ type: str({ enum: ['ReplaceFullPath', 'ReplacePrefixMatch'] }), replaceFullPath: str({ maxLength: 1024 }), replacePrefixMatch: str({ maxLength: 1024 }) }, { required: ['type'] });

function filterSchema(types: readonly string[]): Schema {
  return obj(
    {
      type: str({ enum: types }),
      requestHeaderModifier: headerModifier(),
      responseHeaderModifier: headerModifier(),
      requestMirror: obj(
        { backendRef: backendObjectRef(), percent: int(0, 100), fraction: obj({ numerator: int(0, 2147483647), denominator: int(1, 2147483647) }, { required: ['numerator'] }) },
        { required: ['backendRef'] },
      ),
      requestRedirect: obj({ scheme: str({ enum: ['http', 'https'] }), hostname: str({ maxLength: 253 }), path: pathModifier(), port: port(), statusCode: int(301, 302) }),
      urlRewrite: obj({ hostname: str({ maxLength: 253 }), path: pathModifier() }),
      extensionRef: obj({ group: str({ maxLength: 253 }), kind: str({ maxLength: 63 }), name: str({ maxLength: 253 }) }, { required: ['group', 'kind', 'name'] }),
      cors: obj({
        allowOrigins: arr(str({ maxLength: 253 }), { maxItems: 64 }),
        allowCredentials: bool(),
        allowMethods: arr(str({ enum: [...METHODS, '*'] }), { maxItems: 9 }),
        allowHeaders: arr(str({ maxLength: 256 }), { maxItems: 64 }),
        exposeHeaders: arr(str({ maxLength: 256 }), { maxItems: 64 }),
        maxAge: int(1, 2147483647),
      }),
      externalAuth: obj(
        {
          protocol: str({ enum: ['HTTP', 'GRPC'] }),
          backendRef: backendObjectRef(),
          grpc: obj({ allowedHeaders: arr(str(), { maxItems: 64 }) }),
          http: obj({ path: str({ maxLength: 1024 }), allowedHeaders: arr(str(), { maxItems: 64 }), allowedResponseHeaders: arr(str(), { maxItems: 64 }) }),
          forwardBody: obj({ maxSize: int(0, 65535) }),
        },
        { required: ['protocol', 'backendRef'] },
      ),
    },
    { required: ['type'] },
  );
}

const HTTP_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'RequestRedirect', 'URLRewrite', 'ExtensionRef', 'CORS', 'ExternalAuth'] as const;
const GRPC_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef'] as const;
const sessionPersistence = (): Schema =>
  obj({
    sessionName: str({ maxLength: 128 }),
    absoluteTimeout: str(),
    type: str({ enum: ['Cookie', 'Header'] }),
    cookieConfig: obj({ lifetimeType: str({ enum: ['Permanent', 'Session'] }) }),
  });
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

const backendRef = (filterTypes: readonly string[]): Schema =>
  obj(
    {
      group: str({ maxLength: 253 }),
      kind: str({ maxLength: 63 }),
      name: str({ maxLength: 253 }),
      namespace: str({ maxLength: 63 }),
      port: port(),
      weight: int(0, 1_000_000),
      filters: arr(filterSchema(filterTypes), { maxItems: 16 }),
    },
    { required: ['name'] },
  );
const valueMatch = (maxValue: number): Schema =>
  obj({ type: str({ enum: ['Exact', 'RegularExpression'] }), name: str({ maxLength: 256 }), value: str({ maxLength: maxValue }) }, { required: ['name', 'value'] });
const parentRef = (): Schema =>
  obj(
    { group: str({ maxLength: 253 }), kind: str({ maxLength: 63 }), namespace: str({ maxLength: 63 }), name: str({ maxLength: 253 }), sectionName: str({ maxLength: 253 }), port: port() },
    { required: ['name'] },
  );

export const httpRouteSchema: Schema = obj({
  parentRefs: arr(parentRef(), { maxItems: 32 }),
  // Experimental channel: attachment to default Gateways, which mesh (GAMMA) routes do not use.
  useDefaultGateways: str({ enum: ['All', 'None'] }),
  hostnames: arr(str({ maxLength: 253 }), { maxItems: 16 }),
  rules: arr(
    obj({
      name: str({ maxLength: 253 }),
      matches: arr(
        obj({
          path: obj({ type: str({ enum: ['Exact', 'PathPrefix', 'RegularExpression'] }), value: str({ maxLength: 1024 }) }),
          headers: arr(valueMatch(4096), { maxItems: 16 }),
          queryParams: arr(valueMatch(1024), { maxItems: 16 }),
          method: str({ enum: METHODS }),
        }),
        { maxItems: 64 },
      ),
      filters: arr(filterSchema(HTTP_FILTERS), { maxItems: 16 }),
      backendRefs: arr(backendRef(HTTP_FILTERS), { maxItems: 16 }),
      timeouts: obj({ request: str(), backendRequest: str() }),
      retry: obj({ codes: arr(int(400, 599)), attempts: int(0, 2147483647), backoff: str() }),
      sessionPersistence: sessionPersistence(),
    }),
    { maxItems: 16 },
  ),
});

export const grpcRouteSchema: Schema = obj({
  parentRefs: arr(parentRef(), { maxItems: 32 }),
  // Experimental channel: attachment to default Gateways, which mesh (GAMMA) routes do not use.
  useDefaultGateways: str({ enum: ['All', 'None'] }),
  hostnames: arr(str({ maxLength: 253 }), { maxItems: 16 }),
  rules: arr(
    obj({
      name: str({ maxLength: 253 }),
      matches: arr(
        obj({
          method: obj({ type: str({ enum: ['Exact', 'RegularExpression'] }), service: str({ maxLength: 1024 }), method: str({ maxLength: 1024 }) }),
          headers: arr(valueMatch(4096), { maxItems: 16 }),
        }),
        { maxItems: 8 },
      ),
      filters: arr(filterSchema(GRPC_FILTERS), { maxItems: 16 }),
      backendRefs: arr(backendRef(GRPC_FILTERS), { maxItems: 16 }),
      sessionPersistence: sessionPersistence(),
    }),
    { maxItems: 16 },
  ),
});

// ---- the CRDs' patterns and CEL rules ---------------------------------------------------------

const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PRECISE_HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const GRPC_SERVICE = /^(?:\.?[a-z_][a-z_0-9]*(?:\.[a-z_][a-z_0-9]*)*)$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

function checkRefCommon(r: { group?: string; kind?: string; namespace?: string; name: string }, path: FieldPath, report: Report): void {
  if (r.name === '') report.error([...path, 'name'], 'name must not be empty');
  if (r.group !== undefined && !GROUP.test(r.group)) report.error([...path, 'group'], `group "${r.group}" must be empty (the core group) or a DNS subdomain`);
  if (r.kind !== undefined && !KIND.test(r.kind)) report.error([...path, 'kind'], `kind "${r.kind}" is not a Kubernetes kind name`);
  if (r.namespace !== undefined && !NAMESPACE.test(r.namespace)) report.error([...path, 'namespace'], `namespace "${r.namespace}" must be a lowercase DNS-1123 label`);
}

function isServiceRef(r: { group?: string; kind?: string }): boolean {
  return (r.group ?? '') === '' && (r.kind ?? 'Service') === 'Service';
}

function checkBackendObjectRef(r: { group?: string; kind?: string; namespace?: string; name: string; port?: number }, path: FieldPath, report: Report): void {
  checkRefCommon(r, path, report);
  // CRD rule: "Must have port for Service reference".
  if (isServiceRef(r) && r.port === undefined) report.error([...path, 'port'], 'port is required when the backend is a Service');
}

function checkParentRefs(refs: GwHTTPRouteSpec['parentRefs'], report: Report): void {
  const seen = new Set<string>();
  (refs ?? []).forEach((p, i) => {
    const path = ['spec', 'parentRefs', i];
    checkRefCommon(p, path, report);
    if (p.sectionName !== undefined && !SECTION_NAME.test(p.sectionName)) report.error([...path, 'sectionName'], `sectionName "${p.sectionName}" must be a DNS-1123 subdomain`);
    // CRD rule: parentRefs must be unique by group, kind, namespace, name, sectionName and port.
    const key = JSON.stringify([p.group ?? GATEWAY_GROUP, p.kind ?? 'Gateway', p.namespace ?? '', p.name, p.sectionName ?? '', p.port ?? 0]);
    if (seen.has(key)) report.error(path, 'duplicate parentRef: every parentRef must differ in group, kind, namespace, name, sectionName or port');
    seen.add(key);
  });
}

function checkHostnames(hostnames: readonly string[] | undefined, report: Report): void {
  (hostnames ?? []).forEach((h, i) => {
    if (!HOSTNAME.test(h)) report.error(['spec', 'hostnames', i], `hostname "${h}" must be a lowercase DNS name, optionally with a leading "*." (no IPs, ports or trailing dots)`);
  });
}

function checkValueMatches(list: readonly GwValueMatch[] | undefined, path: FieldPath, what: 'header' | 'query parameter', report: Report): void {
  const seen = new Set<string>();
  (list ?? []).forEach((m, i) => {
    const p = [...path, i];
    if (m.name === '' || !HEADER_NAME.test(m.name)) report.error([...p, 'name'], `${what} name "${m.name}" must be a token (letters, digits and !#$%&'*+-.^_\`|~)`);
    const key = what === 'header' ? m.name.toLowerCase() : m.name;
    if (seen.has(key)) report.error([...p, 'name'], `${what} "${m.name}" is matched twice in one match (names must be unique${what === 'header' ? ', ignoring case' : ''})`);
    seen.add(key);
    if (m.value === '') report.error([...p, 'value'], `${what} match value must not be empty`);
    if (m.type === 'RegularExpression') {
      const err = checkRe2Syntax(m.value);
      if (err) report.error([...p, 'value'], `invalid regular expression: ${err}`);
    }
  });
}

function checkPathValue(type: string, value: string, path: FieldPath, report: Report): void {
  if (type === 'RegularExpression') {
    const err = checkRe2Syntax(value);
    if (err) report.error(path, `invalid regular expression: ${err}`);
    return;
  }
  if (!value.startsWith('/')) report.error(path, `path "${value}" must be an absolute path (start with "/")`);
  else if (/\/\/|\/\.\/|\/\.\.\/|%2f|%2F|#/.test(value)) report.error(path, `path "${value}" must not contain "//", "/./", "/../", "%2f", "%2F" or "#"`);
  else if (value.endsWith('/..') || value.endsWith('/.')) report.error(path, `path "${value}" must not end with "/.." or "/."`);
}

const FILTER_FIELD: Record<string, keyof GwRouteFilter> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
};

/** Filters of one rule (or one backendRef); `prefixMatches` counts the rule's PathPrefix matches for replacePrefixMatch. */
function checkFilters(filters: readonly GwRouteFilter[] | undefined, path: FieldPath, rule: { matchCount: number; prefixMatches: number } | undefined, report: Report): void {
  const once = new Map<string, number>();
  (filters ?? []).forEach((f, i) => {
    const p = [...path, i];
    // CRD rules: the field named by `type` must be set, and no other filter field.
    for (const [type, field] of Object.entries(FILTER_FIELD)) {
      const set = f[field] !== undefined;
      if (type === f.type && !set) report.error([...p, field], `${field} must be set when type is ${type}`);
      if (type !== f.type && set) report.error([...p, field], `${field} must not be set when type is ${f.type}`);
    }
    if (f.type !== 'RequestMirror' && f.type !== 'ExtensionRef') once.set(f.type, (once.get(f.type) ?? 0) + 1);
    for (const mod of [f.requestHeaderModifier, f.responseHeaderModifier]) {
      if (!mod) continue;
      const field = mod === f.requestHeaderModifier ? 'requestHeaderModifier' : 'responseHeaderModifier';
      for (const op of ['set', 'add'] as const) {
        const names = new Set<string>();
        (mod[op] ?? []).forEach((h, j) => {
          if (h.name === '' || !HEADER_NAME.test(h.name)) report.error([...p, field, op, j, 'name'], `header name "${h.name}" must be a token`);
          if (names.has(h.name.toLowerCase())) report.error([...p, field, op, j, 'name'], `header "${h.name}" appears twice in ${op} (names must be unique, ignoring case)`);
          names.add(h.name.toLowerCase());
        });
      }
      const removed = new Set<string>();
      (mod.remove ?? []).forEach((h, j) => {
        if (removed.has(h.toLowerCase())) report.error([...p, field, 'remove', j], `header "${h}" is removed twice`);
        removed.add(h.toLowerCase());
      });
    }
    const mirror = f.requestMirror;
    if (mirror) {
      checkBackendObjectRef(mirror.backendRef, [...p, 'requestMirror', 'backendRef'], report);
      if (mirror.percent !== undefined && mirror.fraction !== undefined) report.error([...p, 'requestMirror'], 'only one of percent or fraction may be set');
      const fr = mirror.fraction;
      if (fr && fr.numerator > (fr.denominator ?? 100)) report.error([...p, 'requestMirror', 'fraction'], 'numerator must be less than or equal to denominator');
    }
    for (const field of ['requestRedirect', 'urlRewrite'] as const) {
      const pm = f[field]?.path;
      if (pm) {
        const pp = [...p, field, 'path'];
        if (pm.type === 'ReplaceFullPath' && pm.replaceFullPath === undefined) report.error([...pp, 'replaceFullPath'], 'replaceFullPath must be set when type is ReplaceFullPath');
        if (pm.type !== 'ReplaceFullPath' && pm.replaceFullPath !== undefined) report.error([...pp, 'replaceFullPath'], 'replaceFullPath must not be set unless type is ReplaceFullPath');
        if (pm.type === 'ReplacePrefixMatch' && pm.replacePrefixMatch === undefined) report.error([...pp, 'replacePrefixMatch'], 'replacePrefixMatch must be set when type is ReplacePrefixMatch');
        if (pm.type !== 'ReplacePrefixMatch' && pm.replacePrefixMatch !== undefined) report.error([...pp, 'replacePrefixMatch'], 'replacePrefixMatch must not be set unless type is ReplacePrefixMatch');
        const value = pm.replaceFullPath ?? pm.replacePrefixMatch;
        if (value !== undefined && value !== '' && !value.startsWith('/')) report.error(pp, `path "${value}" must start with "/"`);
        // CRD rule: a prefix replacement needs exactly one match, and it must be a PathPrefix.
        if (pm.type === 'ReplacePrefixMatch' && rule && !(rule.matchCount === 1 && rule.prefixMatches === 1)) {
          report.error(pp, `replacePrefixMatch needs the rule to have exactly one match, with a PathPrefix path (this rule has ${rule.matchCount} match(es))`);
        }
      }
      const host = f[field]?.hostname;
      if (host !== undefined && !PRECISE_HOSTNAME.test(host)) report.error([...p, field, 'hostname'], `hostname "${host}" must be a lowercase DNS name without wildcards`);
    }
  });
  for (const [type, n] of once) if (n > 1) report.error(path, `${type} may appear at most once per rule (found ${n})`);
  if ((once.get('RequestRedirect') ?? 0) > 0 && (once.get('URLRewrite') ?? 0) > 0) report.error(path, 'RequestRedirect and URLRewrite cannot both be used in one rule');
}

function checkBackendRefs(refs: readonly GwBackendRef[] | undefined, path: FieldPath, report: Report): void {
  (refs ?? []).forEach((b, i) => {
    checkBackendObjectRef(b, [...path, i], report);
    // The CRD accepts any filter here; which ones are honoured is the converter's to say (Istio
    // programs only the header modifiers on a backend and refuses the route otherwise).
    checkFilters(b.filters, [...path, i, 'filters'], undefined, report);
  });
}

function checkRuleNames(rules: readonly { name?: string }[] | undefined, report: Report): void {
  const seen = new Set<string>();
  (rules ?? []).forEach((r, i) => {
    if (r.name === undefined) return;
    if (!SECTION_NAME.test(r.name)) report.error(['spec', 'rules', i, 'name'], `rule name "${r.name}" must be a DNS-1123 subdomain`);
    if (seen.has(r.name)) report.error(['spec', 'rules', i, 'name'], `rule name "${r.name}" is used twice (rule names must be unique within the route)`);
    seen.add(r.name);
  });
}

export function validateHttpRoute(spec: GwHTTPRouteSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  checkParentRefs(spec.parentRefs, r);
  checkHostnames(spec.hostnames, r);
  checkRuleNames(spec.rules, r);
  (spec.rules ?? []).forEach((rule, i) => {
    const base = ['spec', 'rules', i];
    let prefixMatches = 0;
    (rule.matches ?? []).forEach((m, j) => {
      const mp = [...base, 'matches', j];
      const type = m.path?.type ?? 'PathPrefix';
      if (type === 'PathPrefix') prefixMatches++;
      if (m.path) checkPathValue(type, m.path.value ?? '/', [...mp, 'path', 'value'], r);
      checkValueMatches(m.headers, [...mp, 'headers'], 'header', r);
      checkValueMatches(m.queryParams, [...mp, 'queryParams'], 'query parameter', r);
    });
    // A rule with no matches gets the default match, a PathPrefix "/".
    const matchCount = rule.matches?.length ?? 1;
    if (!rule.matches) prefixMatches = 1;
    checkFilters(rule.filters, [...base, 'filters'], { matchCount, prefixMatches }, r);
    checkBackendRefs(rule.backendRefs, [...base, 'backendRefs'], r);
    const t = rule.timeouts;
    const request = checkDuration(t?.request, [...base, 'timeouts', 'request'], r);
    const backend = checkDuration(t?.backendRequest, [...base, 'timeouts', 'backendRequest'], r);
    // CRD rule: "backendRequest timeout cannot be longer than request timeout" (0 = no timeout).
    if (request !== undefined && backend !== undefined && request !== 0 && backend > request) {
      r.error([...base, 'timeouts', 'backendRequest'], `backendRequest (${t!.backendRequest}) cannot be longer than request (${t!.request})`);
    }
    checkDuration(rule.retry?.backoff, [...base, 'retry', 'backoff'], r);
  });
}

export function validateGrpcRoute(spec: GwGRPCRouteSpec, ctx: ValidationContext): void {
  const r = ctx.report;
  checkParentRefs(spec.parentRefs, r);
  checkHostnames(spec.hostnames, r);
  checkRuleNames(spec.rules, r);
  (spec.rules ?? []).forEach((rule, i) => {
    const base = ['spec', 'rules', i];
    (rule.matches ?? []).forEach((m, j) => {
      const mp = [...base, 'matches', j];
      const mm = m.method;
      if (mm) {
        if (mm.service === undefined && mm.method === undefined) r.error([...mp, 'method'], 'one or both of service and method must be set');
        if ((mm.type ?? 'Exact') === 'Exact') {
          if (mm.service !== undefined && !GRPC_SERVICE.test(mm.service)) r.error([...mp, 'method', 'service'], `service "${mm.service}" must be a fully qualified protobuf service name (e.g. helloworld.Greeter)`);
          if (mm.method !== undefined && !GRPC_METHOD.test(mm.method)) r.error([...mp, 'method', 'method'], `method "${mm.method}" must be a protobuf method name`);
        } else {
          for (const f of ['service', 'method'] as const) {
            const v = mm[f];
            const err = v === undefined ? undefined : checkRe2Syntax(v);
            if (err) r.error([...mp, 'method', f], `invalid regular expression: ${err}`);
          }
        }
      }
      checkValueMatches(m.headers, [...mp, 'headers'], 'header', r);
    });
    checkFilters(rule.filters, [...base, 'filters'], undefined, r);
    checkBackendRefs(rule.backendRefs, [...base, 'backendRefs'], r);
  });
}

/** A Gateway API Duration ("1h", "500ms", "1m30s"; at most 4 parts of up to 5 digits); returns ms. */
function checkDuration(v: string | undefined, path: FieldPath, report: Report): number | undefined {
  if (v === undefined) return undefined;
  const ms = gatewayDurationMs(v);
  if (ms === undefined) report.error(path, `duration "${v}" must match ^([0-9]{1,5}(h|m|s|ms)){1,4}$ (e.g. 10s, 500ms, 1m30s)`);
  return ms;
}

const DURATION = /^(?:[0-9]{1,5}(?:h|m|s|ms)){1,4}$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds of a Gateway API Duration, or undefined when it does not match the CRD's pattern. */
export function gatewayDurationMs(v: string): number | undefined {
  if (!DURATION.test(v)) return undefined;
  let ms = 0;
  for (const [, n, unit] of v.matchAll(/([0-9]+)(ms|h|m|s)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

