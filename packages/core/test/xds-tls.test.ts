// The bootstrap's "tls" channel credentials, for real: `meshlet xds` behind mutual TLS with
// certificates made by openssl; a client whose bootstrap names the CA and its own certificate
// gets config, one trusting another CA cannot connect.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMesh, silentLogger, XdsServer } from '../src/index.ts';
import { REVIEWS, routesYaml, servicesYaml, tempDir, writeBootstrap, writeConfig } from './xds-helpers.ts';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a certificate it signs for `name` with the given subjectAltName. */
function makeCa(dir: string, ca: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=${ca}`]);
}
function issue(dir: string, ca: string, name: string, san: string): void {
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`]);
}

describe('xDS over mutual TLS (bootstrap channel_creds "tls")', () => {
  let certs: string;
  let server: XdsServer;
  beforeAll(async () => {
    certs = tempDir('xds-tls');
    makeCa(certs, 'ca');
    makeCa(certs, 'other-ca');
    issue(certs, 'ca', 'server', 'IP:127.0.0.1,DNS:localhost');
    issue(certs, 'ca', 'client', 'URI:spiffe://cluster.local/ns/default/sa/client');
    const dir = tempDir('xds-tls-config');
    writeConfig(dir, { 'services.yaml': servicesYaml({ v1: 18201, v2: 18202, v3: 18203 }), 'routes.yaml': routesYaml({ v1: 100, v3: 0 }) });
    const read = (f: string): Buffer => readFileSync(join(certs, f));
    server = await XdsServer.start({
      config: [dir],
      listen: '127.0.0.1:0',
      logger: silentLogger,
      credentials: grpc.ServerCredentials.createSsl(read('ca.pem'), [{ cert_chain: read('server.pem'), private_key: read('server.key') }], true),
    });
  });
  afterAll(() => server.close());

  const tls = (ca: string): object[] => [{ type: 'tls', config: { ca_certificate_file: join(certs, ca), certificate_file: join(certs, 'client.pem'), private_key_file: join(certs, 'client.key') } }];

  it('fetches config with the CA and a client certificate', async () => {
    const mesh = await createMesh({ bootstrap: writeBootstrap(tempDir('bs'), server.address, { channelCreds: tls('ca.pem') }), listeners: [REVIEWS], logger: silentLogger });
    try {
      expect(mesh.configDump().xds!.connected).toBe(true);
      expect(mesh.snapshot.services.has(REVIEWS)).toBe(true);
    } finally {
      await mesh.close();
    }
  });

  it('does not trust a server its CA did not sign, and says so in configDump', async () => {
    const mesh = await createMesh({
      bootstrap: writeBootstrap(tempDir('bs'), server.address, { channelCreds: tls('other-ca.pem') }),
      listeners: [REVIEWS],
      logger: silentLogger,
      xds: { initialFetchTimeoutMs: 1500, backoff: { initialMs: 100, maxMs: 200 } },
    });
    try {
      const xds = mesh.configDump().xds!;
      expect(xds.connected).toBe(false);
      expect(xds.lastError).toMatch(/UNAVAILABLE/);
      expect(mesh.snapshot.services.size).toBe(0);
    } finally {
      await mesh.close();
    }
  });
});
