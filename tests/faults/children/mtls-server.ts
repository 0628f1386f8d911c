// Scenario 6's upstream, in its own process: a Meshlet mTLS server (createMeshServer, STRICT
// PeerAuthentication) with workload certificates in istio-agent's layout, which it watches and
// swaps in for new handshakes. Each answer names the client certificate the caller presented
// and the server certificate its connection was made with, so the test can see both sides
// rotate.
//
// argv: <certs dir> <config dir>. Prints {"port":N} once listening.

import type { TLSSocket } from 'node:tls';
import * as core from '../../../packages/core/src/index.ts';
import * as http from '../../../packages/http/src/index.ts';

const [certs, config] = process.argv.slice(2) as [string, string];
const mesh = await core.createMesh({ config, watch: false, logger: core.silentLogger, certs });
const server = http.createMeshServer({ mesh }, (req, res) => {
  const socket = req.socket as TLSSocket;
  const client = socket.getPeerCertificate().serialNumber;
  const own = (socket.getCertificate() as { serialNumber?: string } | null)?.serialNumber;
  res.end(JSON.stringify({ client, server: own }));
});
const port = await server.listen(0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
