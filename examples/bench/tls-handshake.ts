// Measuring aid for the mTLS client's connection cost (not part of `pnpm bench`): the client
// CPU of one mutual-TLS connection to the bench upstream (its own process), set up and closed
// one at a time, four ways — a TLS context built per connection (what passing cert/key/ca to
// tls.connect does) or one shared context, and a full handshake or a resumed session. Blocks of
// each way take turns, so load on the machine spreads over all four alike.
//
//   node --conditions=source examples/bench/tls-handshake.ts [connections per way] [rounds]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { makeCerts } from './openssl-certs.ts';
import { startUpstream } from './fixtures.ts';

const PER = Number(process.argv[2] ?? 200);
const ROUNDS = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'meshlet-tls-hs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const certs = makeCerts(join(dir, 'certs'));
const upstream = await startUpstream(certs);
const c = certs.meshletCertDir;
const material = { cert: readFileSync(join(c, 'cert-chain.pem')), key: readFileSync(join(c, 'key.pem')), ca: readFileSync(join(c, 'root-cert.pem')) };
const shared = createSecureContext(material);
const id = `URI:${certs.serverSpiffeId}`;
const base: ConnectionOptions = {
  host: '127.0.0.1', port: upstream.ports.https!, servername: 'bench-tls', ALPNProtocols: ['http/1.1'],
  checkServerIdentity: (_h, cert) => (cert.subjectaltname?.split(', ').includes(id) ? undefined : new Error('wrong server')),
};

let session: Buffer | undefined;
// One connection: handshake, one tiny request so the server's session ticket arrives, close.
function once(opts: ConnectionOptions): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s: TLSSocket = connect(opts);
    s.on('session', (b: Buffer) => { session = b; });
    let reused = false;
    s.once('secureConnect', () => {
      reused = s.isSessionReused();
      s.end('GET /small HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    });
    s.on('data', () => {});
    s.once('close', () => resolve(reused));
    s.once('error', reject);
  });
}

const ways: Record<string, () => ConnectionOptions> = {
  'context per connection, full handshake': () => ({ ...base, ...material }),
  'context per connection, resumed': () => ({ ...base, ...material, session }),
  'shared context, full handshake': () => ({ ...base, secureContext: shared }),
  'shared context, resumed': () => ({ ...base, secureContext: shared, session }),
};
const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
await once({ ...base, ...material });
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, opts] of Object.entries(ways)) {
    let reused = 0;
    const t0 = process.cpuUsage();
    for (let i = 0; i < PER; i++) if (await once(opts())) reused++;
    const t = process.cpuUsage(t0);
    cpu[name]!.push((t.user + t.system) / PER);
    if (name.includes('resumed') ? reused !== PER : reused !== 0) throw new Error(`${name}: ${reused} of ${PER} resumed`);
  }
}
for (const [name, v] of Object.entries(cpu)) {
  const s = [...v].sort((a, b) => a - b);
  process.stdout.write(`${name.padEnd(40)} median ${s[s.length >> 1]!.toFixed(0)} µs client CPU per connection (rounds ${v.map((x) => x.toFixed(0)).join(' ')})\n`);
}
upstream.stop();
