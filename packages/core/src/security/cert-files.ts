// Reading workload certificates from files, as istio-agent writes them (cert-chain.pem, key.pem,
// root-cert.pem in one folder) or as a DestinationRule names them. Everything is checked before
// it is used: a chain that does not parse, a key that does not belong to the certificate or an
// empty CA bundle is a CertificateError naming the file, never a half-configured connection.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { CertificateError } from './tls-errors.ts';
import { spiffeIdOf } from './spiffe.ts';

/** istio-agent's file names (the `file_watcher` certificate provider istiod's bootstrap points at). */
export const ISTIO_CERT_FILES = { certificateChain: 'cert-chain.pem', privateKey: 'key.pem', rootCert: 'root-cert.pem' } as const;

export interface CertFilePaths {
  readonly certificateChain?: string | undefined;
  readonly privateKey?: string | undefined;
  readonly rootCert?: string | undefined;
}

/** istio-agent's layout inside `dir`. */
export function istioCertPaths(dir: string): Required<CertFilePaths> {
  return {
    certificateChain: join(dir, ISTIO_CERT_FILES.certificateChain),
    privateKey: join(dir, ISTIO_CERT_FILES.privateKey),
    rootCert: join(dir, ISTIO_CERT_FILES.rootCert),
  };
}

export interface CertMaterial {
  /** PEM chain, leaf first. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** PEM bundle of trusted roots. */
  readonly ca: string | undefined;
  /** The leaf's SPIFFE ID, when it has one. */
  readonly identity: string | undefined;
  readonly notAfter: Date | undefined;
}

export function readCertFiles(paths: CertFilePaths): CertMaterial {
  const cert = paths.certificateChain === undefined ? undefined : readPem(paths.certificateChain, 'certificate chain');
  const key = paths.privateKey === undefined ? undefined : readPem(paths.privateKey, 'private key');
  const ca = paths.rootCert === undefined ? undefined : readPem(paths.rootCert, 'root certificate');
  if ((cert === undefined) !== (key === undefined)) {
    throw new CertificateError(`a client certificate needs both a chain and a key (got only ${cert === undefined ? paths.privateKey : paths.certificateChain})`);
  }
  let identity: string | undefined;
  let notAfter: Date | undefined;
  if (cert !== undefined && key !== undefined) {
    const leaf = parseCertificates(cert, paths.certificateChain!)[0]!;
    let privateKey;
    try {
      privateKey = process.getBuiltinModule('node:crypto').createPrivateKey(key);
    } catch (err) {
      throw new CertificateError(`${paths.privateKey}: not a usable private key: ${(err as Error).message}`, { cause: err });
    }
    // A rotation writes the chain and the key one after the other; a pair that does not match is
    // a write in progress (or a mistake) and must not replace a good pair.
    if (!leaf.checkPrivateKey(privateKey)) throw new CertificateError(`${paths.privateKey} does not belong to the certificate in ${paths.certificateChain}`);
    identity = spiffeIdOf(leaf.subjectAltName);
    notAfter = new Date(leaf.validTo);
  }
  if (ca !== undefined) parseCertificates(ca, paths.rootCert!);
  return { cert, key, ca, identity, notAfter };
}

function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CertificateError(`cannot read the ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  if (!text.includes('-----BEGIN ')) throw new CertificateError(`${file}: the ${what} is not PEM (no -----BEGIN line)`);
  return text;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle; at least one. */
export function parseCertificates(pem: string, file: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new CertificateError(`${file}: no CERTIFICATE block`);
  const { X509Certificate } = process.getBuiltinModule('node:crypto');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new CertificateError(`${file}: certificate ${i + 1} does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}
