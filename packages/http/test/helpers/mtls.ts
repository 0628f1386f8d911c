// Real certificates and mesh config for the mTLS tests: a dev root CA with workload identities
// in istio-agent's layout, a second (untrusted) root, an expired certificate, and the YAML that
// makes `reviews` an ISTIO_MUTUAL service backed by a server on 127.0.0.1.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRootCa, issueDevCertificates, issueWorkloadCert } from '../../../core/src/security/dev-certs.ts';
import { tempDir } from '../../../core/test/temp-dir.ts';

export const FQDN = 'reviews.default.svc.cluster.local';
export const id = (sa: string, ns = 'default') => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

export interface Pki {
  root: string;
  /** Folder per workload: cert-chain.pem, key.pem, root-cert.pem. */
  dir(name: string): string;
  issue(name: string, sa: string, opts?: { hours?: number; ns?: string }): string;
  /** A workload certificate whose validity ended an hour ago. */
  expired(name: string, sa: string): string;
  /** An identity signed by a root nobody trusts, with the trusted root-cert.pem beside it. */
  untrusted(name: string, sa: string): string;
  cleanup(): void;
}

export function createPki(): Pki {
  const root = tempDir('mtls');
  const caDir = join(root, 'ca');
  const dir = (name: string) => join(root, name);
  const issue = (name: string, sa: string, opts: { hours?: number; ns?: string } = {}) =>
    issueDevCertificates({ out: dir(name), caDir, namespace: opts.ns ?? 'default', serviceAccount: sa, ...(opts.hours !== undefined && { hours: opts.hours }) }).dir;
  // Make the shared root first so the odd ones below can reuse it.
  issue('.init', 'init');
  const ca = { certPem: readFileSync(join(caDir, 'root-cert.pem'), 'utf8'), keyPem: readFileSync(join(caDir, 'root-key.pem'), 'utf8') };
  const writeLayout = (name: string, leaf: { certPem: string; keyPem: string }, rootPem: string) => {
    mkdirSync(dir(name), { recursive: true });
    writeFileSync(join(dir(name), 'cert-chain.pem'), leaf.certPem);
    writeFileSync(join(dir(name), 'key.pem'), leaf.keyPem);
    writeFileSync(join(dir(name), 'root-cert.pem'), rootPem);
    return dir(name);
  };
  return {
    root,
    dir,
    issue,
    expired(name, sa) {
      const now = Date.now();
      const leaf = issueWorkloadCert(ca, { uris: [id(sa)], notBefore: new Date(now - 48 * 3600_000), notAfter: new Date(now - 3600_000) });
      return writeLayout(name, leaf, ca.certPem);
    },
    untrusted(name, sa) {
      const other = createRootCa();
      return writeLayout(name, issueWorkloadCert(other, { uris: [id(sa)] }), ca.certPem);
    },
    cleanup() { rmSync(root, { recursive: true, force: true }); },
  };
}

/**
 * ServiceEntry + DestinationRule for `reviews` on 127.0.0.1 at each of `port` (one endpoint per
 * port), run by service account `sa`. `protocol` is the service port's (HTTP unless given; null:
 * none, so the protocol is sniffed); `trafficPolicy` adds to the rule's `tls`.
 */
export function clientConfig(dir: string, opts: { port: number | readonly number[]; sa?: string; tls?: Record<string, unknown>; protocol?: string | null; trafficPolicy?: Record<string, unknown> }): string {
  mkdirSync(dir, { recursive: true });
  const tls = opts.tls ?? { mode: 'ISTIO_MUTUAL' };
  const protocol = opts.protocol === undefined ? 'HTTP' : opts.protocol;
  // A port with no protocol is sniffed unless its name says one, so it is not named http.
  const name = protocol === null ? 'web' : 'http';
  const ports = typeof opts.port === 'number' ? [opts.port] : opts.port;
  writeFileSync(join(dir, 'reviews.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${FQDN}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: ${name}${protocol === null ? '' : `, protocol: ${protocol}`} }]
  endpoints:
${ports.map((p) => `  - { address: 127.0.0.1, ports: { ${name}: ${p} }, serviceAccount: ${opts.sa ?? 'reviews'} }`).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${FQDN}
  trafficPolicy: ${JSON.stringify({ ...opts.trafficPolicy, tls })}
`);
  return dir;
}

/** Server-side policies: PeerAuthentication and AuthorizationPolicy YAML documents. */
export function serverConfig(dir: string, docs: string[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'security.yaml'), docs.join('\n---\n'));
  return dir;
}

/** The error a request that must fail failed with; throws if it succeeded. */
export async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('the request succeeded but should have failed');
}
