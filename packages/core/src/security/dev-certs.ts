// Development certificates shaped like Istio's: a self-signed root (O=<trust domain>) and
// workload certificates with an empty subject and one critical URI SAN
// spiffe://<trust domain>/ns/<ns>/sa/<sa>, usable for both server and client auth, written in
// istio-agent's layout (cert-chain.pem, key.pem, root-cert.pem). Made with node:crypto and a
// small DER encoder, so `meshlet certs`, the demo and the tests need neither openssl nor an extra
// package, and tests can set any validity window (an expired certificate is a test case).

import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ISTIO_CERT_FILES } from './cert-files.ts';
import { spiffeId } from './spiffe.ts';
import { bits, bool, explicit, implicit, namedBits, octets, oid, pem, seq, set, time, uint, utf8 } from './der.ts';

// node:crypto is taken on first use, not imported: @meshlet/core exports this module, and
// compiling node:crypto is ~10 ms of every cold start that never issues a certificate.
const crypto = () => process.getBuiltinModule('node:crypto');

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const KU_DIGITAL_SIGNATURE = 0x80;
const KU_KEY_ENCIPHERMENT = 0x20;
const KU_KEY_CERT_SIGN = 0x04;
const KU_CRL_SIGN = 0x02;

export interface Issued {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function keyId(spki: Buffer): Buffer {
  return crypto().createHash('sha1').update(spki).digest();
}

interface CertSpec {
  subject: Buffer;
  issuer: Buffer;
  spki: Buffer;
  issuerSpki: Buffer;
  signer: KeyObject;
  extensions: Buffer[];
  validity: Required<Validity>;
}

function build(spec: CertSpec): string {
  const serial = crypto().randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))),
    uint(serial),
    ECDSA_SHA256,
    spec.issuer,
    seq(time(spec.validity.notBefore), time(spec.validity.notAfter)),
    spec.subject,
    spec.spki,
    explicit(3, seq(
      ...spec.extensions,
      extension('2.5.29.14', false, octets(keyId(spec.spki))),
      extension('2.5.29.35', false, seq(implicit(0, keyId(spec.issuerSpki)))),
    )),
  );
  const signature = crypto().sign('sha256', tbs, spec.signer);
  return pem('CERTIFICATE', seq(tbs, ECDSA_SHA256, bits(signature)));
}

function newKey(): { key: KeyObject; spki: Buffer; keyPem: string } {
  const { privateKey, publicKey } = crypto().generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { key: privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function window(v: Validity, hours: number): Required<Validity> {
  // Start a minute in the past so clocks slightly behind still accept a fresh certificate.
  const notBefore = v.notBefore ?? new Date(Date.now() - 60_000);
  return { notBefore, notAfter: v.notAfter ?? new Date(notBefore.getTime() + hours * 3600_000) };
}

/** A self-signed root, like istiod's self-signed CA (subject O=<trust domain>). */
export function createRootCa(opts: { trustDomain?: string } & Validity = {}): Issued {
  const { key, spki, keyPem } = newKey();
  const name = seq(set(seq(oid('2.5.4.10'), utf8(opts.trustDomain ?? 'cluster.local'))));
  const certPem = build({
    subject: name,
    issuer: name,
    spki,
    issuerSpki: spki,
    signer: key,
    validity: window(opts, 10 * 365 * 24),
    extensions: [
      extension('2.5.29.19', true, seq(bool(true))),
      extension('2.5.29.15', true, namedBits(KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN)),
    ],
  });
  return { certPem, keyPem };
}

/** A workload certificate signed by `ca`, carrying `uris` (SPIFFE IDs) and `dnsNames`. */
export function issueWorkloadCert(ca: Issued, opts: { uris?: string[]; dnsNames?: string[] } & Validity & { hours?: number }): Issued {
  const { spki, keyPem } = newKey();
  const caCert = new (crypto().X509Certificate)(ca.certPem);
  const caSpki = caCert.publicKey.export({ type: 'spki', format: 'der' });
  const issuer = Buffer.from(caCert.raw.subarray(...subjectRange(caCert.raw)));
  const names = [
    ...(opts.uris ?? []).map((u) => implicit(6, Buffer.from(u, 'ascii'))),
    ...(opts.dnsNames ?? []).map((d) => implicit(2, Buffer.from(d, 'ascii'))),
  ];
  const certPem = build({
    // Istio's workload certificates have an empty subject; the SAN is then critical (RFC 5280).
    subject: seq(),
    issuer,
    spki,
    issuerSpki: caSpki,
    signer: crypto().createPrivateKey(ca.keyPem),
    validity: window(opts, opts.hours ?? 24),
    extensions: [
      extension('2.5.29.15', true, namedBits(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)),
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))),
      extension('2.5.29.19', true, seq()),
      extension('2.5.29.17', true, seq(...names)),
    ],
  });
  return { certPem, keyPem };
}

// The DER subject of a certificate, used verbatim as the issuer name of what it signs (names
// must match byte for byte for chain building). Walks Certificate → TBSCertificate → fields.
function subjectRange(der: Buffer): [number, number] {
  const read = (at: number): { start: number; end: number; body: number } => {
    let len = der[at + 1]!;
    let body = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
      body = at + 2 + n;
    }
    return { start: at, end: body + len, body };
  };
  const tbs = read(read(0).body);
  let at = tbs.body;
  // version [0], serial, signature algorithm, issuer, validity, subject
  if (der[at] === 0xa0) at = read(at).end;
  for (let i = 0; i < 4; i++) at = read(at).end;
  const subject = read(at);
  return [subject.start, subject.end];
}

export interface DevCertOptions {
  /** Folder to write cert-chain.pem, key.pem and root-cert.pem into. */
  out: string;
  namespace: string;
  serviceAccount: string;
  trustDomain?: string;
  /** Folder holding the dev root (root-cert.pem, root-key.pem); created when absent. Default: <out>/../ca. */
  caDir?: string;
  /** Validity of the workload certificate (default 24 h, as istiod issues). */
  hours?: number;
  dnsNames?: string[];
}

/** Writes a workload identity in istio-agent's layout, creating the dev root CA on first use. */
export function issueDevCertificates(opts: DevCertOptions): { dir: string; caDir: string; spiffeId: string; notAfter: Date } {
  const out = resolve(opts.out);
  const caDir = resolve(opts.caDir ?? join(dirname(out), 'ca'));
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  mkdirSync(caDir, { recursive: true });
  mkdirSync(out, { recursive: true });
  const rootCert = join(caDir, ISTIO_CERT_FILES.rootCert);
  const rootKey = join(caDir, 'root-key.pem');
  let ca: Issued;
  if (existsSync(rootCert) && existsSync(rootKey)) {
    ca = { certPem: readFileSync(rootCert, 'utf8'), keyPem: readFileSync(rootKey, 'utf8') };
  } else {
    ca = createRootCa({ trustDomain });
    writeAtomic(rootKey, ca.keyPem, 0o600);
    writeAtomic(rootCert, ca.certPem);
  }
  const id = spiffeId(trustDomain, opts.namespace, opts.serviceAccount);
  const leaf = issueWorkloadCert(ca, { uris: [id], ...(opts.dnsNames && { dnsNames: opts.dnsNames }), ...(opts.hours !== undefined && { hours: opts.hours }) });
  // Key first, then chain: a watcher that sees the new chain with the old key rejects the pair
  // and waits, so readers never use a mismatched pair.
  writeAtomic(join(out, ISTIO_CERT_FILES.privateKey), leaf.keyPem, 0o600);
  writeAtomic(join(out, ISTIO_CERT_FILES.certificateChain), leaf.certPem);
  writeAtomic(join(out, ISTIO_CERT_FILES.rootCert), ca.certPem);
  return { dir: out, caDir, spiffeId: id, notAfter: new Date(new (crypto().X509Certificate)(leaf.certPem).validTo) };
}

/** Write to a temporary name and rename, so a reader never sees a half-written file. */
export function writeAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}
