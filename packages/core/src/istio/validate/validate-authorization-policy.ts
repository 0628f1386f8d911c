// AuthorizationPolicy (security.istio.io): its CRD structure and istiod's webhook rules
// (pkg/config/validation ValidateAuthorizationPolicy, pkg/config/security ValidateAttribute).
// Meshlet enforces these policies in its server helpers (see security/authorization-policy.ts);
// the loader registers the kind from here so it is validated like every other kind.

import type { AuthorizationPolicySpec } from '../types.ts';
import { checkIpOrCidr, checkPort, checkSelectorLabels, type FieldPath, type ValidationContext } from './validate-common.ts';
import { arr, map, obj, policyTargetRef, str, type Schema } from './validate-schema.ts';

export const AUTHORIZATION_POLICY_KIND = { group: 'security.istio.io', versions: ['v1', 'v1beta1'] } as const;

const strings = () => arr(str());

export const authorizationPolicySchema: Schema = obj({
  selector: obj({ matchLabels: map(str({ maxLength: 63 }), { maxProperties: 4096 }) }),
  targetRef: policyTargetRef(),
  targetRefs: arr(policyTargetRef(), { maxItems: 16 }),
  action: str({ enum: ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] }),
  provider: obj({ name: str() }),
  rules: arr(obj({
    from: arr(obj({
      source: obj({
        principals: strings(), notPrincipals: strings(), requestPrincipals: strings(), notRequestPrincipals: strings(),
        namespaces: strings(), notNamespaces: strings(), serviceAccounts: strings(), notServiceAccounts: strings(),
        ipBlocks: strings(), notIpBlocks: strings(), remoteIpBlocks: strings(), notRemoteIpBlocks: strings(),
        trustDomains: strings(), notTrustDomains: strings(),
      }),
    })),
    to: arr(obj({
      operation: obj({
        hosts: strings(), notHosts: strings(), ports: strings(), notPorts: strings(),
        methods: strings(), notMethods: strings(), paths: strings(), notPaths: strings(),
      }),
    })),
    when: arr(obj({ key: str(), values: strings(), notValues: strings() }, { required: ['key'] })),
  })),
});

/** Condition keys istiod accepts (security.ValidateAttribute); `request.headers[...]` and claims take a name. */
const CONDITION_KEYS = new Set([
  'source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'source.serviceAccount', 'request.auth.principal',
  'request.auth.audiences', 'request.auth.presenter', 'destination.ip', 'destination.port', 'connection.sni',
]);

export function isSupportedConditionKey(key: string): boolean {
  if (CONDITION_KEYS.has(key)) return true;
  if (/^request\.headers\[[^\]]+\]$/.test(key)) return true;
  if (/^request\.auth\.claims\[.+\]$/.test(key)) return true;
  return key.startsWith('experimental.envoy.filters.');
}

export function validateAuthorizationPolicy(spec: AuthorizationPolicySpec, ctx: ValidationContext): void {
  const r = ctx.report;
  const action = spec.action ?? 'ALLOW';
  if (spec.selector !== undefined && (spec.targetRef !== undefined || spec.targetRefs !== undefined)) {
    r.error(['spec', 'selector'], 'selector and targetRef(s) cannot both be set');
  }
  if (spec.selector !== undefined) {
    checkSelectorLabels(spec.selector.matchLabels, ['spec', 'selector', 'matchLabels'], r, 'selector has no labels, so the policy applies to every workload in the namespace');
  }
  if (action === 'CUSTOM' && !spec.provider?.name) r.error(['spec', 'provider'], 'action CUSTOM needs provider.name');
  if (action !== 'CUSTOM' && spec.provider !== undefined) r.error(['spec', 'provider'], `provider is only allowed with action CUSTOM, not ${action}`);
  (spec.rules ?? []).forEach((rule, i) => {
    const at: FieldPath = ['spec', 'rules', i];
    (rule.from ?? []).forEach((f, j) => {
      const p: FieldPath = [...at, 'from', j, 'source'];
      if (!f.source) { r.error(p, '`from.source` must not be empty'); return; }
      if (Object.values(f.source).every((v) => v === undefined || v.length === 0)) r.error(p, '`from.source` must set at least one field');
      for (const [k, v] of Object.entries(f.source) as [string, string[] | undefined][]) {
        checkValues(v, [...p, k], r);
        if (k.endsWith('pBlocks') || k.endsWith('IpBlocks')) v?.forEach((ip, n) => { const e = checkIpOrCidr(ip); if (e) r.error([...p, k, n], e); });
      }
      if ((f.source.serviceAccounts?.length || f.source.notServiceAccounts?.length) && (f.source.principals?.length || f.source.notPrincipals?.length)) {
        r.error(p, 'serviceAccounts and principals cannot both be set');
      }
    });
    (rule.to ?? []).forEach((t, j) => {
      const p: FieldPath = [...at, 'to', j, 'operation'];
      if (!t.operation) { r.error(p, '`to.operation` must not be empty'); return; }
      if (Object.values(t.operation).every((v) => v === undefined || v.length === 0)) r.error(p, '`to.operation` must set at least one field');
      for (const [k, v] of Object.entries(t.operation) as [string, string[] | undefined][]) checkValues(v, [...p, k], r);
      for (const k of ['ports', 'notPorts'] as const) {
        t.operation[k]?.forEach((port, n) => {
          const e = /^\d+$/.test(port) ? checkPort(Number(port)) : `port "${port}" is not a number`;
          if (e) r.error([...p, k, n], e);
        });
      }
      for (const k of ['paths', 'notPaths'] as const) {
        t.operation[k]?.forEach((path, n) => {
          if (path !== '*' && !path.startsWith('/') && !path.startsWith('*')) r.error([...p, k, n], `path "${path}" must start with "/" (or be a "*" wildcard)`);
        });
      }
    });
    (rule.when ?? []).forEach((c, j) => {
      const p: FieldPath = [...at, 'when', j];
      if (!isSupportedConditionKey(c.key)) r.error([...p, 'key'], `unknown attribute "${c.key}"`);
      if (!c.values?.length && !c.notValues?.length) r.error(p, `condition ${c.key} needs values or notValues`);
      checkValues(c.values, [...p, 'values'], r);
      checkValues(c.notValues, [...p, 'notValues'], r);
    });
  });
}

function checkValues(values: readonly string[] | undefined, path: FieldPath, r: ValidationContext['report']): void {
  values?.forEach((v, i) => { if (v === '') r.error([...path, i], 'empty value is not allowed'); });
}
