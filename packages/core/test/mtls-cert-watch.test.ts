// CertWatcher: the certificates a mesh serves change only to a complete, consistent set.

import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertWatcher } from '../src/security/cert-watch.ts';
import { istioCertPaths } from '../src/security/cert-files.ts';
import { createRootCa, issueDevCertificates, issueWorkloadCert } from '../src/security/dev-certs.ts';
import type { Logger } from '../src/logger.ts';
import { tempDir } from './temp-dir.ts';

const watchers: CertWatcher[] = [];
afterEach(() => { for (const w of watchers.splice(0)) w.close(); });

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (o, m) => { warnings.push(`${m ?? ''} ${JSON.stringify(o)}`); }, error() {} };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('CertWatcher', () => {
  it('never publishes a chain with a key that is not its own, and picks up the pair once complete', async () => {
    const root = tempDir('watch');
    const first = issueDevCertificates({ out: join(root, 'w'), caDir: join(root, 'ca'), namespace: 'default', serviceAccount: 'a' });
    const log = logger();
    const w = new CertWatcher(istioCertPaths(first.dir), { logger: log, name: 'test', refreshMs: 50 });
    watchers.push(w);
    const v1 = w.current;
    expect(v1.identity).toBe('spiffe://cluster.local/ns/default/sa/a');
    // A new pair elsewhere; copy only its chain first: half a rotation.
    const next = issueDevCertificates({ out: join(root, 'next'), caDir: join(root, 'ca'), namespace: 'default', serviceAccount: 'b' });
    copyFileSync(join(next.dir, 'cert-chain.pem'), join(first.dir, 'cert-chain.pem'));
    await new Promise((r) => setTimeout(r, 400));
    expect(w.current.version).toBe(1);
    expect(w.current.cert).toBe(v1.cert);
    // The rest of the rotation arrives.
    copyFileSync(join(next.dir, 'key.pem'), join(first.dir, 'key.pem'));
    await until(() => w.current.version === 2);
    expect(w.current.identity).toBe('spiffe://cluster.local/ns/default/sa/b');
    expect(w.current.key).toBe(readFileSync(join(next.dir, 'key.pem'), 'utf8'));
  });

  it('reports missing files with their path, then serves them once they appear', () => {
    const dir = tempDir('watch');
    const w = new CertWatcher(istioCertPaths(dir), { logger: logger(), name: 'test' });
    watchers.push(w);
    expect(() => w.current).toThrow(/cannot read the certificate chain .*cert-chain\.pem: no such file/);
    const ca = createRootCa();
    const leaf = issueWorkloadCert(ca, { uris: ['spiffe://cluster.local/ns/x/sa/y'] });
    writeFileSync(join(dir, 'cert-chain.pem'), leaf.certPem);
    writeFileSync(join(dir, 'key.pem'), leaf.keyPem);
    writeFileSync(join(dir, 'root-cert.pem'), ca.certPem);
    w.reload();
    expect(w.current.identity).toBe('spiffe://cluster.local/ns/x/sa/y');
  });

  it('warns once when the certificate it serves has expired', () => {
    const dir = tempDir('watch');
    const ca = createRootCa();
    const leaf = issueWorkloadCert(ca, { uris: ['spiffe://cluster.local/ns/x/sa/y'], notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
    writeFileSync(join(dir, 'cert-chain.pem'), leaf.certPem);
    writeFileSync(join(dir, 'key.pem'), leaf.keyPem);
    writeFileSync(join(dir, 'root-cert.pem'), ca.certPem);
    const log = logger();
    const w = new CertWatcher(istioCertPaths(dir), { logger: log, name: 'test' });
    watchers.push(w);
    void w.current;
    void w.current;
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/has expired and was not rotated/);
  });
});
