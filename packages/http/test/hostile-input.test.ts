// Path normalization before authorization, end to end: every row of hostile-input-cases.ts is
// sent over a real socket (a raw HTTP/1.1 request line, or an h2c stream with a chosen :path
// and :method) to createMeshServer enforcing AuthorizationPolicy, and must get the answer and
// the path the row says — the path AuthorizationPolicy saw, which is also the req.url the
// handler is given. The rows are the table in docs/hostile-input.md (checked below).

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, silentLogger, type Mesh, type PathNormalization } from '@meshlet/core';
import { createMeshServer, type MeshServer, type MeshServerRequest } from '@meshlet/http';
import { BYPASS_CASES, renderBypassTable, type BypassCase } from './hostile-input-cases.ts';

const POLICIES: Record<BypassCase['policy'], string> = {
  deny: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/admin*"] } }]
  - to: [{ operation: { methods: ["DELETE"] } }]`,
  allow: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: public-only, namespace: default }
spec:
  action: ALLOW
  rules:
  - to: [{ operation: { paths: ["/public/*"] } }]`,
};

interface Running { port: number; server: MeshServer; mesh: Mesh; seen: { path: string | undefined } }

const dir = mkdtempSync(join(tmpdir(), 'meshlet-hostile-'));
const servers = new Map<string, Promise<Running>>();

afterAll(async () => {
  for (const s of servers.values()) {
    const r = await s;
    await r.server.close();
    await r.mesh.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

// AuthorizationPolicy reads the path without its query, from req.url.
const pathOf = (req: MeshServerRequest) => req.url?.split('?')[0];

/** One plaintext server (HTTP/1.1 and h2c on one port) per policy and normalization mode. */
function serverFor(policy: BypassCase['policy'], mode: PathNormalization): Promise<Running> {
  const key = `${policy}-${mode}`;
  let s = servers.get(key);
  if (!s) {
    s = (async () => {
      const config = join(dir, key);
      const { mkdirSync } = await import('node:fs');
      mkdirSync(config);
      writeFileSync(join(config, 'policy.yaml'), POLICIES[policy]);
      const mesh = await createMesh({ config, watch: false, logger: silentLogger, namespace: 'default', pathNormalization: mode });
      const seen: { path: string | undefined } = { path: undefined };
      const server = createMeshServer({ mesh, protocol: 'http2' }, (req, res) => {
        seen.path = pathOf(req);
        res.end('ok');
      });
      server.on('denied', ({ req }: { req: MeshServerRequest }) => { seen.path = pathOf(req); });
      const port = await server.listen();
      return { port, server, mesh, seen };
    })();
    servers.set(key, s);
  }
  return s;
}

/** Sends a raw HTTP/1.1 request line (no client library rewrites the target) and returns the status. */
function sendHttp1(port: number, method: string, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      data += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) { resolve(Number(m[1])); socket.destroy(); }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed without a response: ${JSON.stringify(data)}`)));
    socket.write(`${method} ${target} HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n`);
  });
}

function sendHttp2(port: number, method: string, target: string): Promise<number | 'reset'> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':method': method, ':path': target, ':authority': 'app', ':scheme': 'http' });
    req.on('response', (headers) => {
      resolve(Number(headers[':status']));
      req.close();
      session.close();
    });
    req.on('error', (err: Error & { code?: string }) => {
      session.close();
      if (/NGHTTP2_PROTOCOL_ERROR/.test(err.message)) resolve('reset');
      else reject(err);
    });
    req.end();
  });
}

describe('path normalization before authorization (createMeshServer)', () => {
  for (const c of BYPASS_CASES) {
    it(`${c.protocol} ${c.policy} ${c.mode}: ${c.method} ${c.target} → ${c.status} (${c.note})`, async () => {
      const s = await serverFor(c.policy, c.mode);
      s.seen.path = undefined;
      const status = c.protocol === 'HTTP/1.1' ? await sendHttp1(s.port, c.method, c.target) : await sendHttp2(s.port, c.method, c.target);
      expect({ status, seen: s.seen.path }).toEqual({ status: c.status, seen: c.seen });
    });
  }

  it('docs/hostile-input.md holds exactly these rows', () => {
    const doc = fileURLToPath(new URL('../../../docs/hostile-input.md', import.meta.url));
    const text = readFileSync(doc, 'utf8');
    const start = '<!-- bypass-table:start -->\n';
    const end = '\n<!-- bypass-table:end -->';
    const table = renderBypassTable(BYPASS_CASES);
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    expect(i, 'the bypass-table markers in docs/hostile-input.md').toBeGreaterThanOrEqual(0);
    if (process.env['UPDATE_DOCS'] === '1') writeFileSync(doc, text.slice(0, i + start.length) + table + text.slice(j));
    else expect(text.slice(i + start.length, j)).toBe(table);
  });
});
