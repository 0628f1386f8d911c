// `meshlet certs`: a development root CA and a workload identity in istio-agent's layout, so a
// demo or a test can run with mTLS on one machine. Run it once per workload; they share the root.

import { parseArgs } from 'node:util';
import { issueDevCertificates } from '../security/dev-certs.ts';

export interface Out {
  log(s: string): void;
  error(s: string): void;
}

export function certsCommand(args: string[], out: Out): number {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      'trust-domain': { type: 'string' },
      ca: { type: 'string' },
      hours: { type: 'string' },
      dns: { type: 'string', multiple: true },
    },
  });
  if (!values.out) { out.error('meshlet certs: --out <dir> is required'); return 2; }
  const namespace = values.namespace ?? 'default';
  const serviceAccount = values['service-account'] ?? 'default';
  const hours = values.hours === undefined ? undefined : Number(values.hours);
  if (hours !== undefined && !(hours > 0)) { out.error(`meshlet certs: --hours ${values.hours} must be a positive number`); return 2; }
  for (const [what, v] of [['namespace', namespace], ['service account', serviceAccount]] as const) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) { out.error(`meshlet certs: ${what} ${JSON.stringify(v)} is not a Kubernetes name`); return 2; }
  }
  const r = issueDevCertificates({
    out: values.out,
    namespace,
    serviceAccount,
    ...(values['trust-domain'] !== undefined && { trustDomain: values['trust-domain'] }),
    ...(values.ca !== undefined && { caDir: values.ca }),
    ...(hours !== undefined && { hours }),
    ...(values.dns !== undefined && { dnsNames: values.dns }),
  });
  out.log(`${r.spiffeId}\n  ${r.dir}/cert-chain.pem, key.pem, root-cert.pem (valid until ${r.notAfter.toISOString()})\n  root CA: ${r.caDir}`);
  return 0;
}
