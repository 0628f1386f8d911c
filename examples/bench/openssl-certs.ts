// Certificates for the mTLS rows, made with openssl: one CA; the two HAProxy sidecars' certs
// (client and server of the hop between them); a SPIFFE workload certificate for Meshlet in
// istio-agent's file layout, and one for the upstream it talks to. EC P-256 throughout, so
// every mTLS row pays the same handshake and record costs.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchCerts {
  dir: string;
  ca: string;
  /** PEM with certificate and key together, as HAProxy's `crt` wants them. */
  proxyClientPem: string;
  proxyServerPem: string;
  /** Folder with cert-chain.pem, key.pem, root-cert.pem (istio-agent layout) for Meshlet. */
  meshletCertDir: string;
  serverCert: string;
  serverKey: string;
  /** The SPIFFE ID in the upstream's certificate. */
  serverSpiffeId: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function issue(dir: string, name: string, subject: string, san: string, usage: string): void {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
}

export function makeCerts(dir: string): BenchCerts {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/O=meshlet-bench/CN=bench root'], dir);
  issue(dir, 'proxy-client', '/CN=sidecar-client', 'DNS:sidecar-client', 'clientAuth');
  issue(dir, 'proxy-server', '/CN=sidecar-server', 'DNS:sidecar-server', 'serverAuth');
  const serverSpiffeId = 'spiffe://cluster.local/ns/default/sa/bench-server';
  issue(dir, 'workload-client', '/O=cluster.local', 'URI:spiffe://cluster.local/ns/default/sa/bench-client', 'clientAuth,serverAuth');
  issue(dir, 'workload-server', '/O=cluster.local', `URI:${serverSpiffeId},DNS:bench-tls.default.svc.cluster.local`, 'clientAuth,serverAuth');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  writeFileSync(join(dir, 'proxy-client.pem'), read('proxy-client.crt') + read('proxy-client.key'));
  writeFileSync(join(dir, 'proxy-server.pem'), read('proxy-server.crt') + read('proxy-server.key'));
  const meshletCertDir = join(dir, 'meshlet');
  mkdirSync(meshletCertDir, { recursive: true });
  copyFileSync(join(dir, 'workload-client.crt'), join(meshletCertDir, 'cert-chain.pem'));
  copyFileSync(join(dir, 'workload-client.key'), join(meshletCertDir, 'key.pem'));
  copyFileSync(join(dir, 'ca.crt'), join(meshletCertDir, 'root-cert.pem'));
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    proxyClientPem: join(dir, 'proxy-client.pem'),
    proxyServerPem: join(dir, 'proxy-server.pem'),
    meshletCertDir,
    serverCert: join(dir, 'workload-server.crt'),
    serverKey: join(dir, 'workload-server.key'),
    serverSpiffeId,
  };
}
