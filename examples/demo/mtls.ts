// The demo with mTLS on (`pnpm demo --mtls`): development certificates in istio-agent's layout
// (as `meshlet certs` writes them), the client's mesh with ./mtls/mtls.yaml on top of ./mesh,
// and backends behind createMeshServer in STRICT mode, recording who called them.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, issueDevCertificates, silentLogger, type Mesh } from '@meshlet/core';
import { createMeshServer, peerIdentity, type MeshRequestListener } from '@meshlet/http';

export const MTLS_CONFIG = fileURLToPath(new URL('./mtls', import.meta.url));

export interface DemoMtls {
  /** The client's workload certificates (createMesh({ certs })). */
  readonly clientCerts: string;
  readonly clientIdentity: string;
  /** Callers' SPIFFE IDs as the backends saw them, with counts. */
  readonly callers: Map<string, number>;
  serve(port: number, handler: MeshRequestListener): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export async function setUpMtls(): Promise<DemoMtls> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-demo-certs-'));
  const caDir = join(dir, 'ca');
  const client = issueDevCertificates({ out: join(dir, 'client'), caDir, namespace: 'default', serviceAccount: 'demo-client' });
  const backends = issueDevCertificates({ out: join(dir, 'bookinfo'), caDir, namespace: 'default', serviceAccount: 'bookinfo' });
  // The backends' own mesh: it only supplies PeerAuthentication (STRICT) and their certificates.
  const serverMesh: Mesh = await createMesh({ config: MTLS_CONFIG, watch: false, logger: silentLogger, certs: backends.dir });
  const callers = new Map<string, number>();
  return {
    clientCerts: client.dir,
    clientIdentity: client.spiffeId,
    callers,
    async serve(port, handler) {
      const server = createMeshServer({ mesh: serverMesh }, (req, res) => {
        const who = peerIdentity(req) ?? '(plaintext)';
        callers.set(who, (callers.get(who) ?? 0) + 1);
        handler(req, res);
      });
      await server.listen(port);
      return server;
    },
    async close() {
      await serverMesh.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
