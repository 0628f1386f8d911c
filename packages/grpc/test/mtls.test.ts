// Mesh mTLS for gRPC: a DestinationRule with ISTIO_MUTUAL makes a mesh:/// call present the
// workload certificate and check the server's SPIFFE identity, through one credentials object
// (meshCredentials()) that is plaintext for every other cluster. A channel with other
// credentials, a wrong server identity or missing certificates fail closed, with a message
// that says what to change.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, ServerCredentials, status, type Client } from '@grpc/grpc-js';
import { createMesh, issueDevCertificates, silentLogger, type Mesh } from '@meshlet/core';
import { meshCredentials, register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { unary, unaryError } from './helpers/calls.ts';

const HOST = 'echo.default.svc.cluster.local:9000';
const id = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

let root: string;
let secure: EchoServer, plain: EchoServer;

function serverCredentials(dir: string): ServerCredentials {
  const file = (f: string) => readFileSync(join(dir, f));
  // Mesh servers require the client's certificate (PeerAuthentication STRICT).
  return ServerCredentials.createSsl(file('root-cert.pem'), [{ cert_chain: file('cert-chain.pem'), private_key: file('key.pem') }], true);
}

function meshConfig(name: string, opts: { serviceAccount: string; port?: number }): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mesh.yaml'), `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${opts.port ?? secure.port} }, serviceAccount: ${opts.serviceAccount} }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo.default.svc.cluster.local
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: plain, namespace: default }
spec:
  hosts: [plain.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${plain.port} } }
`);
  return dir;
}

const issue = (name: string, sa: string) => issueDevCertificates({ out: join(root, name), caDir: join(root, 'ca'), namespace: 'default', serviceAccount: sa }).dir;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'meshlet-grpc-mtls-'));
  const serverDir = issue('server', 'echo');
  issue('client', 'frontend');
  secure = await startEchoServer('secure', {}, serverCredentials(serverDir));
  plain = await startEchoServer('plain');
});
afterAll(async () => {
  await Promise.all([secure.close(), plain.close()]);
  rmSync(root, { recursive: true, force: true });
});

async function withMesh<T>(config: string, certs: string | undefined, fn: (mesh: Mesh) => Promise<T>): Promise<T> {
  const mesh = await createMesh({ config, watch: false, logger: silentLogger, ...(certs !== undefined && { certs }) });
  register(mesh);
  try {
    return await fn(mesh);
  } finally {
    await mesh.close();
  }
}

async function withClient<T>(target: string, creds: ReturnType<typeof meshCredentials>, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new EchoClient(target, creds);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

describe('mesh mTLS over gRPC', () => {
  it('presents the workload certificate to ISTIO_MUTUAL clusters and stays plaintext for the others', async () => {
    await withMesh(meshConfig('ok', { serviceAccount: 'echo' }), join(root, 'client'), async () => {
      await withClient(`mesh:///${HOST}`, meshCredentials(), async (c) => {
        expect((await unary(c)).reply.server).toBe('secure');
        expect(secure.calls.at(-1)!.peerSans).toContain(`URI:${id('frontend')}`);
      });
      await withClient('mesh:///plain.default.svc.cluster.local:9000', meshCredentials(), async (c) => {
        expect((await unary(c)).reply.server).toBe('plain');
      });
    });
  });

  it('refuses to send when the channel was not created with meshCredentials()', async () => {
    const before = secure.calls.length;
    await withMesh(meshConfig('insecure-channel', { serviceAccount: 'echo' }), join(root, 'client'), async () => {
      await withClient(`mesh:///${HOST}`, credentials.createInsecure(), async (c) => {
        const err = await unaryError(c);
        expect(err.code).toBe(status.UNAVAILABLE);
        expect(err.details).toContain('requires TLS, but this channel\'s credentials are not Meshlet\'s');
        expect(err.details).toContain('meshCredentials()');
      });
    });
    expect(secure.calls.length).toBe(before);
  });

  it('fails the handshake when the server is not the identity the cluster expects', async () => {
    await withMesh(meshConfig('wrong-identity', { serviceAccount: 'someone-else' }), join(root, 'client'), async () => {
      await withClient(`mesh:///${HOST}`, meshCredentials(), async (c) => {
        const err = await unaryError(c);
        expect(err.code).toBe(status.UNAVAILABLE);
        expect(err.details).toContain(id('someone-else'));
        expect(err.details).toContain(id('echo'));
      });
    });
  });

  it('fails closed, naming what to configure, when the workload has no certificates', async () => {
    await withMesh(meshConfig('no-certs', { serviceAccount: 'echo' }), undefined, async () => {
      await withClient(`mesh:///${HOST}`, meshCredentials(), async (c) => {
        const err = await unaryError(c);
        expect(err.code).toBe(status.UNAVAILABLE);
        expect(err.details).toContain('certificate provider instance "default" is not configured');
        expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_CERTIFICATE']);
      });
    });
  });

  it("offers Istio's ALPN, so a PERMISSIVE sidecar's mTLS chain takes the connection", async () => {
    // A stand-in for an Envoy sidecar's inbound listener in PERMISSIVE mode: a TLS connection
    // reaches the mTLS chain only when the client offers one of Istio's ALPN names (Istio's
    // allIstioMtlsALPNs); the chain terminates mTLS and forwards plaintext h2 to the app.
    const istio = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
    const offered: string[][] = [];
    const file = (f: string) => readFileSync(join(root, 'server', f));
    const sidecar = createTlsServer({
      key: file('key.pem'), cert: file('cert-chain.pem'), ca: file('root-cert.pem'), requestCert: true, rejectUnauthorized: true,
      ALPNCallback: ({ protocols }) => {
        offered.push(protocols);
        return protocols.some((p) => istio.includes(p)) ? 'h2' : undefined;
      },
    }, (tls: TLSSocket) => {
      const app = netConnect(plain.port, '127.0.0.1');
      tls.pipe(app).pipe(tls);
      const end = () => { tls.destroy(); app.destroy(); };
      tls.on('error', end).on('close', end);
      app.on('error', end).on('close', end);
    });
    sidecar.on('tlsClientError', () => { /* the refused h2-only handshake below */ });
    const port = await new Promise<number>((resolve) => sidecar.listen(0, '127.0.0.1', () => resolve((sidecar.address() as AddressInfo).port)));
    try {
      await withMesh(meshConfig('sidecar', { serviceAccount: 'echo', port }), join(root, 'client'), async () => {
        await withClient(`mesh:///${HOST}`, meshCredentials(), async (c) => {
          expect((await unary(c)).reply.server).toBe('plain');
        });
      });
      expect(offered[0]).toEqual(['istio-h2', 'istio', 'h2']);
      // What grpc-js's own TLS credentials offer ("h2" alone) does not get in.
      const file2 = (f: string) => readFileSync(join(root, 'client', f));
      await withClient(`127.0.0.1:${port}`, credentials.createSsl(file2('root-cert.pem'), file2('key.pem'), file2('cert-chain.pem'), { checkServerIdentity: () => undefined }), async (c) => {
        expect((await unaryError(c, {}, { deadlineMs: 3000 })).code).toBe(status.UNAVAILABLE);
      });
      expect(offered.at(-1)).toEqual(['h2']);
    } finally {
      await new Promise((resolve) => sidecar.close(resolve));
    }
  });

  it('uses auto-mTLS without a DestinationRule: mTLS to an endpoint with a service account, when the workload has certificates', async () => {
    const dir = join(root, 'auto');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${secure.port} }, serviceAccount: echo }]
`);
    await withMesh(dir, join(root, 'client'), async () => {
      await withClient(`mesh:///${HOST}`, meshCredentials(), async (c) => {
        expect((await unary(c)).reply.server).toBe('secure');
        expect(secure.calls.at(-1)!.peerSans).toContain(`URI:${id('frontend')}`);
      });
    });
    // Without a workload certificate the client is outside the mesh: plaintext, which this
    // mTLS-only server refuses.
    await withMesh(dir, undefined, async () => {
      await withClient(`mesh:///${HOST}`, meshCredentials(), async (c) => {
        expect((await unaryError(c, {}, { deadlineMs: 3000 })).code).toBe(status.UNAVAILABLE);
      });
    });
  });
});
